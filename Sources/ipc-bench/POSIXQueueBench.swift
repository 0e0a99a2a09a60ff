import CIPCBench
import Glibc
import IPC

/// Two fresh POSIX message queues per measurement, one per direction (a
/// POSIX queue cannot select by type, so a round trip on one queue could
/// receive its own message). Both hold `maxMessages` messages of exactly the
/// row's size. The child gets their names; once both sides have opened them
/// the names are unlinked, before the clock starts.
final class POSIXQueueFixture: RegisteredFixture {
  static let maxMessages = 10

  /// Parent to child, and child to parent.
  let toChild: String
  let toParent: String
  let messageSize: Int
  var entries: [CleanupEntry]
  /// Nothing wakes a blocked mq_receive or mq_send but a message or room,
  /// which the loops would count: the watchdog ends the run instead.
  static let removalWakesTheParent = false

  init(size: Int) throws {
    (toChild, toParent) = UniqueName.directions(under: "/")
    messageSize = size
    entries = try CleanupEntry.makeNamed([toChild, toParent], register: CleanupEntry.messageQueue) {
      name in
      let queue = cipcb_mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0o600, Self.maxMessages, size)
      try check(min(queue, 0), "mq_open", name)
      _ = cipcb_mq_close(queue)
    } unmake: { name in
      _ = cipcb_mq_unlink(name)
    }
  }

  var childArguments: [String] {
    ["--to-child", toChild, "--to-parent", toParent, "--message-size", "\(messageSize)"]
  }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    try removingNames { try Self.loops(impl, inbound: toParent, outbound: toChild, messageSize: messageSize) }
  }

  deinit { remove() }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    try loops(
      impl, inbound: try arguments.string("--to-child"), outbound: try arguments.string("--to-parent"),
      messageSize: try arguments.integer("--message-size"))
  }

  private static func loops(_ impl: Implementation, inbound: String, outbound: String, messageSize: Int)
    throws -> any MessageLoops
  {
    switch impl {
    case .c: try CPOSIXQueueLoops(inbound: inbound, outbound: outbound, messageSize: messageSize)
    case .swift: try SwiftPOSIXQueueLoops(inbound: inbound, outbound: outbound, messageSize: messageSize)
    }
  }
}

/// The plain C baseline: mq_send and mq_receive, priority 0.
final class CPOSIXQueueLoops: MessageLoops {
  private var inbound: Int32 = -1
  private var outbound: Int32 = -1
  private let messageSize: Int

  init(inbound inboundName: String, outbound outboundName: String, messageSize: Int) throws {
    self.messageSize = messageSize
    inbound = cipcb_mq_open(inboundName, O_RDONLY, 0, 0, 0)
    try check(min(inbound, 0), "mq_open", inboundName)
    outbound = cipcb_mq_open(outboundName, O_WRONLY, 0, 0, 0)
    try check(min(outbound, 0), "mq_open", outboundName)
  }

  deinit {
    if inbound >= 0 { _ = cipcb_mq_close(inbound) }
    if outbound >= 0 { _ = cipcb_mq_close(outbound) }
  }

  func ping(rounds: Int, size: Int) throws {
    try check(
      cipcb_mq_ping(inbound, outbound, rounds, size, messageSize), "cipcb_mq_ping", "benchmark queues")
  }

  func pong(rounds: Int, size: Int) throws {
    try check(cipcb_mq_pong(inbound, outbound, rounds, messageSize), "cipcb_mq_pong", "benchmark queues")
  }

  func send(count: Int, size: Int) throws {
    try check(cipcb_mq_send(outbound, count, size), "cipcb_mq_send", "benchmark queue")
  }

  func receive(count: Int, size: Int) throws {
    try check(cipcb_mq_receive(inbound, count, messageSize), "cipcb_mq_receive", "benchmark queue")
  }
}

/// The Swift side of the POSIX message queue rows, through `POSIX.MessageQueue`:
/// the same loops as `cipcb_mq_*` in posix_mq.c, priority 0, buffers made once
/// before the clock starts, messages received in place.
final class SwiftPOSIXQueueLoops: MessageLoops {
  private let inbound: POSIX.MessageQueue
  private let outbound: POSIX.MessageQueue
  private let received: UnsafeMutableRawBufferPointer
  private let sent: UnsafeMutableRawBufferPointer

  /// Opens `inbound` to receive from and `outbound` to send to, before the
  /// clock starts; the receive buffer holds `messageSize` bytes (mq_msgsize).
  init(inbound: String, outbound: String, messageSize: Int) throws {
    self.inbound = try POSIX.MessageQueue.open(inbound, access: .readOnly)
    self.outbound = try POSIX.MessageQueue.open(outbound, access: .writeOnly)
    received = .allocate(byteCount: messageSize, alignment: 8)
    sent = .allocate(byteCount: messageSize, alignment: 8)
  }

  deinit {
    received.deallocate()
    sent.deallocate()
  }

  func ping(rounds: Int, size: Int) throws {
    sent.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "p"))
    let message = UnsafeRawBufferPointer(rebasing: sent[0..<size])
    for _ in 0..<rounds {
      try outbound.send(message)
      _ = try inbound.receive(into: received)
    }
  }

  func pong(rounds: Int, size: Int) throws {
    for _ in 0..<rounds {
      let count = try inbound.receive(into: received).count
      try outbound.send(UnsafeRawBufferPointer(rebasing: received[0..<count]))
    }
  }

  func send(count: Int, size: Int) throws {
    sent.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "s"))
    let message = UnsafeRawBufferPointer(rebasing: sent[0..<size])
    for _ in 0..<count { try outbound.send(message) }
  }

  func receive(count: Int, size: Int) throws {
    for _ in 0..<count { _ = try inbound.receive(into: received) }
  }

  // The async forms: a message already there (or room for one) is taken
  // without a hop; an empty queue suspends the task on the library's poll thread.
  func asyncPing(rounds: Int, size: Int) async throws {
    sent.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "p"))
    let message = UnsafeRawBufferPointer(rebasing: sent[0..<size])
    for _ in 0..<rounds {
      try await outbound.send(message)
      _ = try await inbound.receive(into: received)
    }
  }

  func asyncReceive(count: Int, size: Int) async throws {
    for _ in 0..<count { _ = try await inbound.receive(into: received) }
  }
}
