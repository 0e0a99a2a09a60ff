import CIPCBench
import Glibc
import IPC
import IPCToolSupport

/// Runs one measurement: a fresh queue, a child process for the peer's part,
/// a handshake outside the timed region, then the parent's timed part.
enum Runner {
  /// Message types used for the handshake, never by the measured loops.
  static let readyType = 99
  static let goType = 98

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

  /// Nanoseconds per operation of `row` with `impl`, and the child's exit status.
  static func measure(_ row: Row, _ impl: Implementation, iterations: Int, pinning: Options.Pinning)
    throws -> (nanoseconds: Double, childStatus: Int32)
  {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    let cpus = cpus(pinning)
    if let cpus { _ = cipcb_pin_to_cpu(cpus.parent) }
    let child = try ChildProcess(arguments: [
      "--child", row.name, "--impl", impl.rawValue, "--id", "\(queue.id)",
      "--count", "\(iterations)", "--cpu", "\(cpus?.child ?? -1)",
    ])
    // If the child fails, removing the queue wakes the parent's loop with
    // EIDRM instead of leaving it blocked forever.
    let watchdog = Watchdog(child: child, queue: queue)
    guard try queue.receive(.type(readyType), timeout: .seconds(30)) != nil else {
      watchdog.abandon()
      throw BenchFailure("\(row.name): the \(impl.rawValue) child never became ready")
    }
    if row.kind == .throughput { try queue.send([UInt8](), type: goType) }
    let start = cipcb_now_ns()
    do {
      try row.parent(impl, queue, iterations, row.size)
    } catch {
      watchdog.abandon()
      throw BenchFailure("\(row.name) (\(impl.rawValue)): \(error); child: \(watchdog.status)")
    }
    let elapsed = cipcb_now_ns() - start
    let status = watchdog.waitForChild()
    return (Double(elapsed) / Double(iterations), status)
  }

  /// The child's side, run by `ipc-bench --child NAME ...`.
  static func runChild(_ arguments: [String]) -> Int32 {
    var values: [String: String] = [:]
    var rest = arguments[...]
    while let key = rest.popFirst(), let value = rest.popFirst() { values[key] = value }
    guard let name = values["--child"], let row = Rows.all.first(where: { $0.name == name }),
      let impl = values["--impl"].flatMap(Implementation.init(rawValue:)),
      let id = values["--id"].flatMap({ Int32($0) }), let count = values["--count"].flatMap({ Int($0) }),
      let cpu = values["--cpu"].flatMap({ Int32($0) })
    else {
      Report.progress("ipc-bench child: bad arguments \(arguments)")
      return 2
    }
    if cpu >= 0 { _ = cipcb_pin_to_cpu(cpu) }
    do {
      let queue = try SystemV.MessageQueue.open(id: id)
      try queue.send([UInt8](), type: readyType)
      if row.kind == .throughput { _ = try queue.receive(.type(goType)) }
      try row.child(impl, queue, count, row.size)
      return 0
    } catch {
      Report.progress("ipc-bench child (\(name), \(impl.rawValue)): \(error)")
      return 1
    }
  }
}

/// Waits for the child on a thread of its own and removes the queue if the
/// child fails while the parent is still measuring.
final class Watchdog: @unchecked Sendable {
  private let child: ChildProcess
  private let queue: SystemV.MessageQueue
  private var mutex = pthread_mutex_t()
  private var condition = pthread_cond_t()
  private var exitStatus: Int32?
  private var thread = pthread_t()

  init(child: ChildProcess, queue: SystemV.MessageQueue) {
    self.child = child
    self.queue = queue
    pthread_mutex_init(&mutex, nil)
    pthread_cond_init(&condition, nil)
    let context = Unmanaged.passRetained(self).toOpaque()
    pthread_create(
      &thread, nil,
      { context in
        let watchdog = Unmanaged<Watchdog>.fromOpaque(context!).takeRetainedValue()
        watchdog.watch()
        return nil
      }, context)
  }

  private func watch() {
    let status = child.wait()
    if status != 0 { try? queue.remove() }
    pthread_mutex_lock(&mutex)
    exitStatus = status
    pthread_cond_broadcast(&condition)
    pthread_mutex_unlock(&mutex)
  }

  /// The child's exit status, waiting for it to end.
  func waitForChild() -> Int32 {
    pthread_mutex_lock(&mutex)
    while exitStatus == nil { pthread_cond_wait(&condition, &mutex) }
    let status = exitStatus!
    pthread_mutex_unlock(&mutex)
    pthread_join(thread, nil)
    return status
  }

  /// Ends the child (the measurement failed) and reaps it.
  func abandon() {
    kill(child.pid, SIGKILL)
    _ = waitForChild()
  }

  /// The child's exit status so far, for error messages.
  var status: String {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return exitStatus.map { "exit \($0)" } ?? "running"
  }
}

/// A copy of this executable running the peer's part, started with posix_spawn.
struct ChildProcess: Sendable {
  let pid: pid_t

  init(arguments: [String]) throws {
    switch SelfProcess.spawn(arguments) {
    case .success(let pid): self.pid = pid
    case .failure(let error): throw BenchFailure("posix_spawn: \(error)")
    }
  }

  /// Waits for the child; its exit status, or 128 + signal if a signal ended it.
  func wait() -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 {
      if errno != EINTR { return -1 }
    }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }
}
