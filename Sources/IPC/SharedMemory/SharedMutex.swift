import CIPCShims
import Glibc

/// A mutex shared by processes, placed in a ``SharedRegion``, that a crashed
/// holder never wedges: a process-shared, robust `pthread_mutex_t`.
///
///     // The creator, once, before other processes use it:
///     let mutex = try region.initializeMutex(at: 0)
///     // Every process:
///     let mutex = try region.mutex(at: 0)
///     try mutex.withLock(recover: { try repairTheList(region) }) {
///       try appendToTheList(region)
///     }
///
/// When a holder dies holding the mutex (even by `SIGKILL`), the kernel
/// hands it to the next process that locks it with ``LockResult/ownerDied``
/// instead of leaving it locked forever. That process repairs the data the
/// mutex guards, calls ``markConsistent()``, and everyone goes on. (Boost.Interprocess
/// leaves such a mutex locked: every later locker waits for ever.)
///
/// The mutex is error-checking: locking it again on the thread that holds it
/// throws `.deadlock` instead of hanging, and only the thread that locked it
/// may unlock it (`.notPermitted`). So lock and unlock on one thread: not
/// across an `await`, which may resume on another thread.
///
/// **In async code** there is no async `lock()`, and there cannot be one: a
/// pthread robust mutex is held by a thread, not a task: a lock returned by
/// an `await` belongs to a thread the task may no longer run on after its
/// next suspension, where unlocking fails (`.notPermitted`) and the mutex
/// stays held. Instead, the async
/// ``withLock(recover:_:)-3603g``, ``withLock(timeout:recover:_:)`` and
/// ``withLock(waitingOn:until:recover:_:)`` run the whole critical section
/// (lock, repair, condition wait, body, unlock) on one of the library's
/// waiting threads while the task is suspended, waiting in slices of at most
/// 5 ms so that cancelling the task ends the wait promptly, with the lock
/// not taken and the body not run.
///
/// The handle is a small value: the region (kept alive by it) and the offset.
/// Each call checks that the region is still open.
public struct SharedMutex: Sendable, CustomStringConvertible {
  /// The region the mutex lives in.
  public let region: SharedRegion
  /// The mutex's byte offset in ``region``.
  public let offset: Int

  /// The bytes a mutex takes in a region (`sizeof(pthread_mutex_t)`, 40 on
  /// 64-bit Linux); keep other data out of them.
  public static let size = MemoryLayout<pthread_mutex_t>.size
  /// The alignment a mutex's offset needs (`_Alignof(pthread_mutex_t)`).
  public static let alignment = MemoryLayout<pthread_mutex_t>.alignment

  /// A handle on the mutex at `offset`; the region has checked the offset.
  init(region: SharedRegion, offset: Int) {
    self.region = region
    self.offset = offset
  }

  /// `mutex at offset <offset> of <object>`, as errors name it.
  public var description: String { "mutex at offset \(offset) of \(region.object)" }

  // MARK: Locking

  /// Takes the mutex, waiting while another thread or process holds it.
  ///
  /// The corresponding C function is `pthread_mutex_lock`.
  ///
  /// - Returns: ``LockResult/ownerDied`` if the previous holder died holding
  ///   it: repair the data and call ``markConsistent()``.
  /// - Throws: `.notRecoverable` if a holder died and the data was never
  ///   marked consistent; `.deadlock` if this thread holds it already;
  ///   `.badDescriptor` if the region was closed.
  public func lock() throws(IPCError) -> LockResult {
    try withMutex("pthread_mutex_lock") { (mutex) throws(IPCError) in
      switch pthread_mutex_lock(mutex) {
      case 0: .acquired
      case EOWNERDEAD: .ownerDied
      case let result: throw error(result, "pthread_mutex_lock")
      }
    }
  }

  /// Takes the mutex if it is free now; returns nil if another thread or
  /// process holds it.
  ///
  /// This is `pthread_mutex_clocklock` with a deadline already past, which
  /// tries once and does not wait, rather than `pthread_mutex_trylock`: on a
  /// robust mutex made unrecoverable, glibc's `pthread_mutex_trylock` (2.36)
  /// reports `ENOTRECOVERABLE` but leaves the mutex locked by the caller,
  /// wedging every process; `pthread_mutex_clocklock` releases it.
  ///
  /// - Throws: as ``lock()``.
  public func tryLock() throws(IPCError) -> LockResult? {
    var past = timespec(tv_sec: 0, tv_nsec: 0)
    return try withMutex("pthread_mutex_clocklock") { (mutex) throws(IPCError) in
      try taken(cipc_mutex_lock_monotonic(mutex, &past), "pthread_mutex_clocklock", busy: ETIMEDOUT)
    }
  }

  /// Takes the mutex, waiting at most `timeout`; returns nil if it stayed held.
  ///
  /// The deadline is on the monotonic clock: the corresponding C function is
  /// `pthread_mutex_clocklock` with `CLOCK_MONOTONIC`.
  ///
  /// - Throws: as ``lock()``.
  public func lock(timeout: Duration) throws(IPCError) -> LockResult? {
    var deadline = MonotonicDeadline(after: timeout).absoluteTimespec
    return try withMutex("pthread_mutex_clocklock") { (mutex) throws(IPCError) in
      try taken(cipc_mutex_lock_monotonic(mutex, &deadline), "pthread_mutex_clocklock", busy: ETIMEDOUT)
    }
  }

  /// Gives the mutex back.
  ///
  /// After ``LockResult/ownerDied``, call ``markConsistent()`` first: an
  /// unlock without it leaves the mutex unusable for every process
  /// (`ENOTRECOVERABLE`), which is what to do when the data cannot be repaired.
  /// The corresponding C function is `pthread_mutex_unlock`.
  ///
  /// - Throws: `.notPermitted` if this thread does not hold the mutex.
  public func unlock() throws(IPCError) {
    try withMutex("pthread_mutex_unlock") { (mutex) throws(IPCError) in
      let result = pthread_mutex_unlock(mutex)
      if result != 0 { throw error(result, "pthread_mutex_unlock") }
    }
  }

  /// Declares the data the mutex guards repaired after ``LockResult/ownerDied``,
  /// so the mutex goes on working normally once unlocked. Call it while
  /// holding the mutex.
  ///
  /// The corresponding C function is `pthread_mutex_consistent`.
  ///
  /// - Throws: `.invalidArgument` if the mutex is not held after an owner's death.
  public func markConsistent() throws(IPCError) {
    try withMutex("pthread_mutex_consistent") { (mutex) throws(IPCError) in
      let result = pthread_mutex_consistent(mutex)
      if result != 0 { throw error(result, "pthread_mutex_consistent") }
    }
  }

  /// Runs `body` holding the mutex and unlocks afterwards, also when `body` throws.
  ///
  /// If the previous holder died holding the mutex, `recover` runs first to
  /// repair the data, then the mutex is marked consistent (`pthread_mutex_consistent`)
  /// and `body` runs. If `recover` throws, the mutex is unlocked without being
  /// marked consistent, so it becomes unusable for every process
  /// (`ENOTRECOVERABLE`): data that could not be repaired is not used. The
  /// same recovery happens when `body` waits on a ``SharedCondition`` and that
  /// wait reports an owner's death; the wait's error is then rethrown.
  ///
  /// Throws untyped: the ``IPCError`` of locking, or what `recover` or `body` throw.
  public func withLock<R>(recover: () throws -> Void, _ body: () throws -> R) throws -> R {
    let state = try lock()
    // From here on every path unlocks, a failed repair included: unlocked
    // without being marked consistent, the mutex turns unrecoverable.
    return try runThenUnlock(unlock) {
      if state == .ownerDied { try repair(recover) }
      let result = Result { try body() }
      // A condition wait inside `body` that found the holder dead returns
      // with the mutex held and inconsistent: repair it before unlocking.
      if case .failure(let error as IPCError) = result, error.code == .ownerDied,
        error.object == description
      {
        try repair(recover)
      }
      return try result.get()
    }
  }

  /// Runs `recover`, then marks the mutex consistent; the caller unlocks.
  private func repair(_ recover: () throws -> Void) throws {
    try recover()
    try markConsistent()
  }

  // MARK: Helpers

  /// Runs `body` on the mutex, the region kept mapped meanwhile.
  @inline(__always)
  func withMutex<R>(
    _ operation: String, _ body: (UnsafeMutablePointer<pthread_mutex_t>) throws(IPCError) -> R
  ) throws(IPCError) -> R {
    try region.access(
      operation, offset: offset, length: Self.size, alignment: Self.alignment, writing: true
    ) { (address) throws(IPCError) in
      try body(address.assumingMemoryBound(to: pthread_mutex_t.self))
    }
  }

  /// The outcome of a lock call that returned `result`: nil if it returned
  /// `busy` (held, or timed out).
  private func taken(_ result: Int32, _ operation: String, busy: Int32) throws(IPCError) -> LockResult? {
    switch result {
    case 0: return .acquired
    case EOWNERDEAD: return .ownerDied
    case busy: return nil
    default: throw error(result, operation)
    }
  }

  /// The error for a pthread call that returned `code`.
  func error(_ code: Int32, _ operation: String) -> IPCError {
    let reason: String? =
      switch code {
      case ENOTRECOVERABLE:
        "a holder died holding the mutex and it was unlocked without markConsistent(),"
          + " so it can no longer be locked; repair the data, then initialize the mutex"
          + " again (initializeMutex(at:)) while no process uses it"
      case EDEADLK: "this thread holds the mutex already (it is not recursive)"
      case EPERM: "this thread does not hold the mutex (only the thread that locked it may unlock it)"
      case EINVAL where operation == "pthread_mutex_consistent":
        "the mutex is not held after a holder's death (markConsistent() is only for .ownerDied)"
      case EINVAL: "the mutex was not initialized with initializeMutex(at:), or was overwritten"
      default: nil
      }
    return IPCError(
      code: IPCError.Code(rawValue: code), operation: operation, object: description, reason: reason)
  }
}
