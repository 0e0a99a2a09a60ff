import CIPCShims
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

/// The process and thread in a child's "PID TID" announcement.
func announcedThread(_ text: String) throws -> (pid: pid_t, tid: pid_t) {
  let ids = text.split(separator: " ").compactMap { pid_t($0) }
  guard ids.count == 2 else { throw SpawnFailure(message: "bad announcement") }
  return (ids[0], ids[1])
}

/// Twice sends SIGUSR1 to thread `tid` of `pid` once it is blocked in one of the
/// kernel functions `functions`; whether it was blocked there before each
/// signal and after the last (all true when the interrupted call went back to waiting).
func signalTwiceWhileBlocked(_ thread: (pid: pid_t, tid: pid_t), inAnyOf functions: Set<String>) -> [Bool] {
  var blocked: [Bool] = []
  for _ in 0..<2 {
    blocked.append(SpawnedProcess.waitUntilBlocked(pid: thread.pid, inAnyOf: functions))
    cipc_tgkill(thread.pid, thread.tid, SIGUSR1)
    usleep(20_000)
  }
  blocked.append(SpawnedProcess.waitUntilBlocked(pid: thread.pid, inAnyOf: functions))
  return blocked
}
