import Foundation
import IPC
import Testing

/// POSIX queues made by the library, by a plain-C peer, by Python's posix_ipc
/// and by `ipc mq` are the same kernel objects: each side reads exactly the
/// bytes and priorities the other sent.
@Suite("POSIX queue interoperability with C and Python")
struct POSIXInteropTests {
  @Test func aCPeerReceivesExactlyWhatSwiftSent() throws {
    try withPOSIXQueue { (queue) throws in
      let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff] + Array("text".utf8)
      try queue.send(bytes, priority: 42)
      try queue.send("later".utf8, priority: 1)
      let first = try SpawnedProcess.run(try Tools.posixQueuePeer.get(), ["receive", queue.name])
      #expect(first.exitStatus == 0, "\(first.standardError)")
      #expect(first.standardOutput == "42\t\(hex(bytes))\n")
      let second = try SpawnedProcess.run(try Tools.posixQueuePeer.get(), ["receive", queue.name])
      #expect(second.standardOutput == "1\t\(hex(Array("later".utf8)))\n")
    }
  }

  @Test func aQueueACPeerCreatedIsUsedByTheLibraryAndTheIpcCommand() throws {
    let name = TestNames.next()
    let created = try SpawnedProcess.run(try Tools.posixQueuePeer.get(), ["create", name, "3", "32"])
    defer { try? POSIX.MessageQueue.unlink(name) }
    #expect(created.exitStatus == 0, "\(created.standardError)")
    let queue = try POSIX.MessageQueue.open(name)
    #expect(try queue.attributes() == .init(maxMessages: 3, messageSize: 32, currentMessages: 0))
    let sent = try SpawnedProcess.run(
      try Tools.posixQueuePeer.get(), ["send", name, "7", hex([0xde, 0xad, 0, 0xbe, 0xef])])
    #expect(sent.exitStatus == 0)
    #expect(try queue.receive() == POSIX.Message(bytes: [0xde, 0xad, 0, 0xbe, 0xef], priority: 7))
    #expect(
      try SpawnedProcess.run(try Tools.posixQueuePeer.get(), ["send", name, "2", hex(Array("from C".utf8))])
        .exitStatus == 0)
    #expect(try Tools.ipc("mq", "receive", name, "--show-priority").standardOutput == "2\tfrom C\n")
    #expect(try Tools.ipc("mq", "send", name, "--priority", "5", "to C").exitStatus == 0)
    let stat = try SpawnedProcess.run(try Tools.posixQueuePeer.get(), ["stat", name])
    #expect(stat.standardOutput == "3 32 1\n")
    let back = try SpawnedProcess.run(try Tools.posixQueuePeer.get(), ["receive", name])
    #expect(back.standardOutput == "5\t\(hex(Array("to C".utf8)))\n")
    #expect(try Tools.ipc("mq", "unlink", name).exitStatus == 0)
    #expect(try SpawnedProcess.run(try Tools.posixQueuePeer.get(), ["stat", name]).exitStatus == 1)
  }

  @Test(.enabled(if: Python.posixIPC))
  func pythonPosixIPCAndSwiftExchangeJSONWithPriorities() throws {
    try withPOSIXQueue(messageSize: 256) { (queue) throws in
      try queue.send(OrderPlaced(orderID: 5, item: "tea"), priority: 3)
      let script = """
        import json, posix_ipc
        q = posix_ipc.MessageQueue("\(queue.name)")
        body, priority = q.receive()
        order = json.loads(body)
        q.send(json.dumps({"orderID": order["orderID"] + 1}), priority=9)
        q.send(b"\\x00\\x01\\x02", priority=1)
        print(priority, order["item"], q.max_messages, q.max_message_size)
        """
      let python = try Python.run(script)
      #expect(python.exitStatus == 0, "\(python.standardError)")
      #expect(python.standardOutput == "3 tea 4 256\n")
      #expect(try queue.receive(OrderCancelled.self, timeout: .seconds(10)) == OrderCancelled(orderID: 6))
      #expect(try queue.receive(timeout: .seconds(10)) == POSIX.Message(bytes: [0, 1, 2], priority: 1))
    }
  }

  @Test(.enabled(if: Python.posixIPC))
  func aQueuePythonCreatedIsUsedByTheIpcCommandAndTheLibrary() throws {
    let name = TestNames.next()
    let create = """
      import posix_ipc
      q = posix_ipc.MessageQueue("\(name)", posix_ipc.O_CREX, mode=0o600, max_messages=5, max_message_size=64)
      q.send(b'{"orderID": 1, "item": "scone"}', priority=2)
      q.send(b"plain", priority=4)
      """
    let python = try Python.run(create)
    defer { try? POSIX.MessageQueue.unlink(name) }
    #expect(python.exitStatus == 0, "\(python.standardError)")
    let queue = try POSIX.MessageQueue.open(name)
    #expect(queue.maxMessages == 5 && queue.messageSize == 64)
    #expect(try Tools.ipc("mq", "receive", name, "--show-priority").standardOutput == "4\tplain\n")
    #expect(try queue.receive(OrderPlaced.self) == OrderPlaced(orderID: 1, item: "scone"))
    try queue.send("to python".utf8, priority: 8)
    let read = try SpawnedProcess.run(
      "/usr/bin/env",
      ["python3", "-c", "import posix_ipc; print(posix_ipc.MessageQueue('\(name)').receive())"])
    #expect(read.standardOutput == "(b'to python', 8)\n")
  }
}
