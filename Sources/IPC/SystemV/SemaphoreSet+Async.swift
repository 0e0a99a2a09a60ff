extension SystemV.SemaphoreSet {
  // Each async form first runs its operation with `IPC_NOWAIT` on the
  // caller's thread (no hop when it can be done now), then the blocking
  // `semop`/`semtimedop` on one of the library's waiting threads, never on a
  // thread of the cooperative pool. Cancelling the task sends that thread the
  // wake signal: the call fails with EINTR having changed nothing, and the
  // form throws `.cancelled`. An operation the kernel completed as the task was
  // cancelled is returned as done, never undone or lost.
  //
  // `SEM_UNDO` adjustments belong to the process: its threads share one undo
  // list (glibc starts threads with `CLONE_SYSVSEM`), so an `undo: true`
  // operation done on a waiting thread is reversed when the process exits,
  // exactly as when the caller's thread does it.

  // MARK: P

  /// P: waits until semaphore `index` is at least `amount`, then takes
  /// `amount` from it, suspending the task instead of blocking its thread.
  ///
  /// The corresponding C call is `semop` with `sem_op = -amount`: first with
  /// `IPC_NOWAIT` on the caller's thread, then, if it would block, without it
  /// on one of the library's waiting threads (one pending call holds one thread).
  ///
  /// With `undo: true` the kernel gives `amount` back when this process
  /// exits, as with the blocking form: undo adjustments belong to the
  /// process, which its waiting threads share.
  ///
  /// - Parameters:
  ///   - index: the semaphore, from 0 to ``count`` - 1.
  ///   - amount: 1 to 32767 (SEMVMX).
  ///   - undo: whether the kernel gives `amount` back when this process
  ///     exits, even killed (`SEM_UNDO`).
  /// - Throws: `.cancelled` if the task is cancelled first, with the value
  ///   unchanged; `.removed` if the set is removed while waiting;
  ///   `.invalidArgument` for an index outside the set, checked before the call.
  public func wait(_ index: Int = 0, by amount: Int = 1, undo: Bool = false) async throws(IPCError) {
    try await WaitThreads.attempt(
      cancelled: .cancelled("semop", object: description),
      { () throws(IPCError) -> Void? in try tryWait(index, by: amount, undo: undo) ? () : nil },
      orWait: { () throws(IPCError) in try self.wait(index, by: amount, undo: undo) })
  }

  /// P, waiting at most `timeout` on the monotonic clock; returns false, with
  /// the value unchanged, if the timeout expired. The task is suspended, not
  /// its thread.
  ///
  /// The corresponding C calls are `semop` with `IPC_NOWAIT` on the caller's
  /// thread, then `semtimedop` with the time left on one of the library's
  /// waiting threads (one pending call holds one thread). A zero or negative
  /// timeout tries once, with no hop. `undo: true` keeps its meaning (see
  /// ``wait(_:by:undo:)-6m3nk``).
  ///
  /// - Throws: `.cancelled` if the task is cancelled first, with the value
  ///   unchanged; `.removed` if the set is removed while waiting.
  public func wait(_ index: Int = 0, by amount: Int = 1, undo: Bool = false, timeout: Duration)
    async throws(IPCError) -> Bool
  {
    let deadline = MonotonicDeadline(after: timeout)
    return try await WaitThreads.attempt(
      cancelled: .cancelled("semtimedop", object: description),
      { () throws(IPCError) -> Bool? in
        try tryWait(index, by: amount, undo: undo) ? true : Self.expired(deadline)
      },
      orWait: { () throws(IPCError) in
        try self.wait(index, by: amount, undo: undo, timeout: deadline.timeLeft)
      })
  }

  // MARK: Waiting for zero

  /// Waits until semaphore `index` is zero, suspending the task instead of
  /// blocking its thread.
  ///
  /// The corresponding C call is `semop` with `sem_op = 0`: first with
  /// `IPC_NOWAIT` on the caller's thread, then without it on one of the
  /// library's waiting threads (one pending call holds one thread).
  ///
  /// - Throws: `.cancelled` if the task is cancelled first; `.removed` if the
  ///   set is removed while waiting.
  public func waitForZero(_ index: Int = 0) async throws(IPCError) {
    try await WaitThreads.attempt(
      cancelled: .cancelled("semop", object: description),
      { () throws(IPCError) -> Void? in try tryWaitForZero(index) ? () : nil },
      orWait: { () throws(IPCError) in try self.waitForZero(index) })
  }

  /// Waits at most `timeout` until semaphore `index` is zero; returns false
  /// if it was not by then. The task is suspended, not its thread.
  ///
  /// The corresponding C calls are `semop` with `IPC_NOWAIT` on the caller's
  /// thread, then `semtimedop` with the time left on one of the library's
  /// waiting threads (one pending call holds one thread).
  ///
  /// - Throws: `.cancelled` if the task is cancelled first; `.removed` if the
  ///   set is removed while waiting.
  public func waitForZero(_ index: Int = 0, timeout: Duration) async throws(IPCError) -> Bool {
    let deadline = MonotonicDeadline(after: timeout)
    return try await WaitThreads.attempt(
      cancelled: .cancelled("semtimedop", object: description),
      { () throws(IPCError) -> Bool? in try tryWaitForZero(index) ? true : Self.expired(deadline) },
      orWait: { () throws(IPCError) in try self.waitForZero(index, timeout: deadline.timeLeft) })
  }

  // MARK: Atomic batches

  /// Runs `operations` atomically in one call, waiting until all of them can
  /// be done; the task is suspended, not its thread. Nothing is done if any
  /// fails or the task is cancelled first.
  ///
  /// The corresponding C call is `semop(id, operations, n)`: first with
  /// `IPC_NOWAIT` on every operation on the caller's thread, then without it
  /// on one of the library's waiting threads (one pending call holds one
  /// thread). Operations with `undo` keep their meaning (see ``wait(_:by:undo:)-6m3nk``).
  ///
  /// - Throws: `.cancelled` if the task is cancelled first, with every value
  ///   unchanged; `.removed` if the set is removed while waiting;
  ///   `.invalidArgument` for no operations, an index outside the set;
  ///   `.outOfRange` for an amount above SEMVMX; `.tooBig` for more than
  ///   SEMOPM operations.
  public func perform(_ operations: [Operation]) async throws(IPCError) {
    try await WaitThreads.attempt(
      cancelled: .cancelled("semop", object: description),
      { () throws(IPCError) -> Void? in try tryPerform(operations) ? () : nil },
      orWait: { () throws(IPCError) in try self.perform(operations) })
  }

  /// Runs `operations` atomically, waiting at most `timeout` for them all to
  /// be possible; returns false, with nothing changed, if the timeout
  /// expired. The task is suspended, not its thread.
  ///
  /// The corresponding C calls are `semop` with `IPC_NOWAIT` on the caller's
  /// thread, then `semtimedop` with the time left on one of the library's
  /// waiting threads (one pending call holds one thread).
  ///
  /// - Throws: `.cancelled` if the task is cancelled first, with every value
  ///   unchanged; the errors of ``perform(_:)-9becj``.
  public func perform(_ operations: [Operation], timeout: Duration) async throws(IPCError) -> Bool {
    let deadline = MonotonicDeadline(after: timeout)
    return try await WaitThreads.attempt(
      cancelled: .cancelled("semtimedop", object: description),
      { () throws(IPCError) -> Bool? in try tryPerform(operations) ? true : Self.expired(deadline) },
      orWait: { () throws(IPCError) in try self.perform(operations, timeout: deadline.timeLeft) })
  }

  /// False once `deadline` has passed (the one try was the whole wait, no
  /// hop to a waiting thread); nil while there is time left to wait.
  private static func expired(_ deadline: MonotonicDeadline) -> Bool? {
    deadline.timeLeft <= .zero ? false : nil
  }
}
