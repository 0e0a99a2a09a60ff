import CIPCBench
import Glibc
import IPC

/// Runs one measurement: fresh kernel objects, a child process for the peer's
/// part (started with `ChildProcess.start(entryPoint:)`), a handshake outside
/// the timed region, then the parent's timed part.
enum Runner {
  /// CPUs this process may use, read before the first pinning narrows the set.
  static let cpuCount = Int(cipcb_cpu_count())

  /// The CPUs for parent and child, or nil for no pinning.
  static func cpus(_ pinning: Options.Pinning) -> (parent: Int32, child: Int32)? {
    switch pinning {
    case .split: (0, cpuCount > 1 ? 1 : 0)
    case .same: (0, 0)
    case .none: nil
    }
  }

  /// The entry point a peer runs in its child process (see `main.swift`).
  static let childEntryPoint = "bench-child"

  /// Nanoseconds per operation of `row` in `column` (for an idle row, the
  /// figure its pattern reports), and the exit status of each child.
  static func measure(_ row: Row, _ column: Column, iterations: Int, pinning: Options.Pinning)
    throws -> (nanoseconds: Double, childStatuses: [Int32])
  {
    let impl = column.implementation
    // A row without a fixture has no peer: this process measures it alone.
    guard let fixtureType = row.fixture else {
      let spawned = try SpawnBench.measure(impl, iterations: iterations, pinning: pinning)
      return (spawned.nanoseconds, [spawned.childStatus])
    }
    let fixture = try fixtureType.init(size: row.size)
    defer { fixture.remove() }
    let cpus = cpus(pinning)
    if let cpus { _ = cipcb_pin_to_cpu(cpus.parent) }
    // Each peer's share of the messages; the parent's loop takes them all.
    let share = iterations / row.peers
    let count = share * row.peers
    var peers: [(control: ControlChannel, watchdog: Watchdog)] = []
    defer { for peer in peers.indices { cipcb_cleanup_set_child(Int32(peer), 0) } }
    let label = "\(row.name) (\(column.rawValue))"
    let loops: any MessageLoops
    do {
      for peer in 0..<row.peers {
        let control = try ControlChannel()
        // The library closes every other descriptor in the child: hand it all it needs.
        let handed = fixture.inherited + [(ChildDescriptor.control, control.childEnd)]
        let arguments = [
          "--row", row.name, "--impl", impl.rawValue, "--count", "\(share)", "--peer", "\(peer)",
          "--cpu", "\(cpus?.child ?? -1)",
        ]
        let child = try ChildProcess.start(
          entryPoint: childEntryPoint, arguments: arguments + fixture.childArguments,
          descriptors: Dictionary(handed.map { ($0.child, .fileDescriptor($0.parent)) }) { first, _ in first }
        )
        cipcb_cleanup_set_child(Int32(peer), child.pid)
        control.childStarted()
        fixture.childRunning(as: child.pid)
        peers.append((control, Watchdog(child: child, fixture: fixture, label: label)))
      }
      fixture.childStarted()
      for peer in peers { try peer.control.waitForReady(timeout: 30) }
      loops = try fixture.parentLoops(impl)
      for peer in peers { try peer.watchdog.arm() }
      for peer in peers { try peer.control.sendGo() }
    } catch {
      peers.forEach { $0.watchdog.abandon() }
      throw BenchFailure("\(label): before the start: \(error); \(status(of: peers.map(\.watchdog)))")
    }
    let start = cipcb_now_ns()
    let reported: Double?
    do {
      reported = try row.pattern.runParent(loops, column, count: count, size: row.size)
    } catch {
      peers.forEach { $0.watchdog.abandon() }
      throw BenchFailure("\(label): \(error); \(status(of: peers.map(\.watchdog)))")
    }
    let elapsed = Double(cipcb_now_ns() - start)
    let statuses = peers.map { $0.watchdog.waitForChild() }
    // The pauses a pattern makes on purpose are not the mechanism's time.
    let paused = row.pattern.pauseNanosecondsPerIteration * Double(count)
    return (reported ?? (elapsed - paused) / Double(count), statuses)
  }

  /// What the children are doing, for error messages.
  private static func status(of watchdogs: [Watchdog]) -> String {
    watchdogs.count == 1
      ? "child: \(watchdogs[0].status)" : "children: \(watchdogs.map(\.status).joined(separator: ", "))"
  }

  /// The child's side, the entry point `bench-child`: opens its side, says
  /// ready, waits for go, runs its part of the row. It dies with the parent
  /// (the library's lifeline), never blocked on an object nobody will touch
  /// again; a failure is printed by the library and ends it with status 1.
  static func runChild(_ context: ChildContext) throws {
    let values = try ChildArguments(context.arguments)
    let name = try values.string("--row")
    guard let row = Rows.all.first(where: { $0.name == name }), let fixtureType = row.fixture,
      let impl = Implementation(rawValue: try values.string("--impl"))
    else { throw BenchFailure("bad arguments \(context.arguments)") }
    let count = try values.integer("--count")
    let cpu = try values.integer("--cpu")
    // A hidden role's argument is still input: converted only if it fits.
    guard let cpuNumber = Int32(exactly: cpu) else { throw BenchFailure("child: --cpu \(cpu) is not a CPU") }
    if cpuNumber >= 0 { _ = cipcb_pin_to_cpu(cpuNumber) }
    // The library starts a child with default signal dispositions: ignore
    // SIGPIPE again, as the parent does, so that a vanished peer is EPIPE.
    signal(SIGPIPE, SIG_IGN)
    do {
      let loops = try fixtureType.childLoops(impl, values, size: row.size)
      try ControlChannel.childReady()
      try ControlChannel.childWaitForGo()
      try row.pattern.runChild(loops, count: count, size: row.size)
    } catch {
      throw BenchFailure("\(name), \(impl.rawValue): \(error)")
    }
  }
}

/// The ready/go handshake, on a socketpair of its own so that the timed loops
/// see nothing but their own messages: the child writes "R" once it has
/// opened its side, the parent answers "G" once it has opened its own. A
/// child that ends before it is ready closes its end: the parent reads
/// end-of-stream instead of waiting.
final class ControlChannel {
  private var parentEnd: Int32 = -1
  private(set) var childEnd: Int32 = -1

  init() throws {
    var ends: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    try check(socketpair(AF_UNIX, type, 0, &ends) == 0 ? 0 : -errno, "socketpair", "control channel")
    (parentEnd, childEnd) = (ends[0], ends[1])
  }

  deinit {
    closeDescriptor(&parentEnd)
    closeDescriptor(&childEnd)
  }

  func childStarted() { closeDescriptor(&childEnd) }

  /// Waits up to `timeout` seconds for the child's "R".
  func waitForReady(timeout seconds: Int) throws {
    let deadline = cipcb_now_ns() + Int64(seconds) * 1_000_000_000
    var poller = pollfd(fd: parentEnd, events: Int16(POLLIN), revents: 0)
    while true {
      let left = Int32(max(0, (deadline - cipcb_now_ns()) / 1_000_000))
      let ready = poll(&poller, 1, left)
      if ready > 0 { break }
      if ready == 0 { throw BenchFailure("the child was not ready within \(seconds) s") }
      if errno != EINTR { try check(-errno, "poll", "control channel") }
    }
    guard try Self.readByte(parentEnd) == UInt8(ascii: "R") else {
      throw BenchFailure("the child ended before it was ready")
    }
  }

  func sendGo() throws { try Self.writeByte(parentEnd, UInt8(ascii: "G")) }

  /// In the child: its side is open.
  static func childReady() throws { try writeByte(ChildDescriptor.control, UInt8(ascii: "R")) }

  /// In the child: waits until the parent has opened its side.
  static func childWaitForGo() throws {
    guard try readByte(ChildDescriptor.control) == UInt8(ascii: "G") else {
      throw BenchFailure("the parent ended the measurement before it started")
    }
  }

  /// One byte, or nil at end-of-stream.
  private static func readByte(_ fd: Int32) throws -> UInt8? {
    var byte: UInt8 = 0
    while true {
      let count = read(fd, &byte, 1)
      if count == 1 { return byte }
      if count == 0 { return nil }
      if errno != EINTR { try check(-errno, "read", "control channel") }
    }
  }

  private static func writeByte(_ fd: Int32, _ value: UInt8) throws {
    var byte = value
    while write(fd, &byte, 1) != 1 {
      if errno != EINTR { try check(-errno, "write", "control channel") }
    }
  }
}

/// Waits for the child on a thread of its own. Once armed (the parent is about
/// to start its timed loop), a child that fails makes the fixture wake the
/// parent's blocked call; where nothing can, it removes the objects and ends
/// the run.
final class Watchdog: @unchecked Sendable {
  private let child: ChildProcess
  private let fixture: any Fixture
  private let label: String
  private var mutex = pthread_mutex_t()
  private var condition = pthread_cond_t()
  private var exitStatus: Int32?
  private var armed = false
  private var thread = pthread_t()

  init(child: ChildProcess, fixture: any Fixture, label: String) {
    self.child = child
    self.fixture = fixture
    self.label = label
    pthread_mutex_init(&mutex, nil)
    pthread_cond_init(&condition, nil)
    let context = Unmanaged.passRetained(self).toOpaque()
    pthread_create(
      &thread, nil,
      { context in
        // SIGINT and friends are handled on the main thread only.
        cipcb_cleanup_block_signals()
        guard let context else { return nil }
        let watchdog = Unmanaged<Watchdog>.fromOpaque(context).takeRetainedValue()
        watchdog.watch()
        return nil
      }, context)
  }

  deinit {
    pthread_cond_destroy(&condition)
    pthread_mutex_destroy(&mutex)
  }

  private func watch() {
    // -1: the status is lost (something else reaped the child).
    let status = (try? child.wait())?.shellStatus ?? -1
    pthread_mutex_lock(&mutex)
    exitStatus = status
    let wake = armed && status != 0
    armed = false
    pthread_cond_broadcast(&condition)
    pthread_mutex_unlock(&mutex)
    if wake && !fixture.childFailed() {
      Report.progress(
        "ipc-bench: \(label): the child failed (exit \(status)) while this process waits in a call"
          + " nothing can interrupt; its objects are removed, the run ends")
      _exit(1)
    }
  }

  /// From now on a failing child wakes the parent. Throws if it already failed.
  func arm() throws {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    if let exitStatus, exitStatus != 0 { throw BenchFailure("the child failed with exit \(exitStatus)") }
    armed = exitStatus == nil
  }

  /// The child's exit status (as a shell reports it: 128 + signal for a
  /// signal), waiting for it to end.
  func waitForChild() -> Int32 {
    pthread_mutex_lock(&mutex)
    armed = false
    while exitStatus == nil { pthread_cond_wait(&condition, &mutex) }
    let status = exitStatus ?? -1
    pthread_mutex_unlock(&mutex)
    pthread_join(thread, nil)
    return status
  }

  /// Ends the child (the measurement failed) and reaps it.
  func abandon() {
    pthread_mutex_lock(&mutex)
    armed = false
    pthread_mutex_unlock(&mutex)
    try? child.kill()  // fails only if it has ended already
    _ = waitForChild()
  }

  /// The child's exit status so far, for error messages.
  var status: String {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return exitStatus.map { "exit \($0)" } ?? "running"
  }
}
