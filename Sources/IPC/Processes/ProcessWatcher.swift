import Glibc
import Synchronization

/// The library's one thread for processes: it watches the children of
/// supervisors (and reaps them the moment they end), reaps children whose
/// handles were released while they ran, runs the supervisors' timers (the
/// grace period before SIGKILL) and receives the termination signals that
/// ``TerminationSignals`` forwards. It waits in `poll` on the children's
/// pidfds and on one pipe; children without a pidfd are checked every 10 ms.
final class ProcessWatcher: Sendable {
  /// What happens when a watched child has been reaped.
  typealias ExitHandler = @Sendable (Result<ChildProcess.ExitStatus, IPCError>) -> Void

  private struct Watched {
    var child: ChildProcess
    var onExit: ExitHandler
  }

  private struct Orphan {
    var pid: pid_t
    var pidfd: Int32
    var lifeline: Int32
  }

  private struct Timer {
    var deadline: MonotonicDeadline
    var action: @Sendable () -> Void
  }

  private struct State {
    var watched: [ObjectIdentifier: Watched] = [:]
    var orphans: [Orphan] = []
    var timers: [Timer] = []
  }

  private let state = Mutex(State())
  /// The wake pipe: a 0 byte wakes the thread to look at its state again; any
  /// other byte is a signal's number, written by the handler in CShims.
  private let wakeReader: Int32
  let wakeWriter: Int32

  private static let instance = Mutex<ProcessWatcher?>(nil)
  private static let fallbackInterval: Duration = .milliseconds(10)

  /// The process-wide watcher, started on first use.
  ///
  /// - Throws: when its pipe or thread cannot be made (descriptor or thread
  ///   limit); the next call tries again.
  static func shared() throws(IPCError) -> ProcessWatcher {
    try LibraryThread.shared(instance, name: "ipc-processes", what: "the process watcher") {
      ProcessWatcher(reader: $0, writer: $1)
    } run: {
      $0.run()
    }
  }

  private init(reader: Int32, writer: Int32) {
    wakeReader = reader
    wakeWriter = writer
  }

  /// Reaps `child` when it ends and calls `onExit` (on the watcher's thread).
  func watch(_ child: ChildProcess, onExit: @escaping ExitHandler) {
    state.withLock { $0.watched[ObjectIdentifier(child)] = Watched(child: child, onExit: onExit) }
    wake()
  }

  /// Calls `action` on the watcher's thread once `delay` has passed.
  func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) {
    let deadline = MonotonicDeadline(after: delay)
    state.withLock { $0.timers.append(Timer(deadline: deadline, action: action)) }
    wake()
  }

  /// Takes over a running child whose handle was released: it is reaped when
  /// it ends, and its lifeline (which keeps it alive) closed only then.
  static func adoptOrphan(pid: pid_t, pidfd: Int32, lifeline: Int32) {
    guard let watcher = try? shared() else {
      // No watcher (descriptor or thread limit): the child is left to be
      // reaped at this process's end; closing its lifeline now would end it.
      if pidfd >= 0 { _ = close(pidfd) }
      return
    }
    watcher.state.withLock { $0.orphans.append(Orphan(pid: pid, pidfd: pidfd, lifeline: lifeline)) }
    watcher.wake()
  }

  private func wake() {
    var byte: UInt8 = 0
    _ = write(wakeWriter, &byte, 1)  // a full pipe already holds a wake-up
  }

  private func run() -> Never {
    var held = 0
    while true {
      let (entries, timeout) = pollSet()
      var polled = entries
      if poll(&polled, nfds_t(polled.count), timeout) < 0 && errno != EINTR {
        // More children than RLIMIT_NOFILE lets one poll watch (EINVAL), or no
        // memory: look at every child anyway, but not in a busy loop.
        for index in polled.indices { polled[index].revents = 0 }
        usleep(10_000)
      }
      var signals: [Int32] = []
      if polled[0].revents != 0 {
        var bytes = [UInt8](repeating: 0, count: 64)
        while true {
          let count = read(wakeReader, &bytes, bytes.count)
          guard count > 0 else { break }
          signals += bytes[0..<count].filter { $0 != 0 }.map { Int32($0) }
        }
      }
      // Signals first: a Ctrl-C that also killed the children must stop the
      // group as a signal, before their ends are counted as failures.
      for signal in signals { TerminationSignals.received(signal) }
      // A terminal's Ctrl-C reaches this process and its children at once;
      // the kernel signals every one of them before any can die of it. So a
      // child's end seen now may come with a signal still pending here,
      // whose handler has not run yet: let it run first (briefly: a program
      // that blocks the signal everywhere must not stop the reaping).
      if TerminationSignals.isPending() && held < 100 {
        held += 1
        usleep(1_000)
        continue
      }
      held = 0
      reapEnded()
      fireTimers()
    }
  }

  /// The descriptors to poll (the wake pipe first) and how long to wait.
  private func pollSet() -> ([pollfd], Int32) {
    state.withLock { state in
      var entries = [pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0)]
      var fallback = false
      for descriptor in state.watched.values.map(\.child.pidfd) + state.orphans.map(\.pidfd) {
        if descriptor >= 0 {
          entries.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0))
        } else {
          fallback = true
        }
      }
      var wait: Duration? = fallback ? Self.fallbackInterval : nil
      if let next = state.timers.map(\.deadline).min() {
        let left = next.timeLeft
        wait = min(wait ?? left, left)
      }
      guard let wait else { return (entries, -1) }
      return (entries, min(wait, .seconds(86_400)).pollMilliseconds)
    }
  }

  /// Reaps every watched child and orphan that has ended. Cheap for the
  /// others: one `waitid(WNOHANG)` each.
  private func reapEnded() {
    let watched = state.withLock { Array($0.watched.values) }
    for entry in watched {
      let result: Result<ChildProcess.ExitStatus, IPCError>
      do throws(IPCError) {
        guard let status = try entry.child.tryWait() else { continue }
        result = .success(status)
      } catch {
        result = .failure(error)
      }
      state.withLock { _ = $0.watched.removeValue(forKey: ObjectIdentifier(entry.child)) }
      entry.onExit(result)
    }
    state.withLock { state in
      state.orphans.removeAll { orphan in
        var info = siginfo_t()
        let result = ChildProcess.waitWithoutBlocking(pid: orphan.pid, pidfd: orphan.pidfd, &info)
        guard result == -1 || info._sifields._sigchld.si_pid != 0 else { return false }
        if orphan.pidfd >= 0 { _ = close(orphan.pidfd) }
        if orphan.lifeline >= 0 { _ = close(orphan.lifeline) }
        return true
      }
    }
  }

  private func fireTimers() {
    let now = MonotonicDeadline.now
    let due = state.withLock { state -> [Timer] in
      let due = state.timers.filter { $0.deadline <= now }
      state.timers.removeAll { $0.deadline <= now }
      return due
    }
    for timer in due { timer.action() }
  }
}
