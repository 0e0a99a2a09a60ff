import CIPCShims
import Glibc

extension SharedRegion {
  // MARK: Mutexes and conditions placed in the region

  /// Initializes a process-shared, robust, error-checking mutex at `offset`
  /// and returns a handle on it.
  ///
  /// Do this once, in the process that created the shared memory, before any
  /// other process uses the mutex: initializing a mutex that is in use
  /// breaks it. Other processes reach it with ``mutex(at:)``. The
  /// corresponding C calls are `pthread_mutexattr_setpshared`,
  /// `pthread_mutexattr_setrobust` and `pthread_mutex_init`.
  ///
  /// - Parameter offset: a multiple of ``SharedMutex/alignment`` with
  ///   ``SharedMutex/size`` bytes free from there.
  /// - Throws: `.invalidArgument` for an offset outside the region or
  ///   misaligned; `.permissionDenied` on a read-only region.
  @discardableResult
  public func initializeMutex(at offset: Int) throws(IPCError) -> SharedMutex {
    let mutex = try mutex(at: offset, operation: "pthread_mutex_init")
    try mutex.withMutex("pthread_mutex_init") { (pointer) throws(IPCError) in
      let result = cipc_mutex_init_shared_robust(pointer)
      if result != 0 { throw mutex.error(result, "pthread_mutex_init") }
    }
    return mutex
  }

  /// A handle on the mutex at `offset`, which ``initializeMutex(at:)`` set up
  /// (in this process or another). The handle keeps the region alive.
  ///
  /// - Throws: `.invalidArgument` for an offset outside the region or
  ///   misaligned, or if the bytes there are not a mutex that
  ///   ``initializeMutex(at:)`` made (zeroed memory, say: glibc would use it
  ///   as a private, non-robust mutex, silently); `.permissionDenied` on a
  ///   read-only region (locking writes).
  public func mutex(at offset: Int) throws(IPCError) -> SharedMutex {
    let mutex = try mutex(at: offset, operation: "mutex(at:)")
    try mutex.withMutex("mutex(at:)") { (pointer) throws(IPCError) in
      guard cipc_mutex_is_shared_robust(pointer) else {
        throw uninitialized("mutex(at:)", offset, what: "mutex", initializer: "initializeMutex(at:)")
      }
    }
    return mutex
  }

  /// Initializes a process-shared condition variable at `offset`, whose timed
  /// waits measure on `CLOCK_MONOTONIC`, and returns a handle on it; once,
  /// as for ``initializeMutex(at:)``.
  ///
  /// The corresponding C calls are `pthread_condattr_setpshared`,
  /// `pthread_condattr_setclock` and `pthread_cond_init`.
  ///
  /// - Throws: as ``initializeMutex(at:)``, with ``SharedCondition/size`` and
  ///   ``SharedCondition/alignment``.
  @discardableResult
  public func initializeCondition(at offset: Int) throws(IPCError) -> SharedCondition {
    try checkSynchronizer("pthread_cond_init", offset, SharedCondition.size, SharedCondition.alignment)
    try access(
      "pthread_cond_init", offset: offset, length: SharedCondition.size,
      alignment: SharedCondition.alignment, writing: true
    ) { (address) throws(IPCError) in
      let result = cipc_cond_init_shared_monotonic(address.assumingMemoryBound(to: pthread_cond_t.self))
      if result != 0 {
        throw IPCError(
          code: IPCError.Code(rawValue: result), operation: "pthread_cond_init",
          object: "condition at offset \(offset) of \(object)")
      }
    }
    return SharedCondition(region: self, offset: offset)
  }

  /// A handle on the condition at `offset`, which ``initializeCondition(at:)``
  /// set up. The handle keeps the region alive.
  ///
  /// - Throws: as ``mutex(at:)``, for a condition that
  ///   ``initializeCondition(at:)`` did not make.
  public func condition(at offset: Int) throws(IPCError) -> SharedCondition {
    try access(
      "condition(at:)", offset: offset, length: SharedCondition.size, alignment: SharedCondition.alignment,
      writing: true
    ) { (address) throws(IPCError) in
      guard cipc_cond_is_shared_monotonic(address.assumingMemoryBound(to: pthread_cond_t.self)) else {
        throw uninitialized(
          "condition(at:)", offset, what: "condition", initializer: "initializeCondition(at:)")
      }
    }
    return SharedCondition(region: self, offset: offset)
  }

  private func uninitialized(_ operation: String, _ offset: Int, what: String, initializer: String)
    -> IPCError
  {
    IPCError(
      code: .invalidArgument, operation: operation, object: "\(what) at offset \(offset) of \(object)",
      reason: "the bytes there are not a process-shared \(what) made by \(initializer);"
        + " call it once, in the process that creates the shared memory, before others use it")
  }

  private func mutex(at offset: Int, operation: String) throws(IPCError) -> SharedMutex {
    try checkSynchronizer(operation, offset, SharedMutex.size, SharedMutex.alignment)
    return SharedMutex(region: self, offset: offset)
  }

  /// Range, alignment and writability: a pthread object is written by every
  /// operation, even a lock.
  private func checkSynchronizer(_ operation: String, _ offset: Int, _ size: Int, _ alignment: Int)
    throws(IPCError)
  {
    try check(operation, offset: offset, length: size, alignment: alignment, writing: true)
  }
}
