import Foundation
import IPC
import Testing

/// The library's System V queues and messages are the kernel's: a peer written in
/// plain C, util-linux's ipcmk/ipcrm and Python's sysv_ipc see the same bytes
/// and types, in both directions.
@Suite("System V queue interoperability with C, util-linux and Python")
struct SystemVMessageQueueInteropTests {
  @Test func aCPeerReceivesExactlyWhatSwiftSent() throws {
    try withQueue { queue in
      let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff] + Array("text".utf8)
      try queue.send(bytes, type: 42)
      try queue.send("skip".utf8, type: 5)
      let peer = try SpawnedProcess.run(try Tools.cPeer.get(), ["receive", "\(queue.id)", "42"])
      #expect(peer.exitStatus == 0, "\(peer.standardError)")
      #expect(peer.standardOutput == "42\t\(hex(bytes))\n")
      let except = try SpawnedProcess.run(try Tools.cPeer.get(), ["receive-except", "\(queue.id)", "9"])
      #expect(except.standardOutput == "5\t\(hex(Array("skip".utf8)))\n")
    }
  }

  @Test func swiftReceivesExactlyWhatACPeerSent() throws {
    try withQueue { queue in
      let bytes: [UInt8] = [0xde, 0xad, 0, 0xbe, 0xef]
      let peer = try SpawnedProcess.run(try Tools.cPeer.get(), ["send", "\(queue.id)", "7", hex(bytes)])
      #expect(peer.exitStatus == 0, "\(peer.standardError)")
      let empty = try SpawnedProcess.run(try Tools.cPeer.get(), ["send", "\(queue.id)", "3", ""])
      #expect(empty.exitStatus == 0)
      #expect(try queue.receive(.upTo(10)) == SystemV.Message(type: 3, bytes: []))
      #expect(try queue.receive(.type(7)) == SystemV.Message(type: 7, bytes: bytes))
    }
  }

  @Test func aQueueACPeerCreatedByKeyIsOpenedByKey() throws {
    let key = TestKeys.next()
    let peer = try SpawnedProcess.run(try Tools.cPeer.get(), ["create", "\(key.rawValue)"])
    defer { try? SystemV.MessageQueue.open(key: key).remove() }
    let id = try #require(Int32(peer.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let queue = try SystemV.MessageQueue.open(key: key)
    #expect(queue.id == id)
    #expect(try queue.stat().permissions.octal == "0600")
    let sent = try SpawnedProcess.run(
      try Tools.cPeer.get(), ["send", "\(id)", "6", hex(Array("from C".utf8))])
    #expect(sent.exitStatus == 0)
    let received = try Tools.ipc("msg", "receive", "--key", "\(key)", "--show-type")
    #expect(received.standardOutput == "6\tfrom C\n")
    #expect(try Tools.ipc("msg", "send", "--key", "\(key)", "--type", "8", "to C").exitStatus == 0)
    let back = try SpawnedProcess.run(try Tools.cPeer.get(), ["receive", "\(id)", "8"])
    #expect(back.standardOutput == "8\t\(hex(Array("to C".utf8)))\n")
  }

  @Test func ipcmkQueuesAreUsableAndOursAreVisibleToIpcsAndIpcrm() throws {
    let id = try Tools.ipcmk("-Q", "-p", "0640")
    let theirs = try SystemV.MessageQueue.open(id: id)
    defer { try? theirs.remove() }
    #expect(try theirs.stat().permissions.octal == "0640")
    try theirs.send("to ipcmk's queue".utf8, type: 2)
    #expect(try theirs.receive() == SystemV.Message(2, "to ipcmk's queue"))
    #expect(try Tools.ipc("msg", "send", "--id", "\(id)", "--type", "3", "by ipc").exitStatus == 0)
    #expect(try Tools.ipc("msg", "receive", "--id", "\(id)", "--show-type").standardOutput == "3\tby ipc\n")

    let ours = try SystemV.MessageQueue.create()
    defer { try? ours.remove() }
    try ours.send("abc".utf8, type: 1)
    let listed = try SpawnedProcess.run("/usr/bin/env", ["ipcs", "-q", "-i", "\(ours.id)"])
    #expect(listed.standardOutput.contains("qnum=1"), "\(listed.standardOutput)")
    let removed = try SpawnedProcess.run("/usr/bin/env", ["ipcrm", "-q", "\(ours.id)"])
    #expect(removed.exitStatus == 0)
    let error = #expect(throws: IPCError.self) { try ours.stat() }
    #expect(error?.reason.contains("no message queue has id \(ours.id)") == true)
  }

  @Test(.enabled(if: Python.sysvIPC))
  func pythonSysvIPCAndSwiftExchangeTypedMessagesByKey() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.create(key: key)
    defer { try? queue.remove() }
    try queue.send(#"{"orderID":5,"item":"tea"}"#.utf8, type: OrderPlaced.messageType)
    let script = """
      import json, sysv_ipc
      q = sysv_ipc.MessageQueue(\(key.rawValue))
      body, mtype = q.receive(type=\(OrderPlaced.messageType))
      order = json.loads(body)
      q.send(json.dumps({"orderID": order["orderID"] + 1}).encode(), type=\(OrderCancelled.messageType))
      q.send(b"\\x00\\x01\\x02", type=3)
      print(mtype, order["item"])
      """
    let python = try Python.run(script)
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(python.standardOutput == "11 tea\n")
    #expect(try queue.receive(OrderCancelled.self, timeout: .seconds(10)) == OrderCancelled(orderID: 6))
    #expect(try queue.receive(.type(3), timeout: .seconds(10))?.bytes == [0, 1, 2])
  }

  @Test(.enabled(if: Python.sysvIPC))
  func aQueuePythonCreatedIsUsedByTheIpcCommandAndTheLibrary() throws {
    let key = TestKeys.next()
    let create = """
      import sysv_ipc
      q = sysv_ipc.MessageQueue(\(key.rawValue), sysv_ipc.IPC_CREX, mode=0o600)
      q.send(b'{"orderID": 1, "item": "scone"}', type=11)
      q.send(b"plain", type=4)
      """
    let python = try Python.run(create)
    defer { try? SystemV.MessageQueue.open(key: key).remove() }
    #expect(python.exitStatus == 0, "\(python.standardError)")
    let queue = try SystemV.MessageQueue.open(key: key)
    let viaCommand = try Tools.ipc("msg", "receive", "--key", "\(key)", "--type", "4", "--show-type")
    #expect(viaCommand.standardOutput == "4\tplain\n")
    #expect(
      try queue.receive(OrderPlaced.self, timeout: .seconds(10)) == OrderPlaced(orderID: 1, item: "scone"))
    #expect(try queue.stat().messageCount == 0)
  }
}
