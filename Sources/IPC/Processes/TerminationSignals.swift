import CIPCShims
import Glibc
import Synchronization

/// SIGINT, SIGTERM and SIGHUP while supervisors run: the handler (in CShims)
/// only writes the signal's number to the watcher's pipe; the watcher thread
/// then stops every registered supervisor, and once all have finished (their
/// children ended, their objects removed) the process ends by that same
/// signal if any of them asked for it, so its own parent sees how it ended.
///
/// A signal is taken over only while its disposition is the default: an
/// ignored signal stays ignored (as under `nohup`), a handler of the program's
/// stays in place. The previous dispositions return when the last
/// supervisor has finished.
enum TerminationSignals {
  static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP]

  private struct State {
    var supervisors: [ObjectIdentifier: SupervisorCore] = [:]
    var previous: [Int32: sigaction] = [:]
    /// The first signal received while supervisors ran, and whether one of
    /// them asked for the process to end by it.
    var pending: Int32?
    var exits = false
    /// Objects being made and registered (``deferringSignals(_:)``), and the
    /// signals that arrived meanwhile.
    var deferring = 0
    var deferred: [Int32] = []
  }

  private static let state = Mutex(State())

  /// Starts forwarding the signals to `core` (installing the handler for
  /// the first supervisor).
  static func register(_ core: SupervisorCore, watcher: ProcessWatcher) throws(IPCError) {
    try state.withLock { (state) throws(IPCError) -> Void in
      if state.supervisors.isEmpty {
        for signal in handled {
          var current = sigaction()
          guard sigaction(signal, nil, &current) == 0 else { continue }
          let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
          guard current.sa_flags & SA_SIGINFO == 0, handler == 0 else { continue }  // 0 is SIG_DFL
          var previous = sigaction()
          if case .failure(let code) = once({ cipc_signal_forward(signal, watcher.wakeWriter, &previous) }) {
            restore(&state)
            throw IPCError(code: code, operation: "sigaction", object: SignalNames.name(signal))
          }
          state.previous[signal] = previous
        }
      }
      state.supervisors[ObjectIdentifier(core)] = core
    }
  }

  /// `core` has finished: stop forwarding to it. After the last one, the
  /// previous dispositions return, or the process ends by the signal that
  /// stopped them.
  static func unregister(_ core: SupervisorCore) {
    let exitSignal = state.withLock { state -> Int32? in
      guard state.supervisors.removeValue(forKey: ObjectIdentifier(core)) != nil,
        state.supervisors.isEmpty
      else { return nil }
      restore(&state)
      defer {
        state.pending = nil
        state.exits = false
      }
      return state.exits ? state.pending : nil
    }
    if let exitSignal { end(by: exitSignal) }
  }

  /// Runs `body` (making an object and registering it) with the stopping
  /// of supervisors held back: a signal meanwhile takes effect after it, so
  /// the object is registered, and removed, whenever the signal comes.
  static func deferringSignals<R>(_ body: () throws(IPCError) -> R) throws(IPCError) -> R {
    state.withLock { $0.deferring += 1 }
    let result = Result { () throws(IPCError) -> R in try body() }
    let held = state.withLock { state -> [Int32] in
      state.deferring -= 1
      guard state.deferring == 0 else { return [] }
      defer { state.deferred = [] }
      return state.deferred
    }
    for signal in held { received(signal) }
    return try result.get()
  }

  /// On the watcher's thread: a handled signal arrived.
  static func received(_ signal: Int32) {
    let supervisors = state.withLock { state -> [SupervisorCore]? in
      guard state.deferring == 0 else {
        state.deferred.append(signal)
        return []
      }
      // Caught just before the last supervisor finished: nobody wants it now.
      guard !state.supervisors.isEmpty else { return nil }
      if state.pending == nil { state.pending = signal }
      if state.supervisors.values.contains(where: { $0.signalPolicy == .stopAndExit }) { state.exits = true }
      return Array(state.supervisors.values)
    }
    guard let supervisors else {
      // Delivered again, to the disposition restored meanwhile (the default,
      // which ends the process, as the signal would have without us).
      kill(getpid(), signal)
      return
    }
    for supervisor in supervisors { supervisor.stop(signal: signal) }
  }

  /// Whether a handled signal was sent to this process and no thread has
  /// taken it yet (the library's threads block every signal, so on them
  /// `sigpending` shows the process's pending signals).
  static func isPending() -> Bool {
    var pending = sigset_t()
    guard sigpending(&pending) == 0 else { return false }
    return handled.contains { sigismember(&pending, $0) == 1 }
  }

  private static func restore(_ state: inout State) {
    // Only where the handler is still ours: one the program set meanwhile stays.
    for (signal, previous) in state.previous where cipc_signal_is_forwarded(signal) {
      var action = previous
      sigaction(signal, &action, nil)
    }
    state.previous = [:]
  }

  /// Ends the process as `signal` would have, had nothing caught it: a
  /// shell sees 128 + the signal's number, and a terminal's Ctrl-C ends the
  /// whole pipeline as it should.
  private static func end(by signal: Int32) -> Never {
    fflush(nil)
    var action = sigaction()
    action.__sigaction_handler.sa_handler = nil  // SIG_DFL
    sigemptyset(&action.sa_mask)
    sigaction(signal, &action, nil)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, signal)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
    raise(signal)
    _exit(128 + signal)
  }
}
