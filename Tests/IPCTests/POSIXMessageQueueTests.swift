import Foundation
import Testing

@testable import IPC

/// POSIX message queues within one process: names, limits, priorities, the
/// three forms of each call, bad input, and that nothing is lost on an error.
@Suite("POSIX message queues")
struct POSIXMessageQueueTests {
  @Test func messagesComeOutByPriorityThenInOrder() throws {
    try withPOSIXQueue(maxMessages: 8) { (queue) throws in
      try queue.send("low 1".utf8, priority: 1)
      try queue.send("high".utf8, priority: 9)
      try queue.send("low 2".utf8, priority: 1)
      try queue.send("".utf8)
      #expect(
        try drain(queue) == [
          POSIX.Message("high", priority: 9), POSIX.Message("low 1", priority: 1),
          POSIX.Message("low 2", priority: 1), POSIX.Message("", priority: 0),
        ])
    }
  }

  @Test func attributesAreTheCreatedLimitsAndTheCurrentCount() throws {
    try withPOSIXQueue(maxMessages: 3, messageSize: 100) { (queue) throws in
      try queue.send([1, 2, 3] as [UInt8])
      #expect(try queue.attributes() == .init(maxMessages: 3, messageSize: 100, currentMessages: 1))
      #expect(queue.maxMessages == 3)
      #expect(queue.messageSize == 100)
    }
  }

  @Test func omittedLimitsTakeTheSystemDefaults() throws {
    let limits = POSIX.MessageQueue.Limits.current()
    try withPOSIXQueue(maxMessages: nil, messageSize: 64) { (queue) throws in
      #expect(queue.maxMessages == limits.defaultMaxMessages)
    }
    try withPOSIXQueue(maxMessages: nil, messageSize: nil) { (queue) throws in
      #expect(queue.messageSize == limits.defaultMessageSize)
    }
  }

  @Test func limitsAreReadFromProcAtRunTime() throws {
    let limits = POSIX.MessageQueue.Limits.current()
    func proc(_ name: String) throws -> Int {
      try #require(
        Int(String(contentsOfFile: "/proc/sys/fs/mqueue/\(name)", encoding: .utf8).trimmingWhitespace()))
    }
    #expect(limits.maxMessages == (try proc("msg_max")))
    #expect(limits.maxMessageSize == (try proc("msgsize_max")))
    #expect(limits.maxQueues == (try proc("queues_max")))
    #expect(limits.defaultMaxMessages == (try proc("msg_default")))
    #expect(limits.priorityLimit == 32768)
  }

  @Test func newQueuesAreOwnerReadWriteOnly() throws {
    try withPOSIXQueue { (queue) throws in
      var info = stat()
      #expect(fstat(queue.fileDescriptor, &info) == 0)
      #expect(info.st_mode & 0o777 == 0o600)
    }
  }

  @Test func creatingAnExistingNameFailsAndLeavesItIntact() throws {
    try withPOSIXQueue { (queue) throws in
      try queue.send("kept".utf8, priority: 3)
      let error = #expect(throws: IPCError.self) { try POSIX.MessageQueue.create(queue.name) }
      #expect(error?.code == .exists)
      #expect(error?.operation == "mq_open")
      #expect(error?.description.contains(queue.name) == true)
      let again = try POSIX.MessageQueue.openOrCreate(queue.name, maxMessages: 1, messageSize: 1)
      #expect(again.messageSize == 128)  // openOrCreate's limits apply only to a new queue
      #expect(try drain(queue) == [POSIX.Message("kept", priority: 3)])
    }
  }

  @Test func openingAMissingQueueSaysHowToCreateIt() throws {
    let name = TestNames.next()
    let error = #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
    #expect(error?.code == .notFound)
    #expect(error?.reason.contains("no message queue is named \(name); create it first") == true)
    let unlink = #expect(throws: IPCError.self) { try POSIX.MessageQueue.unlink(name) }
    #expect(unlink?.code == .notFound)
  }

  @Test(arguments: [
    ("orders", "does not start with '/'"), ("/", "empty after '/'"),
    ("/a/b", "'/' after the first"), ("/" + String(repeating: "x", count: 256), "more than the 255 allowed"),
    ("/..", "are not names"), ("/a\u{0}b", "NUL"),
  ])
  func invalidNamesAreRejectedBeforeTheCallWithTheRule(name: String, problem: String) throws {
    let error = #expect(throws: IPCError.self) { try POSIX.MessageQueue.create(name) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason.contains(problem) == true)
    #expect(error?.reason.contains("'/' followed by 1 to 255 bytes") == true)
    // Nothing was created under a nearby valid name either.
    let nearby = "/" + name.filter { $0 != "/" && $0 != "\u{0}" }
    if nearby.count > 1, nearby.count < 255, nearby != "/.." {
      #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(nearby) }
    }
  }

  @Test func aMessageLargerThanTheMessageSizeIsRefusedAndNothingIsSent() throws {
    try withPOSIXQueue(messageSize: 16) { (queue) throws in
      let error = #expect(throws: IPCError.self) {
        try queue.send([UInt8](repeating: 1, count: 17))
      }
      #expect(error?.code == .messageTooLong)
      #expect(error?.reason.contains("17 bytes exceeds the queue's message size 16") == true)
      #expect(try queue.attributes().currentMessages == 0)
      try queue.send([UInt8](repeating: 1, count: 16))  // exactly the size fits
      #expect(try queue.tryReceive()?.bytes.count == 16)
    }
  }

  @Test(arguments: [-1, 32768, Int.max])
  func aPriorityOutOfRangeIsRefusedAndNothingIsSent(priority: Int) throws {
    try withPOSIXQueue { (queue) throws in
      let error = #expect(throws: IPCError.self) { try queue.send("x".utf8, priority: priority) }
      #expect(error?.code == .invalidArgument)
      #expect(error?.reason.contains("MQ_PRIO_MAX (32768)") == true)
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  @Test func theHighestPriorityIsAccepted() throws {
    try withPOSIXQueue { (queue) throws in
      try queue.send("top".utf8, priority: 32767)
      #expect(try queue.receive() == POSIX.Message("top", priority: 32767))
    }
  }

  @Test func limitsBeyondEvenPrivilegedOnesNameTheSystemFile() throws {
    let name = TestNames.next()
    let error = #expect(throws: IPCError.self) {
      try POSIX.MessageQueue.create(name, maxMessages: 100_000, messageSize: 16)
    }
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason.contains("exceeds the kernel's hard limit of 65536 (HARD_MSGMAX)") == true)
    #expect(error?.reason.contains("/proc/sys/fs/mqueue/msg_max") == true)
    let size = #expect(throws: IPCError.self) {
      try POSIX.MessageQueue.create(name, maxMessages: 1, messageSize: 17 * 1024 * 1024)
    }
    #expect(size?.reason.contains("hard limit of 16777216 bytes (HARD_MSGSIZEMAX)") == true)
    #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
    let zero = #expect(throws: IPCError.self) {
      try POSIX.MessageQueue.create(name, maxMessages: 0, messageSize: 16)
    }
    #expect(zero?.reason.contains("max messages 0 is invalid") == true)
  }

  @Test func nonBlockingFormsReportFullAndEmptyWithoutChangingTheQueue() throws {
    try withPOSIXQueue(maxMessages: 2) { (queue) throws in
      #expect(try queue.tryReceive() == nil)
      #expect(try queue.trySend("1".utf8))
      #expect(try queue.trySend("2".utf8, priority: 2))
      #expect(try queue.trySend("3".utf8) == false)
      #expect(try queue.attributes().currentMessages == 2)
      #expect(try drain(queue) == [POSIX.Message("2", priority: 2), POSIX.Message("1")])
    }
  }

  @Test func timeoutsExpireWithoutConsumingOrAddingAnything() throws {
    try withPOSIXQueue(maxMessages: 1) { (queue) throws in
      let clock = SuspendingClock()
      var start = clock.now
      #expect(try queue.receive(timeout: .milliseconds(200)) == nil)
      var waited = clock.now - start
      #expect(waited >= .milliseconds(200) && waited < .seconds(3))
      try queue.send("full".utf8)
      start = clock.now
      #expect(try queue.send("more".utf8, timeout: .milliseconds(150)) == false)
      waited = clock.now - start
      #expect(waited >= .milliseconds(150) && waited < .seconds(3))
      #expect(try queue.receive(timeout: .seconds(5)) == POSIX.Message("full"))
      #expect(try queue.send("room".utf8, timeout: .seconds(5)))
      #expect(try drain(queue) == [POSIX.Message("room")])
    }
  }

  @Test func receivingIntoABufferWritesInPlaceAndRefusesTooSmallBuffers() throws {
    try withPOSIXQueue(messageSize: 64) { (queue) throws in
      try queue.send("abc".utf8, priority: 4)
      var small = [UInt8](repeating: 0, count: 63)
      let error = #expect(throws: IPCError.self) {
        _ = try small.withUnsafeMutableBytes { try queue.receive(into: $0) }
      }
      #expect(error?.code == .messageTooLong)
      #expect(error?.reason.contains("nothing was received") == true)
      #expect(try queue.attributes().currentMessages == 1)
      var buffer = [UInt8](repeating: 0, count: 64)
      let received = try buffer.withUnsafeMutableBytes { try queue.receive(into: $0) }
      #expect(received.count == 3 && received.priority == 4)
      #expect(Array(buffer[0..<3]) == Array("abc".utf8))
      #expect(try buffer.withUnsafeMutableBytes { try queue.tryReceive(into: $0) } == nil)
      let timed = try buffer.withUnsafeMutableBytes {
        try queue.receive(into: $0, timeout: .milliseconds(20))
      }
      #expect(timed == nil)
    }
  }

  @Test func aReadOnlyDescriptorCannotSendAndAWriteOnlyOneCannotReceive() throws {
    try withPOSIXQueue { (queue) throws in
      let reader = try POSIX.MessageQueue.open(queue.name, access: .readOnly)
      let writer = try POSIX.MessageQueue.open(queue.name, access: .writeOnly)
      let sendError = #expect(throws: IPCError.self) { try reader.send("x".utf8) }
      #expect(sendError?.code == .badDescriptor)
      #expect(sendError?.reason.contains("opened read-only") == true)
      #expect(sendError?.reason.contains("open it .writeOnly or .readWrite") == true)
      let receiveError = #expect(throws: IPCError.self) { try writer.tryReceive() }
      #expect(receiveError?.reason.contains("opened write-only") == true)
      #expect(receiveError?.reason.contains("open it .readOnly or .readWrite") == true)
      try writer.send("through".utf8)
      #expect(try reader.receive().text == "through")
    }
  }

  @Test func aClosedQueueObjectFailsClearlyAndTheQueueStays() throws {
    try withPOSIXQueue { (queue) throws in
      let other = try POSIX.MessageQueue.open(queue.name)
      try other.send("stays".utf8)
      try other.close()
      #expect(other.fileDescriptor == -1)
      let error = #expect(throws: IPCError.self) { try other.tryReceive() }
      #expect(error?.code == .badDescriptor)
      #expect(error?.reason.contains("was closed") == true)
      #expect(throws: IPCError.self) { try other.close() }
      #expect(try queue.receive().text == "stays")
    }
  }

  @Test func anUnlinkedQueueKeepsWorkingForThoseWhoHaveItOpen() throws {
    let queue = try POSIX.MessageQueue.create(TestNames.next(), maxMessages: 2, messageSize: 8)
    defer { try? queue.unlink() }
    let second = try POSIX.MessageQueue.open(queue.name)
    try queue.unlink()
    #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(queue.name) }
    try second.send("alive".utf8)
    #expect(try queue.receive().text == "alive")
  }

  @Test func typedMessagesTravelAsJSONWithAPriority() throws {
    try withPOSIXQueue(messageSize: 256) { (queue) throws in
      try queue.send(OrderPlaced(orderID: 1, item: "tea"), priority: 2)
      try queue.send(OrderPlaced(orderID: 2, item: "cake"), priority: 7)
      #expect(try queue.receive(OrderPlaced.self) == OrderPlaced(orderID: 2, item: "cake"))
      let raw = try #require(try queue.tryReceive())
      #expect(raw == POSIX.Message(#"{"item":"tea","orderID":1}"#, priority: 2))
      #expect(try queue.tryReceive(OrderPlaced.self) == nil)
      #expect(try queue.trySend(OrderCancelled(orderID: 3), priority: 1))
      #expect(try queue.send(OrderCancelled(orderID: 4), timeout: .seconds(1)))
      #expect(try queue.receive(OrderCancelled.self, timeout: .seconds(1)) == OrderCancelled(orderID: 3))
      #expect(try queue.receive(OrderCancelled.self) == OrderCancelled(orderID: 4))
    }
  }

  @Test func aPayloadThatFailsToDecodeKeepsItsBytesAndPriority() throws {
    try withPOSIXQueue { (queue) throws in
      try queue.send("{\"orderID\": \"x\"}".utf8, priority: 6)
      let error = #expect(throws: IPCError.self) { try queue.receive(OrderPlaced.self) }
      #expect(error?.code == .badMessage)
      #expect(error?.priority == 6)
      #expect(error?.payload == Array("{\"orderID\": \"x\"}".utf8))
    }
  }

  @Test func aTypedMessageLargerThanTheMessageSizeIsNotSent() throws {
    try withPOSIXQueue(messageSize: 8) { (queue) throws in
      let error = #expect(throws: IPCError.self) {
        try queue.send(OrderPlaced(orderID: 1, item: "far too long for eight bytes"))
      }
      #expect(error?.code == .messageTooLong)
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  #if DEBUG
    @Test func injectedInterruptsAreRetriedBySendAndReceive() throws {
      try withPOSIXQueue { (queue) throws in
        let sends = InterruptInjection(.mqSend, count: 2)
        try InterruptInjection.$current.withValue(sends) { try queue.send("survives".utf8, priority: 1) }
        let receives = InterruptInjection(.mqReceive, count: 3)
        let message = try InterruptInjection.$current.withValue(receives) { try queue.receive() }
        #expect(sends.delivered == 2 && receives.delivered == 3)
        #expect(message == POSIX.Message("survives", priority: 1))
      }
    }

    @Test func interruptedTimedWaitsKeepTheirDeadline() throws {
      try withPOSIXQueue { (queue) throws in
        // Each injected EINTR ends one poll at once; the wait must go on for
        // the time left instead of giving up early. (That it does not start
        // over is shown by real signals spread over the wait, in
        // aTimedReceiveKeepsItsDeadlineWhileSignalsKeepArriving.)
        let polls = InterruptInjection(.poll, count: 50)
        let clock = SuspendingClock()
        let start = clock.now
        let message = try InterruptInjection.$current.withValue(polls) {
          try queue.receive(timeout: .milliseconds(250))
        }
        let waited = clock.now - start
        #expect(message == nil)
        #expect(polls.delivered == 50)
        #expect(waited >= .milliseconds(250) && waited < .seconds(3))
      }
    }
  #endif

  @Test func aTimeoutOfCenturiesIsAcceptedNotAnOverflow() throws {
    try withPOSIXQueue { (queue) throws in
      try queue.send("here".utf8)
      #expect(try queue.receive(timeout: .seconds(Int64.max))?.text == "here")
    }
  }
}
