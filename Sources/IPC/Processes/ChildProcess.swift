import CIPCShims
import Glibc
import Synchronization

/// A child process this process started, and the way to wait for it and
/// signal it: Python's `multiprocessing.Process`, typed and race-free.
///
///     let child = try ChildProcess.start(executable: "sleep", arguments: ["1"])
///     let status = try child.wait()            // .exited(0)
///
/// A child is started with ``start(entryPoint:handing:arguments:environment:workingDirectory:standardInput:standardOutput:standardError:descriptors:diesWithParent:newProcessGroup:executable:in:)``
/// (a function of this program, run in a fresh copy of it) or
/// ``start(executable:arguments:environment:workingDirectory:standardInput:standardOutput:standardError:descriptors:newProcessGroup:in:)``
/// (any program), always with `posix_spawn`, never `fork`. It starts with
/// an empty signal mask and default signal dispositions, and inherits only
/// its standard input, output and error and the descriptors handed to it.
///
/// **Race-free.** The handle holds a pidfd (`pidfd_open`), a descriptor that
/// names this process and no other: ``send(_:)`` goes through
/// `pidfd_send_signal`, so a signal can never reach another process that
/// was given the same pid, and once the child is reaped sending fails with
/// `.noSuchProcess`. Where the kernel has no pidfds (before Linux 5.3) the
/// pid is used while the child is known to be unreaped, which is just as
/// safe: a pid is not reused before its process is reaped.
///
/// **Waiting.** `wait()` blocks, ``tryWait()`` does not, ``wait(timeout:)-4ygqe``
/// waits up to a `Duration` on the monotonic clock, and `await wait()` and
/// `await wait(timeout:)` suspend without holding a thread of Swift's
/// cooperative pool (and end with `.cancelled` when their task is). Each form
/// reaps the child, so no zombie is left, and every later wait returns the
/// same status: a child is reaped exactly once, whichever thread asks.
/// A handle released while its child still runs hands the child to the
/// library's watcher thread, which reaps it when it ends.
public final class ChildProcess: Sendable, CustomStringConvertible {
  /// The child's process id.
  public let pid: pid_t
  /// The entry point it runs, or the executable's file name: how errors and
  /// a ``Supervisor``'s outcome name it.
  public let name: String
  /// The pidfd, or -1 where the kernel has none. Closed in `deinit`.
  let pidfd: Int32
  /// Whether the child leads a process group of its own (`newProcessGroup`):
  /// a supervisor then stops the whole group.
  let leadsGroup: Bool

  private struct State {
    /// Set once, when the child is reaped.
    var status: ExitStatus?
    /// The parent's end of the lifeline socket of a child that dies with
    /// this process, or -1; closed when the child is reaped.
    var lifeline: Int32
    /// The kernel reaped the child before it could be watched (SIGCHLD is
    /// ignored): its status is lost, and its pid may be another process's.
    var reapedElsewhere: Bool
  }

  private let state: Mutex<State>

  init(
    pid: pid_t, pidfd: Int32, name: String, lifeline: Int32, leadsGroup: Bool, reapedElsewhere: Bool = false
  ) {
    self.pid = pid
    self.pidfd = pidfd
    self.name = name
    self.leadsGroup = leadsGroup
    self.state = Mutex(State(status: nil, lifeline: lifeline, reapedElsewhere: reapedElsewhere))
  }

  deinit {
    let (reaped, lifeline) = state.withLock { ($0.status != nil || $0.reapedElsewhere, $0.lifeline) }
    if reaped {
      if pidfd >= 0 { _ = Glibc.close(pidfd) }
      if lifeline >= 0 { _ = Glibc.close(lifeline) }
    } else {
      // Still running (or an unreaped zombie): the watcher reaps it later, and
      // keeps the lifeline open until then, so it does not die of the release.
      ProcessWatcher.adoptOrphan(pid: pid, pidfd: pidfd, lifeline: lifeline)
    }
  }

  /// `sender (pid 4242)`.
  public var description: String { "\(name) (pid \(pid))" }

  // MARK: Waiting

  /// Waits until the child ends, reaps it, and returns how it ended.
  ///
  /// Waiting again, from any thread, returns the same status. A signal that
  /// interrupts the wait (EINTR) does not end it. The corresponding C calls
  /// are `poll` on the pidfd and `waitid(P_PIDFD, ..., WEXITED | WNOHANG)`.
  ///
  /// - Throws: `.noChild` if something else reaped the child (a
  ///   `waitpid(-1, ...)` elsewhere in the program, or `SIGCHLD` set to
  ///   `SIG_IGN`, which makes the kernel reap children at once).
  public func wait() throws(IPCError) -> ExitStatus {
    while true {
      if let status = try tryWait() { return status }
      waitForExit(upTo: .seconds(86_400))
    }
  }

  /// Waits up to `timeout` (on the monotonic clock) for the child to end.
  ///
  /// - Returns: how it ended, or nil if it is still running; it keeps running.
  ///   A zero or negative timeout only checks.
  public func wait(timeout: Duration) throws(IPCError) -> ExitStatus? {
    try Readiness.until(timeout, waitingWith: waitForExit(upTo:)) { () throws(IPCError) in try tryWait() }
  }

  /// How the child ended if it has, reaping it; nil (at once) while it runs.
  ///
  /// The corresponding C call is `waitid(P_PIDFD, pidfd, &info, WEXITED | WNOHANG)`.
  public func tryWait() throws(IPCError) -> ExitStatus? {
    try state.withLock { (state) throws(IPCError) -> ExitStatus? in
      if let status = state.status { return status }
      if state.reapedElsewhere { throw lostError(reapedByKernel: true) }
      guard let status = try reapIfEnded() else { return nil }
      state.status = status
      if state.lifeline >= 0 {
        _ = Glibc.close(state.lifeline)
        state.lifeline = -1
      }
      return status
    }
  }

  /// Whether the child is still running (Python's `is_alive()`); reaps it if it has ended.
  /// False also when its status is lost (see `wait()`).
  public var isRunning: Bool {
    do { return try tryWait() == nil } catch { return false }
  }

  /// How the child ended, if it has (Python's `exitcode`); nil while it runs
  /// or if its status is lost. Like Python's, asking reaps a child that has ended.
  public var exitStatus: ExitStatus? {
    do { return try tryWait() } catch { return nil }
  }

  /// How often a child without a pidfd is checked while something waits for it.
  static let fallbackInterval: Duration = .milliseconds(2)

  /// One wait for the child to end, at most `duration`: `poll` on the pidfd,
  /// or a short sleep without one. The caller checks again either way.
  private func waitForExit(upTo duration: Duration) {
    if pidfd >= 0 {
      Readiness.wait(descriptor: pidfd, events: Readiness.readable, for: duration)
    } else {
      var pause = min(duration, Self.fallbackInterval).asTimespec
      _ = nanosleep(&pause, nil)  // an interruption only means an earlier check
    }
  }

  /// `waitid(..., WEXITED | WNOHANG)`: the status if the child has ended (it is
  /// then reaped), nil if it runs. Called with the state locked, so exactly
  /// one caller reaps it.
  private func reapIfEnded() throws(IPCError) -> ExitStatus? {
    var info = siginfo_t()
    let result = once { Self.waitWithoutBlocking(pid: pid, pidfd: pidfd, &info) }
    if case .failure(let code) = result {
      guard code == .noChild else { throw IPCError(code: code, operation: "waitid", object: description) }
      throw lostError(reapedByKernel: Self.childrenAreReapedByTheKernel())
    }
    guard info._sifields._sigchld.si_pid != 0 else { return nil }
    let value = info._sifields._sigchld.si_status
    switch Int(info.si_code) {
    case Int(CLD_EXITED): return .exited(value)
    case Int(CLD_DUMPED): return .signalled(value, coreDumped: true)
    default: return .signalled(value, coreDumped: false)
    }
  }

  /// Whether `waitid` takes a pidfd (`P_PIDFD`, Linux 5.4; 5.3 has pidfds without it).
  private static let pidfdWaits = Atomic<Bool>(true)

  /// `waitid(..., WEXITED | WNOHANG)` for the child with `pid` and `pidfd`:
  /// through the pidfd, which cannot reap a stranger that reused the pid,
  /// or by pid where the kernel takes no pidfd here (safe too: the caller
  /// has not reaped it, so its pid is not reused). -1 and errno on failure.
  static func waitWithoutBlocking(pid: pid_t, pidfd: Int32, _ info: inout siginfo_t) -> Int32 {
    if pidfd >= 0 && pidfdWaits.load(ordering: .relaxed) {
      let result = waitid(idtype_t(rawValue: 3), id_t(pidfd), &info, WEXITED | WNOHANG)  // P_PIDFD
      guard result == -1 && errno == EINVAL else { return result }
      pidfdWaits.store(false, ordering: .relaxed)
    }
    return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG)
  }

  private func lostError(reapedByKernel: Bool) -> IPCError {
    IPCError(
      code: .noChild, operation: "waitid", object: description,
      reason: reapedByKernel
        ? "SIGCHLD is ignored in this process (SIG_IGN or SA_NOCLDWAIT): the kernel reaped the child the"
          + " moment it ended, and its exit status is lost"
        : "the child was reaped by something else (a waitpid(-1) elsewhere in this program), so its exit"
          + " status is lost")
  }

  func cancelledError() -> IPCError {
    IPCError(
      code: .cancelled, operation: "wait", object: description,
      reason: "the waiting task was cancelled; the child keeps running and can be waited for again")
  }

  /// Tells a child that dies with this process to remove `objects` when it
  /// does (a no-op for other children, and once it has ended).
  func tellLifeline(_ objects: [Inheritance]) {
    state.withLock { state in
      guard state.lifeline >= 0 else { return }
      try? Lifeline.register(objects, on: state.lifeline)
    }
  }

  // MARK: Signals

  /// Sends `signal` to the child.
  ///
  /// Sent through the pidfd, so it reaches this child and never a process
  /// that reused its pid. A child that has ended but is not reaped yet takes
  /// the signal without effect. The corresponding C call is
  /// `pidfd_send_signal(pidfd, signal, NULL, 0)` (`kill` without a pidfd).
  ///
  /// - Throws: `.noSuchProcess` once the child has been reaped (the error
  ///   says how it ended); `.invalidArgument` for a number that is no signal.
  public func send(_ signal: Int32) throws(IPCError) {
    guard SignalNames.isValid(signal) else {
      throw IPCError(
        code: .invalidArgument, operation: pidfd >= 0 ? "pidfd_send_signal" : "kill", object: description,
        reason: "\(signal) is not a signal number (1 to \(SignalNames.realTime.upperBound))")
    }
    try send(UnixSignal(unchecked: signal), value: nil)
  }

  /// Sends `signal` to the child, queued with `value` when one is given (as
  /// ``UnixSignal/send(to:value:)`` does, but through the pidfd, so it never
  /// reaches a process that reused the child's pid).
  ///
  /// A real-time signal with a value queues and arrives in order with it; the
  /// child reads it with a ``SignalReceiver``. The corresponding C call is
  /// `pidfd_send_signal(pidfd, signal, info, 0)` with `info` filled as
  /// `sigqueue` fills it (`SI_QUEUE`, this pid and uid, the value), or
  /// `kill`/`sigqueue` without a pidfd.
  ///
  /// - Throws: `.noSuchProcess` once the child has been reaped (the error
  ///   says how it ended); `.wouldBlock` if the child's queue of pending
  ///   signals is full (`RLIMIT_SIGPENDING`).
  public func send(_ signal: UnixSignal, value: Int32? = nil) throws(IPCError) {
    let operation =
      pidfd >= 0 ? "pidfd_send_signal" : value == nil ? "kill" : "sigqueue"
    // Locked: the child cannot be reaped (and its pid reused) meanwhile.
    try state.withLock { (state) throws(IPCError) -> Void in
      if state.reapedElsewhere {
        throw IPCError(
          code: .noSuchProcess, operation: operation, object: description,
          reason: "the kernel reaped the child already (SIGCHLD is ignored in this process), so its pid may"
            + " be another process's; \(signal.name) was not sent")
      }
      if let status = state.status {
        throw IPCError(
          code: .noSuchProcess, operation: operation, object: description,
          reason: "the child has ended (\(status)) and been reaped; \(signal.name) was not sent")
      }
      if case .failure(let code) = once({ deliver(signal.rawValue, value: value) }) {
        throw signal.sendError(code, operation: operation, target: description, pid: pid)
      }
    }
  }

  /// For a supervisor stopping its group: `signal` to the child, and to its
  /// whole process group if it leads one, so its own children stop too. The
  /// group id is safe to use while the leader is not reaped (it cannot be
  /// reused), which the lock guarantees.
  func stop(with signal: Int32) {
    state.withLock { state in
      guard state.status == nil, !state.reapedElsewhere else { return }
      if leadsGroup && Glibc.kill(-pid, signal) == 0 { return }
      _ = deliver(signal, value: nil)
    }
  }

  /// `signal` (queued with `value` if there is one) to this child alone:
  /// through the pidfd, or by pid without one. Called with the state locked
  /// and the child not reaped. -1 and errno on failure.
  private func deliver(_ signal: Int32, value: Int32?) -> Int32 {
    switch (pidfd >= 0, value) {
    case (true, nil): cipc_pidfd_send_signal(pidfd, signal)
    case (true, let value?): cipc_pidfd_sigqueue(pidfd, signal, value)
    case (false, nil): Glibc.kill(pid, signal)
    case (false, let value?): cipc_sigqueue(pid, signal, value)
    }
  }

  /// Asks the child to end: sends `SIGTERM` (Python's `terminate()`).
  public func terminate() throws(IPCError) { try send(SIGTERM) }

  /// Ends the child at once: sends `SIGKILL`, which it cannot catch (Python's `kill()`).
  public func kill() throws(IPCError) { try send(SIGKILL) }
}
