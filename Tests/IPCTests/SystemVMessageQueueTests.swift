import Glibc
import IPC
import Testing

/// SystemV.MessageQueue against the real kernel: creation, sending, each
/// selector's order, the three receive forms, peek, stat and control.
@Suite("System V message queues")
struct SystemVMessageQueueTests {
  // MARK: Creating and opening

  @Test func createPrivateQueueHasDefaultMode0600() throws {
    try withQueue { queue in
      let status = try queue.stat()
      #expect(status.permissions == .ownerReadWrite)
      #expect(status.permissions.octal == "0600")
      #expect(status.key.isPrivate)
      #expect(status.messageCount == 0)
      #expect(status.maxBytes == SystemV.MessageQueue.Limits.current().defaultMaxBytes)
      #expect(status.ownerUID == getuid())
      #expect(ownedByThisProcess(status.ownership, permissions: .ownerReadWrite))
    }
  }

  @Test func createWithKeyOpenAndOpenOrCreateFindTheSameQueue() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.create(key: key, permissions: [.ownerRead, .ownerWrite, .groupRead])
    defer { try? queue.remove() }
    #expect(try SystemV.MessageQueue.open(key: key) == queue)
    #expect(try SystemV.MessageQueue.openOrCreate(key: key) == queue)
    #expect(try SystemV.MessageQueue.open(id: queue.id) == queue)
    let status = try queue.stat()
    #expect(status.key == key)
    #expect(status.permissions.octal == "0640")
  }

  @Test func openOrCreateMakesAMissingQueue() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.openOrCreate(key: key)
    defer { try? queue.remove() }
    #expect(try queue.stat().key == key)
  }

  @Test func exclusiveCreateOfAnExistingKeyFailsAndLeavesTheQueueAlone() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.create(key: key)
    defer { try? queue.remove() }
    try queue.send(Array("kept".utf8), type: 4)
    let error = #expect(throws: IPCError.self) { try SystemV.MessageQueue.create(key: key) }
    #expect(error?.code == .exists)
    #expect(error?.operation == "msgget")
    #expect(error?.object == "key \(key)")
    #expect(error?.reason.contains("already exists") == true)
    #expect(error?.reason.contains("id \(queue.id)") == true)
    #expect(try drain(queue) == [SystemV.Message(4, "kept")])
  }

  @Test func openOfAKeyWithNoQueueIsNotFound() throws {
    let key = TestKeys.next()
    let error = #expect(throws: IPCError.self) { try SystemV.MessageQueue.open(key: key) }
    #expect(error?.code == .notFound)
    #expect(error?.reason.contains("no message queue exists for key \(key)") == true)
  }

  @Test func openOfAnIdWithNoQueueIsAClearError() throws {
    let id = try withQueue { $0.id }  // removed on return, so the id is now free
    let error = #expect(throws: IPCError.self) { try SystemV.MessageQueue.open(id: id) }
    #expect(error?.code == .notFound)
    #expect(error?.reason.contains("no message queue has id \(id)") == true)
  }

  @Test func openingThePrivateKeyIsRejected() {
    let error = #expect(throws: IPCError.self) { try SystemV.MessageQueue.open(key: .private) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason.contains("IPC_PRIVATE") == true)
  }

  // MARK: Sending and receiving bytes

  @Test func bytesRoundTripExactlyIncludingZeroBytesAndEmptyMessages() throws {
    try withQueue { queue in
      let binary: [UInt8] = [0, 1, 2, 0xff, 0, 0x80]
      try queue.send(binary, type: 9)
      try queue.send([UInt8](), type: 2)
      try queue.send("héllo".utf8, type: 3)
      try queue.send(binary[1...3], type: 4)
      #expect(try queue.receive() == SystemV.Message(type: 9, bytes: binary))
      #expect(try queue.receive() == SystemV.Message(type: 2, bytes: []))
      #expect(try queue.receive().text == "héllo")
      #expect(try queue.receive().bytes == [1, 2, 0xff])
    }
  }

  @Test func messageOfExactlyMsgmaxBytesIsSentAndReceived() throws {
    try withQueue { queue in
      let limit = SystemV.MessageQueue.Limits.current().maxMessageSize
      let bytes = (0..<limit).map { UInt8(truncatingIfNeeded: $0 &* 31) }
      try queue.setMaxBytes(max(limit, try queue.stat().maxBytes))
      try queue.send(bytes, type: 1)
      #expect(try queue.receive().bytes == bytes)
    }
  }

  /// IPC_SET keeps only the low 32 bits of msg_qbytes: 4294967296 would make a queue that holds 0 bytes.
  @Test(arguments: [SystemV.MessageQueue.maxBytesCeiling + 1, 4_294_967_296, 4_294_967_297, Int.max])
  func byteLimitsTheKernelCannotHoldAreRejectedChangingNothing(maxBytes: Int) throws {
    try withQueue { queue in
      let before = try queue.stat().maxBytes
      let error = #expect(throws: IPCError.self) { try queue.setMaxBytes(maxBytes) }
      #expect(error?.code == .invalidArgument)
      #expect(error?.reason.contains("at most \(SystemV.MessageQueue.maxBytesCeiling)") == true)
      #expect(try queue.stat().maxBytes == before)
    }
  }

  @Test func anySelectorIsFIFOAcrossTypes() throws {
    try withQueue { queue in
      for (type, text) in [(5, "a"), (1, "b"), (3, "c"), (1, "d")] {
        try queue.send(text.utf8, type: type)
      }
      #expect(try drain(queue).map(\.text) == ["a", "b", "c", "d"])
    }
  }

  @Test func typeSelectorTakesOnlyThatTypeInFIFOOrder() throws {
    try withQueue { queue in
      for (type, text) in [(2, "x1"), (1, "a"), (2, "x2"), (3, "z"), (2, "x3")] {
        try queue.send(text.utf8, type: type)
      }
      #expect(try queue.receive(.type(2)).text == "x1")
      #expect(try queue.receive(.type(2)).text == "x2")
      #expect(try queue.receive(.type(2)).text == "x3")
      #expect(try queue.tryReceive(.type(2)) == nil)
      #expect(try drain(queue) == [SystemV.Message(1, "a"), SystemV.Message(3, "z")])
    }
  }

  @Test func upToSelectorTakesTheLowestTypeFirstThenFIFO() throws {
    try withQueue { queue in
      for (type, text) in [(4, "d"), (3, "c1"), (9, "high"), (1, "a1"), (3, "c2"), (1, "a2")] {
        try queue.send(text.utf8, type: type)
      }
      var order: [String] = []
      while let message = try queue.tryReceive(.upTo(4)) { order.append(message.text) }
      #expect(order == ["a1", "a2", "c1", "c2", "d"])
      #expect(try drain(queue) == [SystemV.Message(9, "high")])
    }
  }

  @Test func exceptSelectorSkipsOneTypeInFIFOOrder() throws {
    try withQueue { queue in
      for (type, text) in [(7, "skip1"), (2, "b"), (7, "skip2"), (5, "e")] {
        try queue.send(text.utf8, type: type)
      }
      #expect(try queue.receive(.except(7)).text == "b")
      #expect(try queue.receive(.except(7)).text == "e")
      #expect(try queue.tryReceive(.except(7)) == nil)
      #expect(try drain(queue).map(\.text) == ["skip1", "skip2"])
    }
  }

  @Test func tryReceiveOnAnEmptyQueueIsNil() throws {
    try withQueue { queue in
      #expect(try queue.tryReceive() == nil)
      #expect(try queue.tryReceive(.type(3)) == nil)
      try queue.send([1], type: 1)
      #expect(try queue.tryReceive(.type(3)) == nil)
      #expect(try queue.stat().messageCount == 1)
    }
  }

  @Test func receiveWithTimeoutExpiresWithoutConsumingAndReturnsALaterMessage() throws {
    try withQueue { queue in
      try queue.send("other".utf8, type: 2)
      let start = ContinuousClock.now
      #expect(try queue.receive(.type(1), timeout: .milliseconds(80)) == nil)
      #expect(ContinuousClock.now - start >= .milliseconds(80))
      #expect(try queue.stat().messageCount == 1)
      #expect(try queue.receive(.type(2), timeout: .seconds(5))?.text == "other")
      #expect(try queue.receive(timeout: .zero) == nil)
    }
  }

  @Test func trySendOnAFullQueueReturnsFalseAndLeavesTheQueueUnchanged() throws {
    try withQueue { queue in
      try queue.setMaxBytes(16)
      #expect(try queue.trySend(Array(repeating: 1, count: 10), type: 1))
      let before = try queue.stat()
      #expect(try queue.trySend(Array(repeating: 2, count: 10), type: 2) == false)
      #expect(try queue.send(Array(repeating: 3, count: 10), type: 3, timeout: .milliseconds(30)) == false)
      let after = try queue.stat()
      #expect(after.messageCount == before.messageCount)
      #expect(after.byteCount == before.byteCount)
      #expect(try drain(queue) == [SystemV.Message(type: 1, bytes: Array(repeating: 1, count: 10))])
      #expect(try queue.trySend(Array(repeating: 4, count: 16), type: 4))
    }
  }

  // MARK: Caller buffers and truncation

  @Test func receiveIntoACallerBufferReturnsTypeAndCount() throws {
    try withQueue { queue in
      try queue.send("payload".utf8, type: 6)
      var storage = [UInt8](repeating: 0, count: 32)
      let received = try storage.withUnsafeMutableBytes { try queue.receive(into: $0) }
      #expect(received.type == 6)
      #expect(received.count == 7)
      #expect(Array(storage[0..<7]) == Array("payload".utf8))
      let none = try storage.withUnsafeMutableBytes { try queue.tryReceive(into: $0) }
      #expect(none == nil)
    }
  }

  @Test func tooSmallBufferWithoutTruncationFailsAndKeepsTheMessage() throws {
    try withQueue { queue in
      try queue.send("0123456789".utf8, type: 2)
      var small = [UInt8](repeating: 0, count: 4)
      let error = #expect(throws: IPCError.self) {
        try small.withUnsafeMutableBytes { try queue.receive(into: $0) }
      }
      #expect(error?.code == .tooBig)
      #expect(error?.reason.contains("buffer of 4 bytes") == true)
      #expect(error?.reason.contains("still in the queue") == true)
      #expect(try queue.stat().messageCount == 1)
      #expect(small == [0, 0, 0, 0])
      #expect(try queue.peek()?.text == "0123456789")
    }
  }

  @Test func truncatingReceiveCutsTheMessageAndConsumesIt() throws {
    try withQueue { queue in
      try queue.send("0123456789".utf8, type: 2)
      var small = [UInt8](repeating: 0, count: 4)
      let received = try small.withUnsafeMutableBytes { try queue.receive(into: $0, truncating: true) }
      #expect(received.type == 2)
      #expect(received.count == 4)
      #expect(small == Array("0123".utf8))
      #expect(try queue.stat().messageCount == 0)
    }
  }

  // MARK: Peek

  @Test func peekCopiesTheNthMessageWithoutRemovingIt() throws {
    try withQueue { queue in
      try queue.send("first".utf8, type: 3)
      try queue.send("second".utf8, type: 1)
      #expect(try queue.peek() == SystemV.Message(3, "first"))
      #expect(try queue.peek(at: 1) == SystemV.Message(1, "second"))
      #expect(try queue.peek(at: 2) == nil)
      #expect(try queue.stat().messageCount == 2)
      #expect(try drain(queue).map(\.text) == ["first", "second"])
    }
  }

  @Test func peekAtANegativeIndexIsRejected() throws {
    try withQueue { queue in
      let error = #expect(throws: IPCError.self) { try queue.peek(at: -1) }
      #expect(error?.code == .invalidArgument)
    }
  }

  // MARK: Stat and control

  @Test func statReportsCountsBytesPidsAndTimes() throws {
    try withQueue { queue in
      let fresh = try queue.stat()
      #expect(fresh.lastSenderPID == nil)
      #expect(fresh.lastReceiveTime == nil)
      try queue.send("abc".utf8, type: 1)
      try queue.send("de".utf8, type: 1)
      let sent = try queue.stat()
      #expect(sent.messageCount == 2)
      #expect(sent.byteCount == 5)
      #expect(sent.lastSenderPID == getpid())
      #expect(sent.lastSendTime != nil)
      #expect(sent.lastReceiverPID == nil)
      _ = try queue.receive()
      let received = try queue.stat()
      #expect(received.lastReceiverPID == getpid())
      #expect(received.messageCount == 1)
      #expect(received.byteCount == 2)
      #expect(abs((received.lastReceiveTime ?? 0) - Int(time(nil))) < 60)
    }
  }

  @Test func setMaxBytesAndPermissionsChangeTheQueue() throws {
    try withQueue { queue in
      try queue.setMaxBytes(1000)
      try queue.setPermissions([.ownerRead, .ownerWrite, .groupRead, .groupWrite])
      let status = try queue.stat()
      #expect(status.maxBytes == 1000)
      #expect(status.permissions.octal == "0660")
    }
  }

  @Test func setMaxBytesRejectsZero() throws {
    try withQueue { queue in
      let before = try queue.stat().maxBytes
      let error = #expect(throws: IPCError.self) { try queue.setMaxBytes(0) }
      #expect(error?.code == .invalidArgument)
      #expect(try queue.stat().maxBytes == before)
    }
  }

  @Test func removeMakesEveryLaterCallAClearError() throws {
    let queue = try SystemV.MessageQueue.create()
    try queue.remove()
    let send = #expect(throws: IPCError.self) { try queue.send([1], type: 1) }
    #expect(send?.reason.contains("no message queue has id \(queue.id)") == true)
    let again = #expect(throws: IPCError.self) { try queue.remove() }
    #expect(again?.operation == "msgctl(IPC_RMID)")
  }

  // MARK: Bad input: rejected, nothing lost

  @Test(arguments: [0, -1, Int.min])
  func sendingATypeBelowOneIsRejectedBeforeTheCall(type: Int) throws {
    try withQueue { queue in
      try queue.send("kept".utf8, type: 1)
      let error = #expect(throws: IPCError.self) { try queue.send("bad".utf8, type: type) }
      #expect(error?.code == .invalidArgument)
      #expect(error?.operation == "msgsnd")
      #expect(error?.object == "queue \(queue.id)")
      #expect(error?.reason.contains("message type \(type) is invalid") == true)
      #expect(throws: IPCError.self) { try queue.trySend([1], type: type) }
      #expect(try drain(queue) == [SystemV.Message(1, "kept")])
    }
  }

  @Test(arguments: [
    SystemV.MessageQueue.Selector.type(0), .upTo(0), .except(0), .type(-3), .upTo(-1),
  ])
  func selectingATypeBelowOneIsRejectedAndConsumesNothing(selector: SystemV.MessageQueue.Selector)
    throws
  {
    try withQueue { queue in
      try queue.send("kept".utf8, type: 1)
      let error = #expect(throws: IPCError.self) { try queue.tryReceive(selector) }
      #expect(error?.code == .invalidArgument)
      #expect(error?.reason.contains("message types are 1 or more") == true)
      #expect(try drain(queue) == [SystemV.Message(1, "kept")])
    }
  }

  @Test func aMessageLargerThanMsgmaxIsRejectedNamingTheLimitAndTheQueueIsUnchanged() throws {
    try withQueue { queue in
      try queue.send("kept".utf8, type: 1)
      let limit = SystemV.MessageQueue.Limits.current().maxMessageSize
      let error = #expect(throws: IPCError.self) {
        try queue.send([UInt8](repeating: 7, count: limit + 1), type: 1)
      }
      #expect(error?.code == .invalidArgument)
      #expect(
        error?.reason == "message of \(limit + 1) bytes exceeds msgmax \(limit), see /proc/sys/kernel/msgmax")
      #expect(error?.description.contains("msgsnd on queue \(queue.id) failed") == true)
      #expect(try drain(queue) == [SystemV.Message(1, "kept")])
    }
  }

  @Test func aMessageLargerThanTheQueueLimitIsAnErrorNotAHang() throws {
    try withQueue { queue in
      try queue.setMaxBytes(100)
      try queue.send("kept".utf8, type: 1)
      let big = [UInt8](repeating: 1, count: 101)
      for attempt in 0..<3 {
        let error = #expect(throws: IPCError.self) {
          switch attempt {
          case 0: try queue.send(big, type: 2)
          case 1: _ = try queue.trySend(big, type: 2)
          default: _ = try queue.send(big, type: 2, timeout: .seconds(10))
          }
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.reason.contains("101 bytes can never fit: the queue holds at most 100 bytes") == true)
      }
      #expect(try drain(queue) == [SystemV.Message(1, "kept")])
    }
  }

  @Test func timedReceiveIntoABufferAndTimedTypedSend() throws {
    try withQueue { queue in
      var storage = [UInt8](repeating: 0, count: 16)
      let none = try storage.withUnsafeMutableBytes {
        try queue.receive(into: $0, timeout: .milliseconds(20))
      }
      #expect(none == nil)
      #expect(try queue.send(OrderCancelled(orderID: 3), timeout: .seconds(1)))
      let got = try storage.withUnsafeMutableBytes {
        try queue.receive(.type(12), into: $0, timeout: .seconds(5))
      }
      #expect(got?.type == OrderCancelled.messageType)
      #expect(got.map { Array(storage[0..<$0.count]) } == Array(#"{"orderID":3}"#.utf8))
    }
  }

  @Test func rawBufferAndNonContiguousSendsCarryTheSameBytes() throws {
    try withQueue { queue in
      let bytes: [UInt8] = [9, 8, 7]
      try bytes.withUnsafeBytes { raw in
        try queue.send(raw, type: 1)
        #expect(try queue.trySend(raw, type: 2))
        #expect(try queue.send(raw, type: 3, timeout: .seconds(1)))
      }
      try queue.send(Set([UInt8(5)]), type: 4)  // not contiguous: copied once
      try queue.send((1...3).lazy.map { UInt8($0) }, type: 5)
      #expect(try drain(queue).map(\.bytes) == [bytes, bytes, bytes, [5], [1, 2, 3]])
    }
  }

  @Test func typedTrySendAndTimedTypedReceive() throws {
    try withQueue { (queue: SystemV.MessageQueue) throws in
      #expect(try queue.receive(OrderPlaced.self, timeout: .milliseconds(10)) == nil)
      #expect(try queue.trySend(OrderPlaced(orderID: 1, item: "jam")))
      #expect(
        try queue.receive(OrderPlaced.self, timeout: .seconds(5)) == OrderPlaced(orderID: 1, item: "jam"))
    }
  }

  @Test func aLimitRaisedBehindTheCachesBackIsReadBeforeASendIsRejected() throws {
    try withQueue { queue in
      try queue.setMaxBytes(100)  // this process now remembers 100
      var info = msqid_ds()  // raise it directly, as another process would
      #expect(msgctl(queue.id, IPC_STAT, &info) == 0)
      info.msg_qbytes = 200
      #expect(msgctl(queue.id, IPC_SET, &info) == 0)
      try queue.send([UInt8](repeating: 1, count: 150), type: 1)
      #expect(try queue.receive().bytes.count == 150)
    }
  }

  @Test func messagesLargerThanTheStackScratchRoundTripIntoBuffers() throws {
    try withQueue { queue in
      let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
      try queue.send(bytes, type: 3)
      var storage = [UInt8](repeating: 0, count: 6000)
      let received = try storage.withUnsafeMutableBytes { try queue.receive(into: $0) }
      #expect(received.count == 5000)
      #expect(Array(storage[0..<5000]) == bytes)
    }
  }

  @Test func aMessageAboveMsgmaxIsReportedAsSuchEvenOnASmallQueue() throws {
    try withQueue { queue in
      try queue.setMaxBytes(100)
      let limit = SystemV.MessageQueue.Limits.current().maxMessageSize
      let error = #expect(throws: IPCError.self) {
        try queue.send([UInt8](repeating: 1, count: limit + 1), type: 1)
      }
      #expect(error?.reason.contains("exceeds msgmax \(limit), see /proc/sys/kernel/msgmax") == true)
    }
  }

  @Test func aLimitLoweredBehindTheCachesBackIsAnErrorForTrySend() throws {
    try withQueue { queue in
      try queue.setMaxBytes(200)  // this process now remembers 200
      try queue.send([UInt8](repeating: 1, count: 90), type: 1)
      var info = msqid_ds()  // lower it directly, as another process would
      #expect(msgctl(queue.id, IPC_STAT, &info) == 0)
      info.msg_qbytes = 100
      #expect(msgctl(queue.id, IPC_SET, &info) == 0)
      let error = #expect(throws: IPCError.self) {
        try queue.trySend([UInt8](repeating: 2, count: 150), type: 1)
      }
      #expect(error?.reason.contains("150 bytes can never fit: the queue holds at most 100 bytes") == true)
      #expect(try queue.stat().messageCount == 1)
    }
  }

  /// A timed form polls with IPC_NOWAIT, so a removal shows as EINVAL on its
  /// next try; it is reported as the blocking forms report it: `.removed`.
  @Test func aQueueRemovedDuringATimedReceiveOrSendIsRemoved() throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    let receiving = BackgroundWork { () throws -> IPCError? in
      do {
        _ = try queue.receive(timeout: .seconds(60))
        return nil
      } catch let error as IPCError { return error }
    }
    usleep(100_000)
    try queue.remove()
    let received = try receiving.value()
    #expect(received?.code == .removed)
    #expect(received?.reason == "the queue was removed while this process was waiting to receive")

    let full = try SystemV.MessageQueue.create()
    defer { try? full.remove() }
    try full.setMaxBytes(8)
    try full.send([UInt8](repeating: 1, count: 8), type: 1)
    let sending = BackgroundWork { () throws -> IPCError? in
      do {
        _ = try full.send([2], type: 1, timeout: .seconds(60))
        return nil
      } catch let error as IPCError { return error }
    }
    usleep(100_000)
    try full.remove()
    let sent = try sending.value()
    #expect(sent?.code == .removed)
    #expect(sent?.reason == "the queue was removed while this process was waiting to send")
  }

  /// A process that has used up its thread keys (PTHREAD_KEYS_MAX) still
  /// sends and receives messages too large for the stack: the library's
  /// scratch buffer then takes memory for the call, where it used to stop
  /// the process at a precondition.
  @Test(.prompt) func largeMessagesStillGoWhenTheProcessIsOutOfThreadKeys() async {
    await #expect(processExitsWith: .success) {
      var key = pthread_key_t()
      var taken = 0
      while pthread_key_create(&key, nil) == 0 { taken += 1 }
      guard taken > 0 else { exit(3) }
      let queue = try SystemV.MessageQueue.create()
      defer { try? queue.remove() }
      let bytes = (0..<4000).map { UInt8(truncatingIfNeeded: $0) }
      for _ in 0..<3 {
        try queue.send(bytes, type: 7)
        guard try queue.receive(.type(7)) == SystemV.Message(type: 7, bytes: bytes) else { exit(4) }
      }
    }
  }
}
