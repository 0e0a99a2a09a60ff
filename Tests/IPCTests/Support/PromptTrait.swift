import Dispatch
import Testing

/// Runs an async test in a task of high priority, so that it resumes
/// promptly after every wait.
///
/// Why: on Linux each task priority has its own pool of threads (one per
/// CPU), and a run queues every test at medium priority from the start. A
/// medium task that suspends is resumed behind every test not yet started,
/// which sync tests block for their whole length: measured on 2 CPUs, a task
/// behind 40 queued jobs of 300 ms resumed after 6 s. An async test's waits
/// with deadlines (`eventually`, a peer's announcement) then failed in a
/// loaded CI run although nothing was wrong. At high priority the test and
/// the tasks it starts (which inherit the priority) share a pool that only
/// async tests use, and they spend most of their time suspended.
struct PromptTrait: TestTrait, TestScoping {
  func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    try await withoutActuallyEscaping(function) { (function) async throws in
      try await Task(priority: .high) { try await function() }.value
    }
  }
}

extension Trait where Self == PromptTrait {
  /// See ``PromptTrait``: every async test carries it.
  static var prompt: Self { Self() }
}

/// Suspends the task for `duration` without `Task.sleep`, whose wake-up goes
/// through the default priority's pool whatever the task's priority (see
/// ``PromptTrait``): a timer on a queue of its own resumes it instead.
func nap(_ duration: Duration) async {
  let (seconds, attoseconds) = duration.components
  let nanoseconds = Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
  await withCheckedContinuation { (resume: CheckedContinuation<Void, Never>) in
    DispatchQueue.global(qos: .userInteractive).asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
      resume.resume()
    }
  }
}
