import Glibc

/// Signals an exit-test child has caught with ``catchWithoutRestart(_:)``:
/// each child catches one signal, so one count serves them all.
nonisolated(unsafe) var signalsCaught: sig_atomic_t = 0

/// Installs a handler for `signal` that only counts it in ``signalsCaught``,
/// without `SA_RESTART` (so a blocked call really fails with EINTR), and
/// unblocks `signal` on the calling thread (an exit test's body runs on a
/// runtime thread that may block it).
func catchWithoutRestart(_ signal: Int32 = SIGUSR1) {
  var action = sigaction()
  action.__sigaction_handler.sa_handler = { _ in signalsCaught += 1 }
  sigemptyset(&action.sa_mask)
  action.sa_flags = 0
  sigaction(signal, &action, nil)
  var unblock = sigset_t()
  sigemptyset(&unblock)
  sigaddset(&unblock, signal)
  pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
}
