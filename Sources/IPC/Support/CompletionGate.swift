import Glibc
import Synchronization

/// A value that arrives once, from another thread, and every way to wait for
/// it: blocking, with a timeout on the monotonic clock, and awaiting, which
/// suspends the task (no pool thread blocks) and ends when it is cancelled.
final class CompletionGate<Value: Sendable>: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  // Guarded by `mutex`.
  private var value: Value?
  private var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
  private var cancelled: Set<UInt64> = []
  private var nextID: UInt64 = 1

  init() {
    pthread_mutex_init(mutex, nil)
    var attributes = pthread_condattr_t()
    pthread_condattr_init(&attributes)
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
    pthread_cond_init(condition, &attributes)
    pthread_condattr_destroy(&attributes)
  }

  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    condition.deallocate()
    mutex.deallocate()
  }

  private func locked<R>(_ body: () -> R) -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return body()
  }

  /// Sets the value (the first call only) and wakes every waiter.
  func open(_ newValue: Value) {
    let resumed = locked { () -> [CheckedContinuation<Value?, Never>] in
      guard value == nil else { return [] }
      value = newValue
      pthread_cond_broadcast(condition)
      defer { waiters.removeAll() }
      return Array(waiters.values)
    }
    for continuation in resumed { continuation.resume(returning: newValue) }
  }

  /// The value, if it has arrived.
  var current: Value? { locked { value } }

  /// Blocks until the value arrives.
  func wait() -> Value {
    locked {
      while true {
        if let value { return value }
        pthread_cond_wait(condition, mutex)
      }
    }
  }

  /// Blocks until the value arrives or `timeout` has passed (nil then).
  func wait(timeout: Duration) -> Value? {
    let deadline = MonotonicDeadline(after: timeout)  // the condition's clock
    return locked {
      while true {
        if let value { return value }
        if deadline.timeLeft <= .zero { return nil }
        var until = deadline.absoluteTimespec
        _ = pthread_cond_timedwait(condition, mutex, &until)
      }
    }
  }

  /// Suspends until the value arrives; nil if the task was cancelled first.
  func wait() async -> Value? {
    let id = locked { () -> UInt64 in
      defer { nextID += 1 }
      return nextID
    }
    defer { _ = locked { cancelled.remove(id) } }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
        let immediate = locked { () -> Value?? in
          if let value { return .some(value) }
          if cancelled.remove(id) != nil { return .some(nil) }
          waiters[id] = continuation
          return .none
        }
        if let immediate { continuation.resume(returning: immediate) }
      }
    } onCancel: {
      let continuation = locked { () -> CheckedContinuation<Value?, Never>? in
        if let waiter = waiters.removeValue(forKey: id) { return waiter }
        cancelled.insert(id)
        return nil
      }
      continuation?.resume(returning: nil)
    }
  }

  /// How an awaited wait with a timeout ended.
  enum TimedWait: Sendable {
    case arrived(Value)
    case timedOut
    case cancelled
  }

  /// Suspends until the value arrives, `timeout` has passed (on the
  /// monotonic clock) or the task is cancelled. No thread blocks: the wait
  /// and a sleeping timer race in a task group, and a value that arrives as
  /// the time runs out is returned.
  func wait(timeout: Duration) async -> TimedWait {
    if let value = current { return .arrived(value) }
    let deadline = MonotonicDeadline(after: timeout)
    let first = await withTaskGroup(of: TimedWait.self) { group -> TimedWait in
      group.addTask { await self.wait().map(TimedWait.arrived) ?? .cancelled }
      group.addTask {
        // SuspendingClock is CLOCK_MONOTONIC on Linux; the deadline decides.
        while true {
          let left = deadline.timeLeft
          if left <= .zero { return .timedOut }
          do { try await Task.sleep(for: left, clock: .suspending) } catch { return .cancelled }
        }
      }
      let first = await group.next() ?? .cancelled
      group.cancelAll()
      return first
    }
    if case .timedOut = first, let value = current { return .arrived(value) }
    return first
  }
}
