import CIPCShims
import Glibc
import Synchronization

/// The library's own waiting threads, for the blocking calls the kernel gives
/// no descriptor to poll: `msgrcv`, `semop`, `sem_wait`, a FIFO's `open`, a
/// robust mutex. An awaiting task hands its call to one of them and suspends,
/// so no thread of Swift's cooperative pool ever blocks in the kernel.
///
/// - Bounded: at most ``maximumThreads`` threads, each with a
///   ``stackSize``-byte stack, started on demand; one idle for
///   ``idleLifetime`` ends. A call that finds them all busy queues until one
///   is free (a wait queued behind `maximumThreads` others that never end
///   never starts, as with any bounded pool).
/// - Cancellable: cancelling the task of a queued call drops it; of a running
///   call, sends the thread ``cipc_wake_signal()`` (SIGRTMAX, handler without
///   SA_RESTART), so the blocking call fails with EINTR, and
///   ``retryingInterrupts(_:_:)`` gives up with `.cancelled` instead of
///   retrying. A signal that lands just before the call enters the kernel
///   would be lost, so it is sent again, every 1 to 10 ms, until the call
///   ends. Calls that no signal interrupts (a mutex) wait in short slices and
///   check ``WaitJob/isCancelled`` between them.
final class WaitThreads: @unchecked Sendable {
  static let maximumThreads = 128
  static let idleLifetime: Duration = .seconds(10)
  static let stackSize = 512 * 1024

  private static let instance = Mutex<WaitThreads?>(nil)

  /// The process-wide pool; installs the wake signal's handler on first use.
  static func shared() throws(IPCError) -> WaitThreads {
    try instance.withLock { (pool) throws(IPCError) -> WaitThreads in
      if let pool { return pool }
      if case .failure(let code) = once({ cipc_wake_install() }) {
        throw IPCError(
          code: code, operation: "sigaction", object: "SIGRTMAX",
          reason: "the library could not install the handler that wakes its waiting threads")
      }
      let made = WaitThreads()
      pool = made
      return made
    }
  }

  /// Runs `body`, a blocking call, on a waiting thread and suspends until it
  /// returns. The caller tries the non-blocking form first, so a message
  /// already there is taken without this hop.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before `body` ends (and
  ///   `body` then consumed nothing); `body`'s errors; the `pthread_create`
  ///   error when no thread can be started (at the thread limit).
  static func run<R: Sendable>(_ body: @escaping @Sendable () throws(IPCError) -> R)
    async throws(IPCError) -> R
  {
    let pool = try shared()
    guard !Task.isCancelled else { throw WaitJob.cancelledError }
    let job = WaitJob()
    let outcome = await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Result<R, IPCError>, Never>) in
        job.setWork { failure in
          if let failure { return continuation.resume(returning: .failure(failure)) }
          continuation.resume(returning: Result { () throws(IPCError) in try body() })
        }
        if let error = pool.submit(job) { job.finish(with: error) }
      }
    } onCancel: {
      pool.cancel(job)
    }
    return try outcome.get()
  }

  // MARK: The pool

  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let jobReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private let kickNeeded = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  // Guarded by `mutex`.
  private var queue: [WaitJob] = []
  private var threads = 0
  private var idle = 0
  private var kicks: [WaitJob] = []
  private var kickerRunning = false

  private init() {
    pthread_mutex_init(mutex, nil)
    for condition in [jobReady, kickNeeded] {
      var attributes = pthread_condattr_t()
      pthread_condattr_init(&attributes)
      pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
      pthread_cond_init(condition, &attributes)
      pthread_condattr_destroy(&attributes)
    }
  }

  private func locked<T>(_ body: () -> T) -> T {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return body()
  }

  /// Queues `job` and makes sure a thread will take it.
  ///
  /// - Returns: the error if a thread was needed and none could be started.
  private func submit(_ job: WaitJob) -> IPCError? {
    let startNeeded = locked { () -> Bool in
      queue.append(job)
      if idle >= queue.count {
        pthread_cond_signal(jobReady)
        return false
      }
      guard threads < Self.maximumThreads else { return false }
      threads += 1
      return true
    }
    guard startNeeded else { return nil }
    do throws(IPCError) {
      try LibraryThread.start(name: "ipc-wait", stackSize: Self.stackSize) { [self] in serve() }
      return nil
    } catch {
      let removed = locked { () -> Bool in
        threads -= 1
        guard let index = queue.firstIndex(where: { $0 === job }) else { return false }
        queue.remove(at: index)
        return true
      }
      // Another thread took the job meanwhile: it will finish it.
      return removed ? error : nil
    }
  }

  /// Drops `job` if it is still queued; interrupts its thread if it runs.
  private func cancel(_ job: WaitJob) {
    let dequeued = locked { () -> Bool in
      guard let index = queue.firstIndex(where: { $0 === job }) else { return false }
      queue.remove(at: index)
      return true
    }
    if dequeued {
      job.finish(with: WaitJob.cancelledError)
      return
    }
    guard job.requestCancel() else { return }
    let startKicker = locked { () -> Bool in
      kicks.append(job)
      pthread_cond_signal(kickNeeded)
      defer { kickerRunning = true }
      return !kickerRunning
    }
    if startKicker {
      do throws(IPCError) {
        try LibraryThread.start(name: "ipc-wait-kick", stackSize: Self.stackSize) { [self] in kick() }
      } catch {
        // No thread for resends: the first signal is then the only one.
        locked {
          kickerRunning = false
          kicks.removeAll()
        }
      }
    }
  }

  /// A waiting thread's life: take jobs in order, end after `idleLifetime` without one.
  private func serve() {
    var wake = sigset_t()
    sigemptyset(&wake)
    sigaddset(&wake, cipc_wake_signal())
    pthread_sigmask(SIG_UNBLOCK, &wake, nil)
    while let job = nextJob() {
      job.run()
    }
  }

  private func nextJob() -> WaitJob? {
    locked {
      let deadline = MonotonicDeadline(after: Self.idleLifetime)
      while queue.isEmpty {
        if deadline.timeLeft <= .zero {
          threads -= 1
          return nil
        }
        idle += 1
        var until = deadline.absoluteTimespec
        _ = pthread_cond_timedwait(jobReady, mutex, &until)
        idle -= 1
      }
      return queue.removeFirst()
    }
  }

  /// Sends the wake signal again to the threads of cancelled calls until
  /// their calls end: the first one may have landed before the call blocked.
  private func kick() {
    var pause: Duration = .milliseconds(1)
    while true {
      let pending = locked { () -> [WaitJob] in
        kicks.removeAll { !$0.interrupt() }
        if kicks.isEmpty {
          pause = .milliseconds(1)
          pthread_cond_wait(kickNeeded, mutex)
        }
        return kicks
      }
      guard !pending.isEmpty else { continue }
      var request = pause.asTimespec
      _ = nanosleep(&request, nil)
      pause = min(pause * 2, .milliseconds(10))
    }
  }
}

/// One blocking call handed to a ``WaitThreads`` thread.
final class WaitJob: Sendable {
  private enum Phase {
    case queued
    case running(pthread_t)
    case finished
  }

  static let cancelledError = IPCError(
    code: .cancelled, operation: "await", object: "wait",
    reason: "the awaiting task was cancelled; nothing was consumed")

  private let phase = Mutex<Phase>(.queued)
  private let cancelRequested = Atomic<Bool>(false)
  /// Runs the call and resumes the awaiting task; given an error, resumes
  /// with it instead of running.
  private let work = Mutex<(@Sendable (_ failure: IPCError?) -> Void)?>(nil)

  /// Whether the awaiting task was cancelled: a call that sees EINTR gives up.
  var isCancelled: Bool { cancelRequested.load(ordering: .acquiring) }

  /// The job the calling thread is running, if it is a waiting thread.
  static var current: WaitJob? {
    guard let raw = cipc_current_job() else { return nil }
    return Unmanaged<WaitJob>.fromOpaque(raw).takeUnretainedValue()
  }

  /// Whether the calling thread runs a job whose task was cancelled.
  static var currentIsCancelled: Bool { current?.isCancelled ?? false }

  func setWork(_ body: @escaping @Sendable (_ failure: IPCError?) -> Void) {
    work.withLock { $0 = body }
  }

  /// Ends a job that never ran (no thread could start, or cancelled while
  /// queued) with `error`.
  func finish(with error: IPCError) {
    let ended = phase.withLock { phase -> Bool in
      if case .finished = phase { return false }
      phase = .finished
      return true
    }
    guard ended, let body = work.withLock({ $0 }) else { return }
    body(error)
  }

  /// Runs the job on the calling waiting thread.
  fileprivate func run() {
    let started = phase.withLock { phase -> Bool in
      guard case .queued = phase else { return false }
      phase = .running(pthread_self())
      return true
    }
    guard started, let body = work.withLock({ $0 }) else { return }
    cipc_set_current_job(Unmanaged.passUnretained(self).toOpaque())
    body(isCancelled ? Self.cancelledError : nil)
    cipc_set_current_job(nil)
    phase.withLock { $0 = .finished }
  }

  /// Marks the job cancelled and interrupts its thread.
  ///
  /// - Returns: whether it is still running (so it may need another signal).
  fileprivate func requestCancel() -> Bool {
    cancelRequested.store(true, ordering: .releasing)
    return interrupt()
  }

  /// Sends the wake signal to the job's thread while the job runs: under the
  /// phase lock the thread cannot finish the job, so it is alive.
  ///
  /// - Returns: false once the job has finished.
  fileprivate func interrupt() -> Bool {
    phase.withLock { phase -> Bool in
      switch phase {
      case .queued: return true
      case .running(let thread):
        _ = pthread_kill(thread, cipc_wake_signal())
        return true
      case .finished: return false
      }
    }
  }
}

extension WaitThreads {
  /// The async form of a call with no descriptor to poll: checks for
  /// cancellation, tries the non-blocking form on the caller's thread (a
  /// message or value already there is taken without a hop), and only then
  /// runs the blocking form on a waiting thread.
  ///
  /// - Parameters:
  ///   - tryNow: the non-blocking form; nil means it would block.
  ///   - blocking: the blocking (or timed) form, run on a waiting thread.
  /// - Throws: `cancelled` if the task is cancelled before anything was
  ///   consumed; the errors of either form.
  static func attempt<T: Sendable>(
    cancelled: @autoclosure () -> IPCError, _ tryNow: () throws(IPCError) -> T?,
    orWait blocking: @escaping @Sendable () throws(IPCError) -> T
  ) async throws(IPCError) -> T {
    guard !Task.isCancelled else { throw cancelled() }
    if let value = try tryNow() { return value }
    do {
      return try await run(blocking)
    } catch  where error.code == .cancelled {
      throw cancelled()
    }
  }
}

extension IPCError {
  /// The error an async wait throws when its task is cancelled: nothing was
  /// consumed (the message stays queued, the semaphore keeps its value).
  static func cancelled(_ operation: String, object: String) -> IPCError {
    IPCError(
      code: .cancelled, operation: operation, object: object,
      reason: "the awaiting task was cancelled; nothing was consumed")
  }
}
