import CIPCBench
import Glibc
import IPC

/// The `signal round trip` row: a real-time signal with a value each way,
/// no kernel object. The parent sends `toChild` with `sigqueue` (Swift:
/// `UnixSignal.send(to:value:)`) and reads `toParent` from a signalfd
/// (Swift: `SignalReceiver.wait()`); the child the other way round. Both
/// signals are blocked at the top of ipc-bench's main, in the parent and in
/// every child, before any thread starts.
final class SignalFixture: Fixture {
  /// The parent's signal to the child, and the child's answer.
  static var toChild: UnixSignal { get throws(IPCError) { try .realTime(6) } }
  static var toParent: UnixSignal { get throws(IPCError) { try .realTime(7) } }

  /// Blocks both signals in this process: call before any thread starts.
  static func blockSignals() throws(IPCError) {
    try SignalReceiver.blockInProcess([toChild, toParent])
  }

  /// The child's pid, known once it runs: the parent's target.
  private var child: pid_t = 0

  init(size: Int) throws {}

  var childArguments: [String] { [] }

  func childRunning(as pid: pid_t) { child = pid }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    try Self.loops(impl, receiving: Self.toParent, sending: Self.toChild, peer: child)
  }

  /// The parent blocked in its read takes a value it never sent, which fails its loop.
  func childFailed() -> Bool {
    guard let signal = try? Self.toParent else { return false }
    return (try? signal.send(to: getpid(), value: -1)) != nil
  }

  func remove() {}

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    try loops(impl, receiving: toChild, sending: toParent, peer: getppid())
  }

  private static func loops(_ impl: Implementation, receiving: UnixSignal, sending: UnixSignal, peer: pid_t)
    throws -> any MessageLoops
  {
    switch impl {
    case .c: try CSignalLoops(receiving: receiving, sending: sending, peer: peer)
    case .swift: try SwiftSignalLoops(receiving: receiving, sending: sending, peer: peer)
    }
  }
}

/// The plain C baseline (signal.c): sigqueue, then a blocking read of the signalfd.
final class CSignalLoops: SignalLoops {
  private let fd: Int32
  private let sending: Int32
  private let peer: pid_t

  init(receiving: UnixSignal, sending: UnixSignal, peer: pid_t) throws {
    fd = try descriptor(cipcb_signal_open(receiving.rawValue), "signalfd", receiving.name)
    self.sending = sending.rawValue
    self.peer = peer
  }

  deinit { _ = cipcb_signal_close(fd) }

  func ping(rounds: Int, size: Int) throws {
    try check(cipcb_signal_ping(fd, peer, sending, rounds), "cipcb_signal_ping", "process \(peer)")
  }

  func pong(rounds: Int, size: Int) throws {
    try check(cipcb_signal_pong(fd, peer, sending, rounds), "cipcb_signal_pong", "process \(peer)")
  }
}

/// The Swift side, through `UnixSignal` and `SignalReceiver`: the same loops.
struct SwiftSignalLoops: SignalLoops {
  private let receiver: SignalReceiver
  private let sending: UnixSignal
  private let peer: pid_t

  init(receiving: UnixSignal, sending: UnixSignal, peer: pid_t) throws {
    receiver = try SignalReceiver([receiving])
    self.sending = sending
    self.peer = peer
  }

  func ping(rounds: Int, size: Int) throws {
    for round in 0..<rounds {
      let value = Int32(truncatingIfNeeded: round)
      try sending.send(to: peer, value: value)
      guard try receiver.wait().value == value else { throw BenchFailure("signal: a value out of turn") }
    }
  }

  func pong(rounds: Int, size: Int) throws {
    for _ in 0..<rounds {
      try sending.send(to: peer, value: try receiver.wait().value ?? 0)
    }
  }
}
