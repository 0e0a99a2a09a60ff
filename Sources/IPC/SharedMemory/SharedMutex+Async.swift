extension SharedMutex {
  // A robust mutex belongs to the thread that locked it, and a task may
  // resume on another thread after any await: so the async forms never hand
  // a held lock to the task. Each runs the whole critical section (lock,
  // repair, wait, body, unlock) on one of the library's waiting threads,
  // while the task is suspended. No signal interrupts a mutex or condition
  // wait, so they wait in slices of at most `slice` and check for
  // cancellation between them.

  /// The longest a waiting thread waits in one call before it checks whether
  /// its task was cancelled: how late a cancellation may be noticed.
  static let slice: Duration = .milliseconds(5)

  /// Takes the mutex, runs `body` holding it and unlocks, all on one of the
  /// library's waiting threads, while the task is suspended; the async form
  /// of ``withLock(recover:_:)``, with the same recovery.
  ///
  /// If the previous holder died holding the mutex, `recover` runs first to
  /// repair the data, then the mutex is marked consistent
  /// (`pthread_mutex_consistent`) and `body` runs; if `recover` throws, the
  /// mutex is unlocked unrepaired and becomes unusable for every process
  /// (`ENOTRECOVERABLE`). The corresponding C calls are
  /// `pthread_mutex_clocklock` on `CLOCK_MONOTONIC`, in slices of at most
  /// 5 ms, and `pthread_mutex_unlock`. It waits on one of the library's
  /// waiting threads: one pending call holds one thread.
  ///
  /// Keep `body` short and free of waits: it runs on that thread (a
  /// 512 KiB stack) with the mutex held. Once it has started it runs to its end and its result is
  /// returned, even if the task is cancelled meanwhile (a blocking library
  /// call inside it would then end with `.cancelled`).
  ///
  /// - Returns: what `body` returned.
  /// - Throws: `.cancelled` if the task is cancelled before `body` starts
  ///   (the mutex is then not held: never taken, or given back; `body` did
  ///   not run); the ``IPCError`` of locking (`.notRecoverable`,
  ///   `.badDescriptor` for a closed region); what `recover` or `body` throw.
  public func withLock<R: Sendable>(
    recover: @escaping @Sendable () throws -> Void, _ body: @escaping @Sendable () throws -> R
  ) async throws -> R {
    guard
      let result = try await onWaitingThread(
        deadline: nil, recover: recover, { () throws -> R? in try body() })
    else { throw neverTimedOut() }
    return result
  }

  /// ``withLock(recover:_:)-3603g`` (async), giving up if the mutex stays held for
  /// `timeout` (on the monotonic clock): nil then, and `body` did not run.
  ///
  /// - Throws: as ``withLock(recover:_:)-3603g`` (async).
  public func withLock<R: Sendable>(
    timeout: Duration, recover: @escaping @Sendable () throws -> Void,
    _ body: @escaping @Sendable () throws -> R
  ) async throws -> R? {
    try await onWaitingThread(deadline: MonotonicDeadline(after: timeout), recover: recover) {
      () throws -> R? in
      try body()
    }
  }

  /// Takes the mutex, waits on `condition` until `predicate` holds, runs
  /// `body` and unlocks, all on one of the library's waiting threads, while
  /// the task is suspended: the async form of the loop
  /// `while !predicate() { condition.wait(mutex) }` under ``withLock(recover:_:)-d4mn``.
  ///
  ///     let value = try await mutex.withLock(
  ///       waitingOn: ready, until: { try region.load(Int32.self, at: 128) != 0 }, recover: {}
  ///     ) { try region.load(Int32.self, at: 128) }
  ///
  /// `predicate` and `body` run with the mutex held; `predicate` runs first
  /// at once, then after every wake (a signal, a broadcast, a spurious wake
  /// or the end of a slice), so a signaller must change the shared state
  /// under the mutex before it signals, as for any condition. A holder that
  /// dies holding the mutex during the wait is repaired as on locking:
  /// `recover`, then `pthread_mutex_consistent`, and the wait goes on.
  ///
  /// The corresponding C calls are `pthread_mutex_clocklock` and
  /// `pthread_cond_timedwait` (on `CLOCK_MONOTONIC`), each for at most 5 ms
  /// before checking for cancellation, and `pthread_mutex_unlock`. One
  /// pending call holds one waiting thread. After each slice of
  /// `pthread_cond_timedwait`, the thread takes the mutex back without a
  /// time limit, as that call does: a holder that keeps the mutex delays a
  /// cancellation until it lets go.
  ///
  /// - Returns: what `body` returned.
  /// - Throws: `.cancelled` if the task is cancelled before `body` starts
  ///   (the mutex is given back; `body` did not run); as
  ///   ``withLock(recover:_:)-3603g`` (async); what `predicate` throws (the mutex
  ///   is given back).
  public func withLock<R: Sendable>(
    waitingOn condition: SharedCondition, until predicate: @escaping @Sendable () throws -> Bool,
    recover: @escaping @Sendable () throws -> Void, _ body: @escaping @Sendable () throws -> R
  ) async throws -> R {
    guard
      let result = try await onWaitingThread(
        deadline: nil, recover: recover,
        { () throws -> R? in
          guard try waitInSlices(on: condition, until: predicate, deadline: nil, recover: recover) else {
            return nil
          }
          return try body()
        })
    else { throw neverTimedOut() }
    return result
  }

  /// ``withLock(waitingOn:until:recover:_:)`` (async), giving up once
  /// `timeout` (on the monotonic clock) has passed, whether the mutex stayed
  /// held or `predicate` stayed false: nil then, with the mutex given back
  /// and `body` not run.
  ///
  /// - Throws: as ``withLock(waitingOn:until:recover:_:)`` (async).
  public func withLock<R: Sendable>(
    waitingOn condition: SharedCondition, until predicate: @escaping @Sendable () throws -> Bool,
    timeout: Duration, recover: @escaping @Sendable () throws -> Void,
    _ body: @escaping @Sendable () throws -> R
  ) async throws -> R? {
    let deadline = MonotonicDeadline(after: timeout)
    return try await onWaitingThread(deadline: deadline, recover: recover) { () throws -> R? in
      guard try waitInSlices(on: condition, until: predicate, deadline: deadline, recover: recover) else {
        return nil
      }
      return try body()
    }
  }

  // MARK: On the waiting thread

  /// Runs the critical section on a waiting thread: takes the mutex in
  /// slices until `deadline` (nil: none), repairs it after an owner's death,
  /// checks for cancellation once more, runs `section`, unlocks. Nil if the
  /// deadline passed first (or `section` returned nil).
  private func onWaitingThread<R: Sendable>(
    deadline: MonotonicDeadline?, recover: @escaping @Sendable () throws -> Void,
    _ section: @escaping @Sendable () throws -> R?
  ) async throws -> R? {
    let cancelled = IPCError.cancelled("pthread_mutex_clocklock", object: description)
    guard !Task.isCancelled else { throw cancelled }
    // Locking and cancellation fail the job itself; what runs under the lock
    // (any error type) comes back as a Result.
    let outcome: Result<R?, any Error>
    do throws(IPCError) {
      outcome = try await WaitThreads.run { () throws(IPCError) -> Result<R?, any Error> in
        guard let state = try lockInSlices(until: deadline) else { return .success(nil) }
        return Result {
          try runThenUnlock(unlock) {
            if state == .ownerDied { try repair(recover) }
            // A cancellation that came while the mutex was being taken: give it back unused.
            if WaitJob.currentIsCancelled { throw cancelled }
            return try section()
          }
        }
      }
    } catch {
      throw error.code == .cancelled ? cancelled : error
    }
    return try outcome.get()
  }

  /// Takes the mutex with `pthread_mutex_clocklock` in slices of at most
  /// ``slice``, until `deadline` (nil if it passes first).
  private func lockInSlices(until deadline: MonotonicDeadline?) throws(IPCError) -> LockResult? {
    while true {
      if WaitJob.currentIsCancelled {
        throw IPCError.cancelled("pthread_mutex_clocklock", object: description)
      }
      let wait = deadline.map { min($0.timeLeft, Self.slice) } ?? Self.slice
      if let taken = try lock(timeout: wait) { return taken }
      if let deadline, deadline.timeLeft <= .zero { return nil }
    }
  }

  /// With the mutex held: waits on `condition` in slices until `predicate`
  /// holds (true) or `deadline` passes (false), repairing the mutex if a
  /// holder dies meanwhile. Throws `.cancelled` if the task is cancelled.
  private func waitInSlices(
    on condition: SharedCondition, until predicate: () throws -> Bool, deadline: MonotonicDeadline?,
    recover: () throws -> Void
  ) throws -> Bool {
    while try !predicate() {
      if WaitJob.currentIsCancelled {
        throw IPCError.cancelled("pthread_cond_timedwait", object: condition.description)
      }
      let wait = deadline.map { min($0.timeLeft, Self.slice) } ?? Self.slice
      if wait <= .zero { return false }
      let waited = Result { () throws(IPCError) in try condition.wait(self, timeout: wait) }
      if case .failure(let error) = waited {
        guard error.code == .ownerDied, error.object == description else { throw error }
        // The wait took the mutex back from a holder that died: repair, go on.
        try repair(recover)
      }
    }
    return true
  }

  /// Runs `recover`, then marks the mutex consistent; the caller unlocks.
  private func repair(_ recover: () throws -> Void) throws {
    try recover()
    try markConsistent()
  }

  /// What an untimed call reports if it ever came back without a result (it
  /// does not: only a deadline ends one early).
  private func neverTimedOut() -> IPCError {
    IPCError(code: .timedOut, operation: "pthread_mutex_clocklock", object: description)
  }
}
