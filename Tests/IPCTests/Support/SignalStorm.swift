import CIPCShims
import Foundation

/// For an exit-test child: runs `timedWait` with a 300 ms timeout while the
/// calling thread gets SIGUSR1 every 10 ms for 1.5 s, and exits with a
/// distinct status unless it timed out on time. A wait that started over after
/// each signal would last until the signals stop; one that gave up on a signal
/// would end at once.
///
/// - Parameter timedWait: waits at most its argument; true if it got what it
///   waited for (which must not happen here).
func checkTimedWaitKeepsItsDeadlineUnderSignals(_ timedWait: (Duration) throws -> Bool) throws {
  alarm(60)
  catchWithoutRestart()
  let (pid, tid) = (getpid(), cipc_gettid())
  let signaller = Thread {
    for _ in 0..<150 {
      cipc_tgkill(pid, tid, SIGUSR1)
      usleep(10_000)
    }
  }
  signaller.start()
  let clock = SuspendingClock()
  let start = clock.now
  let got = try timedWait(.milliseconds(300))
  let waited = clock.now - start
  guard !got else { exit(3) }
  guard waited >= .milliseconds(300) else { exit(4) }
  guard waited < .milliseconds(1_200) else { exit(5) }
  guard signalsCaught >= 3 else { exit(6) }
}
