import CIPCShims
import Glibc

extension SignalReceiver {
  /// Blocks `signals` in the calling thread, which every thread it starts
  /// afterwards inherits, and installs the library's handler for them: call
  /// it at the top of `main`, before any thread or task starts.
  ///
  /// Blocking is per thread, and a signal sent to the process goes to any one
  /// thread that does not block it. A blocked signal waits, pending, until a
  /// ``SignalReceiver`` reads it. Two kinds of thread may still not block it:
  /// threads started before this call, and, in a program with an `async`
  /// `main` (or top-level `await`), the main thread itself, which libdispatch
  /// parks in `sigsuspend` with *every* signal unblocked once `main` first
  /// suspends. A signal that reaches such a thread runs the library's
  /// handler, which writes it, with its sender and value, to a buffer the
  /// receivers read first (up to 8192 per signal; past that they are lost and
  /// the next receive says how many), so it neither kills the process nor is
  /// lost. A handler the program had for these signals is replaced.
  ///
  /// The corresponding C calls are `pthread_sigmask(SIG_BLOCK)` and
  /// `sigaction` (an `SA_SIGINFO` handler writing to a pipe).
  ///
  /// - Throws: `.invalidArgument`, before anything changes, for an empty set,
  ///   `SIGKILL`, `SIGSTOP` or `SIGRTMAX` (see ``init(_:)``).
  public static func blockInProcess(_ signals: some Sequence<UnixSignal>) throws(IPCError) {
    let wanted = Array(Set(signals)).sorted()
    let object = describe(wanted)
    try checkReceivable(wanted, operation: "pthread_sigmask", object: object)
    _ = try openBuffers(wanted, object: object)
    var mask = mask(of: wanted)
    let status = pthread_sigmask(SIG_BLOCK, &mask, nil)
    guard status == 0 else {
      throw IPCError(code: IPCError.Code(rawValue: status), operation: "pthread_sigmask", object: object)
    }
  }

  /// Rejects what no receiver can take, before anything changes.
  static func checkReceivable(_ signals: [UnixSignal], operation: String, object: String) throws(IPCError) {
    guard !signals.isEmpty else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: object, reason: "give at least one signal")
    }
    if let uncatchable = signals.first(where: { !$0.canBeCaught }) {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: object,
        reason: "\(uncatchable.name) cannot be caught, blocked or received; no process can wait for it")
    }
    let wake = cipc_wake_signal()
    if signals.contains(where: { $0.rawValue == wake }) {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: object,
        reason: "\(SignalNames.name(wake)) is reserved: the library wakes its waiting threads with it to"
          + " cancel a wait; use SIGRTMIN+0 to \(SignalNames.name(wake - 1))")
    }
  }
}
