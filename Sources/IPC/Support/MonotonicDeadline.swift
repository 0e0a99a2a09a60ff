import Glibc

/// A point on `CLOCK_MONOTONIC`, the one clock every timeout in the library is
/// measured on (the clock `SuspendingClock` reads on Linux): setting the wall
/// clock changes nothing, and a wait retried after a signal asks only for the
/// time left, never the full timeout again.
///
/// Kept as a plain `Duration` since the clock's zero: a `SuspendingClock.Instant`
/// is resilient, and carrying one made every timed P and V fetch type metadata
/// and copy through value witnesses (about 180 instructions per call).
struct MonotonicDeadline: Comparable, Sendable {
  /// The time from `CLOCK_MONOTONIC`'s zero to this point.
  let sinceZero: Duration

  /// `CLOCK_MONOTONIC` now (`clock_gettime`).
  static var now: MonotonicDeadline {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return MonotonicDeadline(sinceZero: .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec))
  }

  private init(sinceZero: Duration) { self.sinceZero = sinceZero }

  /// `timeout` from now: a negative timeout is now, a huge one is
  /// ``Swift/Duration/longestWait`` ahead (as good as forever, and no overflow).
  init(after timeout: Duration) {
    self.init(sinceZero: Self.now.sinceZero + timeout.asWait)
  }

  /// The time left until this point; zero once it has passed.
  var timeLeft: Duration { Swift.max(sinceZero - Self.now.sinceZero, .zero) }

  /// The absolute time, for calls that take a deadline rather than a duration
  /// (`pthread_mutex_clocklock`, `sem_clockwait`, `pthread_cond_timedwait` on
  /// a monotonic condition).
  var absoluteTimespec: timespec {
    let (seconds, attoseconds) = sinceZero.components
    return timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
  }

  static func < (lhs: MonotonicDeadline, rhs: MonotonicDeadline) -> Bool {
    lhs.sinceZero < rhs.sinceZero
  }
}

extension Duration {
  /// The longest wait the toolkit keeps track of: 68 years, forever for any
  /// process. Anything longer is taken as this.
  static let longestWait: Duration = .seconds(Int64(Int32.max))

  /// This duration as a wait: at least zero, at most ``longestWait``, so
  /// turning it into a deadline or `components` can never overflow, however
  /// large a timeout a caller passes.
  var asWait: Duration { Swift.min(Swift.max(self, .zero), Self.longestWait) }

  /// This duration (taken as a wait) as a relative `timespec`, for `nanosleep`
  /// and `semtimedop`.
  var asTimespec: timespec {
    let (seconds, attoseconds) = asWait.components
    return timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
  }

  /// This duration (taken as a wait) in whole milliseconds, rounded up so a
  /// wait never ends early, and capped at `poll`'s longest (~24 days): a
  /// caller that waits longer loops and waits again.
  var pollMilliseconds: Int32 {
    let (seconds, attoseconds) = asWait.components
    let whole = seconds >= Int64(Int32.max / 1000) ? Int64(Int32.max) : seconds * 1000
    return Int32(clamping: whole + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
  }
}
