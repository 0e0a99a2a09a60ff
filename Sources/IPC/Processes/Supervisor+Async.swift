extension Supervisor {
  /// Suspends until every child has ended and the registered objects are
  /// removed, and returns how the group ended; the async form of ``wait()``,
  /// which holds no thread of Swift's cooperative pool (the task resumes
  /// when the watcher thread publishes the outcome).
  ///
  /// - Throws: `.cancelled` when the task is cancelled, checked first too:
  ///   the group goes on, and a cancelled call does not mark it as waited for.
  public func wait() async throws(IPCError) -> Outcome {
    guard !Task.isCancelled else { throw cancelledError() }
    core.waitedFor()
    guard let outcome = await core.outcome.wait() else { throw cancelledError() }
    return outcome
  }

  /// Suspends up to `timeout` (monotonic clock) for the group to end; the
  /// async form of ``wait(timeout:)``, holding no thread.
  ///
  /// - Returns: the outcome, or nil if children still run; the group goes
  ///   on, and can be waited for again.
  /// - Throws: as ``wait()-34ein`` (async).
  public func wait(timeout: Duration) async throws(IPCError) -> Outcome? {
    guard !Task.isCancelled else { throw cancelledError() }
    core.waitedFor()
    switch await core.outcome.wait(timeout: timeout) {
    case .arrived(let outcome): return outcome
    case .timedOut: return nil
    case .cancelled: throw cancelledError()
    }
  }

  private func cancelledError() -> IPCError {
    IPCError(
      code: .cancelled, operation: "wait", object: "supervisor",
      reason: "the waiting task was cancelled; the children keep running")
  }
}
