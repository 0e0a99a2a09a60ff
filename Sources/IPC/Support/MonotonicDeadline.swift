import Glibc

/// The absolute `CLOCK_MONOTONIC` time `timeout` from now, for calls that take
/// a deadline rather than a duration (`pthread_mutex_clocklock`,
/// `pthread_cond_timedwait` on a monotonic condition): a signal or a retry
/// then never restarts the full timeout, and setting the clock changes nothing.
/// A negative timeout is now; a huge one is saturated years ahead.
func monotonicDeadline(after timeout: Duration) -> timespec {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  let (seconds, attoseconds) = timeout.asWait.components
  let nanoseconds = now.tv_nsec + Int(attoseconds / 1_000_000_000)
  // Years ahead is as good as forever, and keeps tv_sec from overflowing.
  let wholeSeconds = min(seconds, 1 << 40) + Int64(nanoseconds / 1_000_000_000)
  return timespec(tv_sec: now.tv_sec + Int(wholeSeconds), tv_nsec: nanoseconds % 1_000_000_000)
}

extension Duration {
  /// The longest wait the toolkit keeps track of: 68 years, forever for any
  /// process. Anything longer is taken as this.
  static let longestWait: Duration = .seconds(Int64(Int32.max))

  /// This duration as a wait: at least zero, at most ``longestWait``, so
  /// turning it into a deadline or `components` can never overflow, however
  /// large a timeout a caller passes.
  var asWait: Duration { Swift.min(Swift.max(self, .zero), Self.longestWait) }
}
