import Foundation
import IPC
import Testing

/// Signals between real processes: values queue in order, standard signals
/// coalesce, a child is signalled through its pidfd, children start with
/// nothing blocked, async waits cancel without consuming.
@Suite("Signals between processes")
struct SignalProcessTests {
  @Test func tenThousandRealTimeSignalsArriveOnceAndInOrder() throws {
    let signal = try UnixSignal.realTime(2)
    let peer = try startPeer("signal-count", arguments: ["10000", signal.name])
    #expect(peer.output.waitFor("ready", timeout: .seconds(30)))
    #expect(waitUntilBlocking(peer.child.pid, [signal]))
    for value: Int32 in 0..<10_000 { try sendQueued(signal, to: peer.child.pid, value: value) }
    #expect(try peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
    let lines = peer.output.text.split(separator: "\n").dropFirst()
    #expect(lines.count == 10_000)
    let me = getpid()
    let expected = (0..<10_000).map { "\(signal.name) \($0) \(me) \(getuid()) sigqueue" }
    #expect(lines.map(String.init) == expected)
  }

  /// Sent twice before it is read, a standard signal arrives once; a
  /// real-time one twice with both values; the lower number comes first.
  @Test func standardSignalsCoalesceRealTimeOnesQueue() throws {
    let realTime = try UnixSignal.realTime(1)
    let peer = try startPeer("signal-drain", arguments: ["USR1", realTime.name])
    #expect(peer.output.waitFor("ready", timeout: .seconds(30)))
    let pid = peer.child.pid
    try realTime.send(to: pid, value: 7)
    try UnixSignal.user1.send(to: pid)
    try UnixSignal.user1.send(to: pid, value: 5)
    try realTime.send(to: pid, value: 8)
    try UnixSignal.realTime(5).send(to: pid)
    #expect(try peer.child.wait(timeout: .seconds(30)) == .exited(0), "\(peer.errors.text)")
    let me = getpid()
    let uid = getuid()
    #expect(
      peer.output.text.split(separator: "\n").map(String.init) == [
        "ready", "SIGUSR1 - \(me) \(uid) kill", "\(realTime.name) 7 \(me) \(uid) sigqueue",
        "\(realTime.name) 8 \(me) \(uid) sigqueue", "end",
      ])
  }

  @Test func aChildIsSignalledWithAValueThroughItsPidfd() throws {
    let signal = try UnixSignal.realTime(4)
    let peer = try startPeer("signal-count", arguments: ["2", signal.name])
    #expect(peer.output.waitFor("ready", timeout: .seconds(30)))
    try peer.child.send(signal, value: -42)
    try peer.child.send(signal)
    #expect(try peer.child.wait(timeout: .seconds(30)) == .exited(0), "\(peer.errors.text)")
    let me = getpid()
    #expect(
      peer.output.text.split(separator: "\n").dropFirst().map(String.init) == [
        "\(signal.name) -42 \(me) \(getuid()) sigqueue", "\(signal.name) - \(me) \(getuid()) kill",
      ])
    // Reaped: the pid may be another process's now, so nothing is sent.
    let error = #expect(throws: IPCError.self) { try peer.child.send(signal, value: 1) }
    #expect(error?.code == .noSuchProcess)
  }

  @Test func childrenStartWithNothingBlockedOrCaughtWhateverTheParentDoes() throws {
    let peer = try startPeer("signal-spawn-mask")
    #expect(try peer.child.wait(timeout: .seconds(30)) == .exited(0), "\(peer.errors.text)")
    let masks = peer.output.text.split(separator: "\n")
    let parent = masks.first { $0.hasPrefix("parent blocked=") }.flatMap {
      UInt64($0.dropFirst(15), radix: 16)
    }
    let child = masks.first { $0.hasPrefix("blocked=") }.flatMap {
      UInt64($0.dropFirst(8).prefix { $0 != " " }, radix: 16)
    }
    let wanted: UInt64 = 1 << UInt64(SIGUSR1 - 1) | 1 << UInt64(SIGTERM - 1)
    #expect(parent.map { $0 & wanted == wanted } == true, "\(peer.output.text)")
    // Signals 32 and 33 are glibc's own (see EntryPointTests).
    #expect(child.map { $0 & ~(0b11 << 31) } == 0, "\(peer.output.text)")
    // The parent's handler for them (the library's, for signals that reach a
    // thread not blocking them) is not inherited: the child has the defaults.
    let caught = masks.first { $0.hasPrefix("blocked=") }.flatMap { line in
      line.split(separator: " ").first { $0.hasPrefix("caught=") }.flatMap {
        UInt64($0.dropFirst(7), radix: 16)
      }
    }
    #expect(caught.map { $0 & wanted } == 0, "\(peer.output.text)")
  }

  @Test func asyncWaitsCancelWithoutConsumingAndTimeOut() throws {
    let peer = try startPeer("signal-async")
    #expect(try peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
    let name = try UnixSignal.realTime(3).name
    let pid = peer.child.pid
    let lines = peer.output.text.split(separator: "\n").map(String.init)
    #expect(
      lines == [
        "cancelled-before: cancelled", "kept: \(name) 1 \(pid) \(getuid()) sigqueue",
        "cancelled-while-waiting: cancelled", "kept: \(name) 2 \(pid) \(getuid()) sigqueue",
        "timeout: nil after true", "woken: got \(name) 6 \(pid) \(getuid()) sigqueue", "sequence: 3 4 5",
        "after close: error EBADF",
      ])
  }
}
