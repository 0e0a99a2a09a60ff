extension POSIX.Semaphore {
  /// P: waits until the value is above zero, then takes one, suspending the
  /// task instead of blocking its thread.
  ///
  /// The corresponding C functions are `sem_trywait` on the caller's thread
  /// (no hop when the value is above zero), then `sem_wait` on one of the
  /// library's waiting threads (one pending call holds one thread).
  /// Cancelling the task interrupts that `sem_wait` (EINTR), which then takes
  /// nothing; a `sem_wait` that succeeded as the task was cancelled is
  /// returned as done.
  ///
  /// - Throws: `.cancelled` if the task is cancelled first, with the value
  ///   unchanged; `.badDescriptor` if this object was closed.
  public func wait() async throws(IPCError) {
    try await WaitThreads.attempt(
      cancelled: .cancelled("sem_wait", object: description),
      { () throws(IPCError) -> Void? in try tryWait() ? () : nil },
      orWait: { () throws(IPCError) in try self.wait() })
  }

  /// P, waiting at most `timeout`; returns false, with the value unchanged,
  /// if the timeout expired. The task is suspended, not its thread.
  ///
  /// The corresponding C functions are `sem_trywait` on the caller's thread,
  /// then `sem_clockwait` with `CLOCK_MONOTONIC` on one of the library's
  /// waiting threads (one pending call holds one thread), with the deadline
  /// taken when this call began. A zero or negative timeout tries once, with
  /// no hop.
  ///
  /// - Throws: `.cancelled` if the task is cancelled first, with the value
  ///   unchanged; `.badDescriptor` if this object was closed.
  public func wait(timeout: Duration) async throws(IPCError) -> Bool {
    let deadline = MonotonicDeadline(after: timeout)
    return try await WaitThreads.attempt(
      cancelled: .cancelled("sem_clockwait", object: description),
      { () throws(IPCError) -> Bool? in
        if try tryWait() { return true }
        return deadline.timeLeft <= .zero ? false : nil
      },
      orWait: { () throws(IPCError) in try self.wait(timeout: deadline.timeLeft) })
  }
}
