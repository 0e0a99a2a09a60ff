import CIPCShims
import Glibc
import Synchronization
import Testing

@testable import IPC

/// Queues shared by real processes: exit tests (a fresh copy of the test
/// binary) and the `ipc` command as peers, signals, removal while blocked.
@Suite("System V message queues across processes")
struct SystemVMessageQueueProcessTests {
  @Test(.prompt) func typedMessagesRouteByTypeBetweenProcesses() async throws {
    try await withQueue { queue in
      try await queue.send("not an order".utf8, type: 1)
      await #expect(processExitsWith: .success) { [id = queue.id as Int32] in
        let queue = try SystemV.MessageQueue.open(id: id)
        try queue.send(OrderCancelled(orderID: 7))
        try queue.send(OrderPlaced(orderID: 8, item: "tea"))
        try queue.send(OrderPlaced(orderID: 9, item: "cake"))
      }
      #expect(try await queue.receive(OrderPlaced.self) == OrderPlaced(orderID: 8, item: "tea"))
      #expect(try await queue.receive(OrderPlaced.self) == OrderPlaced(orderID: 9, item: "cake"))
      #expect(try queue.tryReceive(OrderPlaced.self) == nil)
      let cancelled = try await queue.receive(OrderCancelled.self, timeout: .seconds(5))
      #expect(cancelled == OrderCancelled(orderID: 7))
      #expect(try drain(queue) == [SystemV.Message(1, "not an order")])
    }
  }

  @Test func aPayloadThatFailsToDecodeKeepsItsBytesAndType() throws {
    try withQueue { queue in
      try queue.send("{\"orderID\": \"not a number\"}".utf8, type: OrderPlaced.messageType)
      let error = #expect(throws: IPCError.self) { try queue.receive(OrderPlaced.self) }
      #expect(error?.code == .badMessage)
      #expect(error?.messageType == OrderPlaced.messageType)
      #expect(error?.payload == Array("{\"orderID\": \"not a number\"}".utf8))
      #expect(error?.reason.contains("OrderPlaced") == true)
    }
  }

  @Test func typedMessagesAreJSONOnTheWire() throws {
    try withQueue { queue in
      try queue.send(OrderPlaced(orderID: 1, item: "tea"))
      let raw = try #require(try queue.tryReceive())
      #expect(raw.type == 11)
      #expect(raw.text == #"{"item":"tea","orderID":1}"#)
    }
  }

  @Test func aQueueRemovedWhileAnotherProcessWaitsEndsItsWaitWithRemoved() throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    let receiver = try SpawnedProcess(Tools.ipc, ["msg", "receive", "--id", "\(queue.id)"])
    #expect(receiver.waitUntilBlocked(in: "do_msgrcv"))
    try queue.remove()
    #expect(receiver.wait(timeout: .seconds(10)))
    #expect(receiver.exitStatus == 1)
    #expect(receiver.standardError.contains("removed while this process was waiting to receive"))
    #expect(receiver.standardError.contains("[EIDRM]"))
  }

  @Test(.prompt) func aSignalDuringABlockingReceiveIsRetriedAndTheMessageIsNotLost() async throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    // The child installs a SIGUSR1 handler (without one the kernel restarts
    // msgrcv itself), announces its pid and thread id, and blocks in receive.
    // The signal goes to that thread (tgkill): a process-directed signal may
    // be handled by another thread of the test binary and interrupt nothing.
    async let child = #expect(processExitsWith: .success) { [id = queue.id as Int32] in
      alarm(120)  // never outlive a failed parent
      catchWithoutRestart(SIGUSR1)  // no SA_RESTART: msgrcv must report EINTR
      let queue = try SystemV.MessageQueue.open(id: id)
      try queue.send("\(getpid()) \(cipc_gettid())".utf8, type: 90)
      let message = try queue.receive(.type(1))
      guard message.text == "after the signals" else { exit(3) }
      guard signalsCaught >= 2 else { exit(4) }
    }
    let parent = await outcome { () async throws -> [Bool] in
      // Blocking waits run off the cooperative pool; results are checked below.
      try await onOwnThread {
        guard let announcement = try queue.receive(.type(90), timeout: .seconds(60)) else {
          throw SpawnFailure(message: "the child never announced its pid")
        }
        let blocked = signalTwiceWhileBlocked(try announcedThread(announcement.text), inAnyOf: ["do_msgrcv"])
        try queue.send("after the signals".utf8, type: 1)
        return blocked
      }
    }
    if case .failure = parent { try? queue.remove() }  // wakes the child: no hang
    _ = await child
    #expect(try parent.get() == [true, true, true])
    #expect(try queue.stat().messageCount == 0)
  }

  #if DEBUG
    @Test func injectedInterruptsAreRetriedByReceive() throws {
      try withQueue { queue in
        try queue.send("survives".utf8, type: 1)
        let injection = InterruptInjection(.msgrcv, count: 3)
        let message = try InterruptInjection.$current.withValue(injection) {
          try queue.receive()
        }
        #expect(injection.delivered == 3)
        #expect(message == SystemV.Message(1, "survives"))
      }
    }

    @Test func injectedInterruptsAreRetriedBySend() throws {
      try withQueue { queue in
        let injection = InterruptInjection(.msgsnd, count: 2)
        try InterruptInjection.$current.withValue(injection) {
          try queue.send("once".utf8, type: 5)
        }
        #expect(injection.delivered == 2)
        #expect(try drain(queue) == [SystemV.Message(5, "once")])
      }
    }

    @Test func injectedInterruptsAreRetriedByReceiveIntoABuffer() throws {
      try withQueue { queue in
        try queue.send("abc".utf8, type: 2)
        let injection = InterruptInjection(.msgrcv, count: 1)
        var buffer = [UInt8](repeating: 0, count: 8)
        let received = try InterruptInjection.$current.withValue(injection) {
          try buffer.withUnsafeMutableBytes { try queue.receive(into: $0) }
        }
        #expect(injection.delivered == 1)
        #expect(received.type == 2 && received.count == 3)
      }
    }
  #endif

  @Test func aBlockedSenderProceedsWhenAnotherProcessMakesRoom() throws {
    try withQueue { queue in
      try queue.setMaxBytes(8)
      try queue.send(Array(repeating: 1, count: 8), type: 1)
      let sender = try SpawnedProcess(
        Tools.ipc, ["msg", "send", "--id", "\(queue.id)", "--type", "2", "waiting"])
      #expect(sender.waitUntilBlocked(in: "do_msgsnd"))
      #expect(try queue.stat().messageCount == 1)
      #expect(try queue.receive().type == 1)
      #expect(sender.wait())
      #expect(sender.exitStatus == 0)
      #expect(try queue.receive(timeout: .seconds(5)) == SystemV.Message(2, "waiting"))
    }
  }

  @Test(.prompt) func manyMessagesFromTwoProcessesArriveInPerSenderOrder() async throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    async let first = #expect(processExitsWith: .success) { [id = queue.id as Int32] in
      let queue = try SystemV.MessageQueue.open(id: id)
      for number in 0..<200 { try queue.send("\(number)".utf8, type: 1) }
    }
    async let second = #expect(processExitsWith: .success) { [id = queue.id as Int32] in
      let queue = try SystemV.MessageQueue.open(id: id)
      for number in 0..<200 { try queue.send("\(number)".utf8, type: 2) }
    }
    let received = await outcome { () async throws -> [Int: [Int]] in
      try await onOwnThread {
        var received: [Int: [Int]] = [1: [], 2: []]
        for _ in 0..<400 {
          guard let message = try queue.receive(timeout: .seconds(60)) else {
            throw SpawnFailure(message: "no message within 60 s after \(received.values.map(\.count))")
          }
          received[message.type, default: []].append(Int(message.text) ?? -1)
        }
        return received
      }
    }
    if case .failure = received { try? queue.remove() }  // wakes blocked senders
    _ = await first
    _ = await second
    #expect(try received.get()[1] == Array(0..<200))
    #expect(try received.get()[2] == Array(0..<200))
  }

  @Test func aQueueRemovedWhileAnotherProcessWaitsToSendEndsItsWaitWithRemoved() throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    try queue.setMaxBytes(4)
    try queue.send("full".utf8, type: 1)
    let sender = try SpawnedProcess(Tools.ipc, ["msg", "send", "--id", "\(queue.id)", "more"])
    #expect(sender.waitUntilBlocked(in: "do_msgsnd"))
    try queue.remove()
    #expect(sender.wait(timeout: .seconds(10)))
    #expect(sender.exitStatus == 1)
    #expect(sender.standardError.contains("removed while this process was waiting to send"))
  }

  /// Another user's process (nobody, through util-linux setpriv) meets the
  /// queue's permissions: clear errors, and the queue is unchanged.
  @Test(.enabled(if: getuid() == 0, "needs root to run a peer as another user"))
  func anotherUserIsHeldToTheQueuePermissions() throws {
    try withQueue { queue in
      try queue.send("private".utf8, type: 1)
      let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", Tools.ipc, "msg"]
      let id = "\(queue.id)"
      let receive = try SpawnedProcess.run(
        "/usr/bin/setpriv", asNobody + ["receive", "--id", id, "--nowait"])
      #expect(receive.exitStatus == 1)
      #expect(receive.standardError.contains("permissions do not allow this process to read"))
      #expect(receive.standardError.contains("[EACCES]"))
      let send = try SpawnedProcess.run("/usr/bin/setpriv", asNobody + ["send", "--id", id, "intruder"])
      #expect(send.exitStatus == 1)
      #expect(send.standardError.contains("permissions do not allow this process to write"))
      let remove = try SpawnedProcess.run("/usr/bin/setpriv", asNobody + ["remove", "--id", id])
      #expect(remove.exitStatus == 1)
      #expect(remove.standardError.contains("only the queue's owner, its creator or a privileged process"))
      #expect(remove.standardError.contains("[EPERM]"))
      #expect(try drain(queue) == [SystemV.Message(1, "private")])

      try queue.setPermissions(Permissions(rawValue: 0o622))  // others may write, not read
      let allowed = try SpawnedProcess.run(
        "/usr/bin/setpriv", asNobody + ["send", "--id", id, "--type", "2", "hi"])
      #expect(allowed.exitStatus == 0, "\(allowed.standardError)")
      #expect(try drain(queue) == [SystemV.Message(2, "hi")])

      // A write-only sender on a full queue may not read its limit: "full", not EACCES.
      try queue.setMaxBytes(2)
      try queue.send("ab".utf8, type: 1)
      let full = try SpawnedProcess.run(
        "/usr/bin/setpriv", asNobody + ["send", "--id", id, "--nowait", "x"])
      #expect(full.exitStatus == 1)
      #expect(full.standardError.contains("is full; nothing was sent"), "\(full.standardError)")
    }
  }
}
