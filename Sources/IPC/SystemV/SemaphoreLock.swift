import Glibc

extension SystemV {
  /// A lock between processes that a crash cannot leave locked: a binary
  /// System V semaphore taken and given back with `SEM_UNDO`.
  ///
  ///     let lock = try SystemV.SemaphoreLock.openOrCreate(key: 0x1234)
  ///     try lock.withLock {
  ///       // one process at a time in here
  ///     }
  ///
  /// If the holder exits without unlocking, even killed by `SIGKILL`, the
  /// kernel undoes its P and the next process gets the lock. The lock cannot
  /// tell whether the data it guards was left half-updated: design updates so
  /// a reader can tell (write a new record, then publish it), or check the
  /// data after taking the lock.
  ///
  /// The semaphore is 1 when free and 0 when held. The lock is not recursive
  /// and not tied to a thread: a second ``lock()-7iqgr`` in the same process waits
  /// for the first ``unlock()``.
  public struct SemaphoreLock: Hashable, Sendable, CustomStringConvertible {
    /// The set that holds the lock's semaphore.
    public let set: SemaphoreSet
    /// The semaphore's index in ``set``.
    public let index: Int

    /// A lock on semaphore `index` of an existing set, which should hold 1
    /// (free) or 0 (held).
    ///
    /// - Throws: `.invalidArgument` if the set has no semaphore `index`.
    public init(set: SemaphoreSet, index: Int = 0) throws(IPCError) {
      guard index >= 0 && index < set.count else {
        throw IPCError(
          code: .invalidArgument, operation: "SemaphoreLock", object: set.description,
          reason: "semaphore index \(index) is out of range: the set has \(set.count)"
            + " semaphore\(set.count == 1 ? "" : "s") (0 to \(set.count - 1))")
      }
      self.set = set
      self.index = index
    }

    /// `lock on semaphore <index> of semaphore set <id>`.
    public var description: String { "lock on semaphore \(index) of \(set)" }

    /// Creates a new, unlocked lock: a set of one semaphore holding 1.
    ///
    /// The corresponding C calls are those of ``SemaphoreSet/create(key:values:permissions:)``.
    public static func create(key: Key = .private, permissions: Permissions = .ownerReadWrite)
      throws(IPCError) -> SemaphoreLock
    {
      try SemaphoreLock(set: .create(key: key, values: [1], permissions: permissions))
    }

    /// Opens the lock for `key`, creating it unlocked if there is none; safe
    /// when several processes do this at the same moment.
    public static func openOrCreate(key: Key, permissions: Permissions = .ownerReadWrite)
      throws(IPCError) -> SemaphoreLock
    {
      try SemaphoreLock(set: .openOrCreate(key: key, values: [1], permissions: permissions))
    }

    /// Takes the lock, waiting while another process holds it.
    ///
    /// The corresponding C call is `semop` with `sem_op = -1, SEM_UNDO`.
    ///
    /// - Throws: `.removed` if the set is removed while waiting.
    public func lock() throws(IPCError) {
      try set.wait(index, undo: true)
    }

    /// Takes the lock if it is free now; returns false otherwise.
    ///
    /// The corresponding C call is `semop` with `IPC_NOWAIT | SEM_UNDO`.
    public func tryLock() throws(IPCError) -> Bool {
      try set.tryWait(index, undo: true)
    }

    /// Takes the lock, waiting at most `timeout`; returns false if it stayed held.
    ///
    /// The corresponding C function is `semtimedop`.
    public func lock(timeout: Duration) throws(IPCError) -> Bool {
      try set.wait(index, undo: true, timeout: timeout)
    }

    /// Gives the lock back.
    ///
    /// One atomic `semop` checks that the semaphore is 0 (held) and raises it
    /// to 1 with `SEM_UNDO`, which cancels the P's undo record.
    ///
    /// - Throws: `.invalidArgument` if the lock is not held, with nothing changed.
    public func unlock() throws(IPCError) {
      let released = try set.tryPerform([.waitForZero(index), .signal(index, undo: true)])
      guard released else {
        throw IPCError(
          code: .invalidArgument, operation: "semop", object: description,
          reason: "unlock of a lock that is not held (the semaphore is not 0); nothing changed")
      }
    }

    /// Removes the set that holds the lock, at once: a process waiting for
    /// the lock wakes with `.removed`. The set may hold other semaphores
    /// besides this one; they go too.
    ///
    /// The corresponding C call is `semctl` with `IPC_RMID`.
    ///
    /// - Throws: `.invalidArgument` if the set is already gone, `.notPermitted`
    ///   if this process is neither the set's owner nor its creator.
    public func remove() throws(IPCError) {
      try set.remove()
    }

    /// Runs `body` holding the lock, and unlocks afterwards, also when `body` throws.
    ///
    /// In an async context `try await lock.withLock { ... }` picks the async
    /// form, which waits without blocking a thread; this form is disfavoured so
    /// a synchronous closure does not make it win there.
    ///
    /// - Throws: the ``IPCError`` of taking or giving back the lock, or what `body` throws.
    @_disfavoredOverload
    public func withLock<R>(_ body: () throws -> R) throws -> R {
      try lock()
      return try runThenUnlock(unlock, body)
    }
  }
}
