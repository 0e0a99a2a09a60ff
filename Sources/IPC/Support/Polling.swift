import Glibc

/// Retries a non-blocking attempt until it succeeds or a timeout expires, for
/// kernel calls that have no timed form (System V `msgsnd`/`msgrcv`).
enum Polling {
  /// Shortest and longest pause between attempts: short enough that a message
  /// is seen soon after it arrives, long enough not to spin a core.
  static let firstPause: Duration = .microseconds(50)
  static let longestPause: Duration = .milliseconds(5)

  /// Calls `attempt` until it returns a value or `timeout` has passed on the
  /// monotonic clock; returns nil on expiry. Always attempts at least once.
  static func until<T>(_ timeout: Duration, _ attempt: () throws(IPCError) -> T?)
    throws(IPCError) -> T?
  {
    let deadline = MonotonicDeadline(after: timeout)
    var pause = firstPause
    while true {
      if let value = try attempt() { return value }
      if WaitJob.currentIsCancelled { throw WaitJob.cancelledError }
      let left = deadline.timeLeft
      if left <= .zero { return nil }
      sleep(min(pause, left))
      pause = min(pause * 2, longestPause)
    }
  }

  /// Sleeps for `duration`; an interrupting signal just ends the pause early,
  /// since the caller re-checks its deadline.
  private static func sleep(_ duration: Duration) {
    var request = duration.asTimespec
    _ = nanosleep(&request, nil)
  }
}
