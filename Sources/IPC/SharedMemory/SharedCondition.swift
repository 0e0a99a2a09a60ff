import CIPCShims
import Glibc

/// A condition variable shared by processes, placed in a ``SharedRegion``:
/// a process-shared `pthread_cond_t` whose timed waits use the monotonic clock.
///
///     // The creator, once:
///     let ready = try region.initializeCondition(at: 64)
///     // A waiter, holding `mutex`:
///     try mutex.withLock(recover: {}) {
///       while try region.load(Int32.self, at: 128) == 0 { try ready.wait(mutex) }
///     }
///     // A signaller:
///     try mutex.withLock(recover: {}) { try region.store(Int32(1), at: 128) }
///     try ready.signal()
///
/// A wait can wake without a signal (spuriously): always wait in a loop that
/// checks the shared state, as above. The mutex must be a ``SharedMutex``
/// held by the calling thread; the wait releases it and takes it back. In
/// async code, ``SharedMutex/withLock(waitingOn:until:recover:_:)`` runs
/// that loop, and the body, on one of the library's waiting threads.
public struct SharedCondition: Sendable, CustomStringConvertible {
  /// The region the condition lives in.
  public let region: SharedRegion
  /// The condition's byte offset in ``region``.
  public let offset: Int

  /// The bytes a condition takes in a region (`sizeof(pthread_cond_t)`, 48 on Linux).
  public static let size = MemoryLayout<pthread_cond_t>.size
  /// The alignment a condition's offset needs (`_Alignof(pthread_cond_t)`).
  public static let alignment = MemoryLayout<pthread_cond_t>.alignment

  /// A handle on the condition at `offset`; the region has checked the offset.
  init(region: SharedRegion, offset: Int) {
    self.region = region
    self.offset = offset
  }

  /// `condition at offset <offset> of <object>`, as errors name it.
  public var description: String { "condition at offset \(offset) of \(region.object)" }

  /// Releases `mutex`, waits for a signal, and takes `mutex` back.
  ///
  /// The corresponding C function is `pthread_cond_wait`.
  ///
  /// - Throws: `.ownerDied` (with the mutex held) if a holder of `mutex` died
  ///   holding it during the wait: repair the data and call
  ///   ``SharedMutex/markConsistent()`` (``SharedMutex/withLock(recover:_:)-d4mn``
  ///   does this); `.notPermitted` if this thread does not hold `mutex`.
  public func wait(_ mutex: SharedMutex) throws(IPCError) {
    try withCondition(mutex, "pthread_cond_wait") { (condition, pthreadMutex) throws(IPCError) in
      let result = pthread_cond_wait(condition, pthreadMutex)
      if result != 0 { throw error(result, "pthread_cond_wait", mutex) }
    }
  }

  /// ``wait(_:)``, giving up after `timeout`: returns false if no signal came
  /// in time. Either way `mutex` is held again on return.
  ///
  /// The corresponding C function is `pthread_cond_timedwait`, with a deadline
  /// on `CLOCK_MONOTONIC` (the clock the condition was initialized with).
  ///
  /// - Throws: as ``wait(_:)``.
  public func wait(_ mutex: SharedMutex, timeout: Duration) throws(IPCError) -> Bool {
    var deadline = MonotonicDeadline(after: timeout).absoluteTimespec
    return try withCondition(mutex, "pthread_cond_timedwait") { (condition, pthreadMutex) throws(IPCError) in
      switch pthread_cond_timedwait(condition, pthreadMutex, &deadline) {
      case 0: return true
      case ETIMEDOUT: return false
      case let result: throw error(result, "pthread_cond_timedwait", mutex)
      }
    }
  }

  /// Wakes one thread waiting on the condition, in any process.
  ///
  /// The corresponding C function is `pthread_cond_signal`.
  public func signal() throws(IPCError) {
    try withCondition("pthread_cond_signal") { (condition) throws(IPCError) in
      let result = pthread_cond_signal(condition)
      if result != 0 { throw error(result, "pthread_cond_signal", nil) }
    }
  }

  /// Wakes every thread waiting on the condition, in every process.
  ///
  /// The corresponding C function is `pthread_cond_broadcast`.
  public func broadcast() throws(IPCError) {
    try withCondition("pthread_cond_broadcast") { (condition) throws(IPCError) in
      let result = pthread_cond_broadcast(condition)
      if result != 0 { throw error(result, "pthread_cond_broadcast", nil) }
    }
  }

  // MARK: Helpers

  @inline(__always)
  private func withCondition<R>(
    _ operation: String, _ body: (UnsafeMutablePointer<pthread_cond_t>) throws(IPCError) -> R
  ) throws(IPCError) -> R {
    try region.access(
      operation, offset: offset, length: Self.size, alignment: Self.alignment, writing: true
    ) { (address) throws(IPCError) in
      try body(address.assumingMemoryBound(to: pthread_cond_t.self))
    }
  }

  /// Runs `body` on the condition and `mutex`, both regions kept mapped meanwhile.
  @inline(__always)
  private func withCondition<R>(
    _ mutex: SharedMutex, _ operation: String,
    _ body: (UnsafeMutablePointer<pthread_cond_t>, UnsafeMutablePointer<pthread_mutex_t>) throws(IPCError) ->
      R
  ) throws(IPCError) -> R {
    try withCondition(operation) { (condition) throws(IPCError) in
      try mutex.withMutex(operation) { (pthreadMutex) throws(IPCError) in try body(condition, pthreadMutex) }
    }
  }

  private func error(_ code: Int32, _ operation: String, _ mutex: SharedMutex?) -> IPCError {
    if let mutex, code == EOWNERDEAD {
      // Named after the mutex, which the caller now holds and must repair.
      return IPCError(
        code: .ownerDied, operation: operation, object: mutex.description,
        reason: "a holder of the mutex died holding it while this thread waited on the \(description);"
          + " this thread holds the mutex now: repair the data, then call markConsistent()")
    }
    if let mutex, code == EPERM || code == ENOTRECOVERABLE { return mutex.error(code, operation) }
    return IPCError(code: IPCError.Code(rawValue: code), operation: operation, object: description)
  }
}
