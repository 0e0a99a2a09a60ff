import Glibc

/// Waiting for a descriptor to become readable or writable with a timeout on
/// the monotonic clock, for the timed forms of calls on descriptors (POSIX
/// queues and pipes are descriptors on Linux).
enum Readiness {
  /// `poll` events.
  static let readable = Int16(POLLIN)
  static let writable = Int16(POLLOUT)

  /// Calls `attempt` (a non-blocking try) until it returns a value or
  /// `timeout` has passed, waiting in `poll` for `events` on `descriptor`
  /// between tries; nil on expiry. Always attempts at least once.
  ///
  /// The deadline is on the monotonic clock and each wait asks only for the
  /// time left, so a wall-clock jump changes nothing and a signal (EINTR)
  /// neither ends the wait early nor restarts the full timeout.
  static func until<T>(
    _ timeout: Duration, descriptor: Int32, events: Int16,
    _ attempt: () throws(IPCError) -> T?
  ) throws(IPCError) -> T? {
    try until(timeout, waitingWith: { wait(descriptor: descriptor, events: events, for: $0) }, attempt)
  }

  /// The same loop with any way of waiting between tries: `pause` is given
  /// the time left and may return early (the deadline is checked again).
  static func until<T>(
    _ timeout: Duration, waitingWith pause: (Duration) -> Void, _ attempt: () throws(IPCError) -> T?
  ) throws(IPCError) -> T? {
    let deadline = MonotonicDeadline(after: timeout)
    while true {
      if let value = try attempt() { return value }
      let left = deadline.timeLeft
      if left <= .zero { return nil }
      pause(left)
    }
  }

  /// One `poll` for at most `duration` (rounded up to a millisecond). Its
  /// outcome does not matter: the caller tries again and re-checks its deadline,
  /// and a closed descriptor makes the next try fail with a clear error.
  static func wait(descriptor: Int32, events: Int16, for duration: Duration) {
    var entry = pollfd(fd: descriptor, events: events, revents: 0)
    #if DEBUG
      // An injected interrupt ends the wait at once, as a real signal would.
      if InterruptInjection.consume(.poll) { return }
    #endif
    _ = poll(&entry, 1, duration.pollMilliseconds)
  }
}

extension Readiness {
  /// The async form of ``until(_:descriptor:events:_:)``: calls `attempt` (a
  /// non-blocking try) until it returns a value, suspending between tries
  /// until `descriptor()` is ready for `events` (the library's poll thread
  /// watches it; no pool thread blocks). A value already there is taken on
  /// the caller's thread, with no hop.
  ///
  /// - Parameters:
  ///   - timeout: nil waits as long as it takes; a value returns nil once it
  ///     has passed on the monotonic clock (after at least one try).
  ///   - descriptor: read before each wait, so a closed owner fails clearly.
  /// - Throws: `cancelled` when the task is cancelled before a try succeeds
  ///   (checked before the first try too, so a cancelled task consumes
  ///   nothing); the errors of `attempt`.
  static func awaiting<T>(
    _ timeout: Duration?, cancelled: @autoclosure () -> IPCError,
    descriptor: () throws(IPCError) -> Int32, events: Int16,
    _ attempt: () throws(IPCError) -> T?
  ) async throws(IPCError) -> T? {
    let deadline = timeout.map(MonotonicDeadline.init(after:))
    while true {
      guard !Task.isCancelled else { throw cancelled() }
      if let value = try attempt() { return value }
      // Only now: a value already there needs no poll thread (nor its pipe, at EMFILE).
      let waiter = try DescriptorWaiter.shared()
      switch await waiter.wait(for: try descriptor(), events: events, until: deadline) {
      case .ready: continue
      case .cancelled: throw cancelled()
      case .timedOut:
        guard !Task.isCancelled else { throw cancelled() }
        return try attempt()
      }
    }
  }
}
