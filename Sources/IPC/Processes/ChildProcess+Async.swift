extension ChildProcess {
  /// Suspends until the child ends, reaps it, and returns how it ended; the
  /// async form of ``wait()``, which no thread of Swift's cooperative pool
  /// blocks for.
  ///
  /// The library's poll thread watches the pidfd (one pending call costs one
  /// poll entry, no thread); each time it is readable,
  /// `waitid(P_PIDFD, ..., WEXITED | WNOHANG)` checks again. Without a pidfd
  /// (before Linux 5.3) the task checks every 2 ms, sleeping in between.
  ///
  /// - Throws: `.cancelled` when the awaiting task is cancelled, checked
  ///   before the first check too (the child keeps running, or stays
  ///   unreaped, and can be waited for again); the errors of ``wait()``.
  public func wait() async throws(IPCError) -> ExitStatus {
    guard let status = try await awaitExit(until: nil) else {
      // Only a deadline ends the wait without a status, and there is none.
      throw IPCError(code: .wouldBlock, operation: "waitid", object: description)
    }
    return status
  }

  /// Suspends up to `timeout` (on the monotonic clock) until the child ends;
  /// the async form of ``wait(timeout:)``, waiting as ``wait()-2e9dt`` (async) does.
  ///
  /// - Returns: how it ended (it is reaped), or nil if it is still running;
  ///   it keeps running. A zero or negative timeout only checks.
  /// - Throws: as ``wait()-2e9dt`` (async).
  public func wait(timeout: Duration) async throws(IPCError) -> ExitStatus? {
    try await awaitExit(until: MonotonicDeadline(after: timeout))
  }

  /// Checks for the child's end until it has ended or `deadline` passed.
  private func awaitExit(until deadline: MonotonicDeadline?) async throws(IPCError) -> ExitStatus? {
    if pidfd >= 0 {
      return try await Readiness.awaiting(
        deadline?.timeLeft, cancelled: cancelledError(), descriptor: { pidfd },
        events: Readiness.readable
      ) { () throws(IPCError) in try tryWait() }
    }
    // No pidfd to poll: check again shortly, never blocking a pool thread.
    while true {
      guard !Task.isCancelled else { throw cancelledError() }
      if let status = try tryWait() { return status }
      let pause = deadline.map { min($0.timeLeft, Self.fallbackInterval) } ?? Self.fallbackInterval
      if pause <= .zero { return nil }
      do { try await Task.sleep(for: pause) } catch { throw cancelledError() }
    }
  }
}
