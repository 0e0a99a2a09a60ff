extension SystemV.SemaphoreLock {
  /// Takes the lock, suspending the task (not its thread) while another
  /// process holds it.
  ///
  /// The corresponding C call is `semop` with `sem_op = -1, SEM_UNDO`: first
  /// with `IPC_NOWAIT` on the caller's thread, then without it on one of the
  /// library's waiting threads (one pending call holds one thread). The undo
  /// record is the process's, shared by its threads, so the kernel still
  /// gives the lock back if this process dies holding it.
  ///
  /// - Throws: `.cancelled` if the task is cancelled first, with the lock not
  ///   taken; `.removed` if the set is removed while waiting.
  public func lock() async throws(IPCError) {
    try await set.wait(index, undo: true)
  }

  /// Takes the lock, waiting at most `timeout`; returns false if it stayed
  /// held. The task is suspended, not its thread.
  ///
  /// The corresponding C calls are `semop` with `IPC_NOWAIT | SEM_UNDO` on the
  /// caller's thread, then `semtimedop` on one of the library's waiting
  /// threads (one pending call holds one thread).
  ///
  /// - Throws: `.cancelled` if the task is cancelled first, with the lock not
  ///   taken; `.removed` if the set is removed while waiting.
  public func lock(timeout: Duration) async throws(IPCError) -> Bool {
    try await set.wait(index, undo: true, timeout: timeout)
  }

  /// Runs `body` holding the lock, and unlocks afterwards, also when `body`
  /// throws or the task is cancelled while it runs.
  ///
  /// The lock is this process's, not a thread's, so `body` may suspend and
  /// resume on another thread while it holds it. Taking it waits as
  /// ``lock()-9q5bs`` does (on one of the library's waiting threads when it is
  /// held); giving it back is the non-blocking `semop` of ``unlock()``.
  ///
  /// - Parameters:
  ///   - isolation: the actor `body` runs on; the caller's, by default.
  ///   - body: the work to do while holding the lock.
  /// - Throws: `.cancelled` if the task is cancelled before the lock is
  ///   taken (`body` does not run); the ``IPCError`` of taking or giving back
  ///   the lock, or what `body` throws.
  public func withLock<R>(
    isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> R
  ) async throws -> R {
    try await lock()
    return try await runThenUnlock(unlock, body)
  }
}
