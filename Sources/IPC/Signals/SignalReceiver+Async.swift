extension SignalReceiver {
  // Each form tries a non-blocking read first (a signal already pending is
  // taken on the caller's thread, with no hop), then waits for the signalfd
  // on the library's poll thread: one poll entry, no thread.

  /// Takes the next signal, suspending the task until one arrives; the async
  /// form of ``wait()-441pc``.
  ///
  /// The corresponding C call is `read` on the non-blocking signalfd, tried
  /// at once and again each time `poll` finds it readable.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before a signal is
  ///   taken (none is consumed); `.badDescriptor` if the receiver is closed,
  ///   also while the call waits.
  public func wait() async throws(IPCError) -> ReceivedSignal {
    guard let received = try await awaitingSignal(nil) else {
      throw IPCError(code: .timedOut, operation: "read", object: description, reason: "no timeout was set")
    }
    return received
  }

  /// Takes the next signal, waiting at most `timeout` on the monotonic clock;
  /// nil, with nothing consumed, if none arrived in time. The async form of
  /// ``wait(timeout:)-9g3mn``.
  ///
  /// - Throws: as ``wait()-3ryj0`` (async).
  public func wait(timeout: Duration) async throws(IPCError) -> ReceivedSignal? {
    try await awaitingSignal(timeout)
  }

  /// The async wait for a readable signalfd, with `tryWait` as the attempt.
  func awaitingSignal(_ timeout: Duration?) async throws(IPCError) -> ReceivedSignal? {
    try await Readiness.awaiting(
      timeout,
      cancelled: IPCError(
        code: .cancelled, operation: "read", object: description,
        reason: "the waiting task was cancelled; no signal was taken"),
      descriptor: { () throws(IPCError) in try liveReadiness(for: "read") },
      events: Readiness.readable
    ) { () throws(IPCError) in try tryWait() }
  }
}
