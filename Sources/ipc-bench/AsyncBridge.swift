import Glibc

/// Runs an async loop from the synchronous runner: a detached task awaits it
/// on the cooperative pool while the calling thread (the main thread, not one
/// of the pool's) blocks until it ends. Starting the task and waking this
/// thread are inside the timed region: once per measurement, microseconds
/// against milliseconds of messages.
enum AsyncBridge {
  static func run(
    _ loops: any MessageLoops, _ body: @escaping @Sendable (any MessageLoops) async throws -> Void
  ) throws {
    let lent = Lent(loops)
    let done = Completion()
    Task.detached {
      do {
        try await body(lent.loops)
        done.finish(nil)
      } catch {
        done.finish(error)
      }
    }
    if let error = done.wait() { throw error }
  }

  /// The loops, handed to the task: the calling thread does not touch them
  /// until the task has finished with them.
  private final class Lent: @unchecked Sendable {
    let loops: any MessageLoops
    init(_ loops: any MessageLoops) { self.loops = loops }
  }

  /// The task's outcome, waited for on the calling thread.
  private final class Completion: @unchecked Sendable {
    // Allocated: a pthread object must not move.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var finished = false
    private var error: (any Error)?

    init() {
      pthread_mutex_init(mutex, nil)
      pthread_cond_init(condition, nil)
    }

    deinit {
      pthread_cond_destroy(condition)
      pthread_mutex_destroy(mutex)
      condition.deallocate()
      mutex.deallocate()
    }

    func finish(_ failure: (any Error)?) {
      pthread_mutex_lock(mutex)
      (finished, error) = (true, failure)
      pthread_cond_signal(condition)
      pthread_mutex_unlock(mutex)
    }

    /// Blocks until `finish`; the task's error, if it threw.
    func wait() -> (any Error)? {
      pthread_mutex_lock(mutex)
      defer { pthread_mutex_unlock(mutex) }
      while !finished { pthread_cond_wait(condition, mutex) }
      return error
    }
  }
}
