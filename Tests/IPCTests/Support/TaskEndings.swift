import IPC
import Synchronization

/// How the async suites watch a task they started, and perhaps cancelled,
/// come to its end without trusting it to: a wait that never ends fails the
/// test after a generous limit instead of hanging the suite.
enum TaskEndings {
  private final class Box<T: Sendable>: Sendable {
    let result = Mutex<Result<T, any Error>?>(nil)
  }

  /// The task's result once it has ended, or nil if it has not ended within
  /// `timeout` (the test then fails; it never waits longer). The limit is
  /// generous: in a full run, exit tests of other suites may hold every
  /// thread of the pool for a minute, and nothing here resumes meanwhile.
  static func result<T: Sendable>(of task: Task<T, any Error>, within timeout: Duration = .seconds(180)) async
    -> Result<T, any Error>?
  {
    let box = Box<T>()
    Task {
      let ended = await task.result
      box.result.withLock { $0 = ended }
    }
    let clock = SuspendingClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
      if let ended = box.result.withLock({ $0 }) { return ended }
      try? await Task.sleep(for: .milliseconds(1))
    }
    return box.result.withLock { $0 }
  }

  /// The result of `body` run in a task cancelled before `body` starts.
  static func cancelledBeforehand<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async
    -> Result<T, any Error>
  {
    let task = Task { () async throws -> T in
      withUnsafeCurrentTask { $0?.cancel() }
      return try await body()
    }
    return await task.result
  }

  /// The result of `body` run in a task cancelled once it has had `head`
  /// start to begin waiting; nil if it did not end (see ``result(of:within:)``).
  static func cancelledWhileWaiting<T: Sendable>(
    after head: Duration = .milliseconds(30), _ body: @escaping @Sendable () async throws -> T
  ) async -> Result<T, any Error>? {
    let task = Task { () async throws -> T in try await body() }
    try? await Task.sleep(for: head)
    task.cancel()
    return await result(of: task)
  }

  /// The code of the `IPCError` the result failed with; nil for a value or another error.
  static func code<T>(_ result: Result<T, any Error>?) -> IPCError.Code? {
    guard case .failure(let error as IPCError) = result else { return nil }
    return error.code
  }
}

/// Bytes a test's async forms may read or write from any task; freed when released.
final class TestBytes: @unchecked Sendable {
  let bytes: UnsafeMutableRawBufferPointer

  init(count: Int) {
    bytes = .allocate(byteCount: count, alignment: 8)
    bytes.initializeMemory(as: UInt8.self, repeating: 0)
  }

  deinit { bytes.deallocate() }
}
