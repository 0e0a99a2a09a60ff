import Glibc
import IPC
import Testing

/// The async forms of POSIX named semaphores: posted by other processes,
/// cancelled before and during the wait with the value unchanged,
/// cancellation racing a peer's posts, and timeouts.
@Suite("POSIX semaphores, async")
struct POSIXSemaphoreAsyncTests {
  /// The two async waits, as one call: `wait()` (true when it returns) and `wait(timeout:)`.
  static let forms: [String] = ["wait", "wait(timeout:)"]

  static func run(_ form: String, on semaphore: POSIX.Semaphore, timeout: Duration = .seconds(60))
    async throws(IPCError) -> Bool
  {
    if form == "wait" {
      try await semaphore.wait()
      return true
    }
    return try await semaphore.wait(timeout: timeout)
  }

  @Test(.prompt, arguments: forms)
  func aWaitIsLetThroughByAnotherProcess(form: String) async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      let waiting = pendingWait { () async throws(IPCError) in try await Self.run(form, on: semaphore) }
      #expect(await eventually { posixSemaphoreWaiters(semaphore.name) == 1 })
      try peerPosts(semaphore)  // a process written in C
      #expect(await waiting.ends(orElse: { try? semaphore.post() }))
      #expect(try await waiting.value.get())
      #expect(try semaphore.value() == 0)
      #expect(posixSemaphoreWaiters(semaphore.name) == 0)
    }
  }

  @Test(.prompt, arguments: forms)
  func aValueThereIsTaken(form: String) async throws {
    try await withPOSIXSemaphore(value: 2) { (semaphore) async throws in
      #expect(try await Self.run(form, on: semaphore, timeout: .zero))
      #expect(try semaphore.value() == 1)
    }
  }

  @Test(.prompt) func aChildProcessAwaitsWhatItsParentPosts() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      let poster = BackgroundWork {
        let waiting = eventually { posixSemaphoreWaiters(semaphore.name) == 1 }
        try semaphore.post()
        return waiting
      }
      await #expect(processExitsWith: .success) { [name = semaphore.name as String] in
        alarm(60)
        let semaphore = try POSIX.Semaphore.open(name)
        guard try await semaphore.wait(timeout: .seconds(30)) else { exit(3) }
      }
      #expect(try poster.value())
      #expect(try semaphore.value() == 0)
    }
  }

  // MARK: Cancellation

  @Test(.prompt, arguments: forms)
  func aCancelledTaskTakesNothingEvenWhenItCould(form: String) async throws {
    try await withPOSIXSemaphore(value: 1) { (semaphore) async throws in
      let outcome = await outcomeOfCancelledTask { () async throws(IPCError) in
        try await Self.run(form, on: semaphore)
      }
      #expect(failureCode(outcome) == .cancelled)
      #expect(try semaphore.value() == 1)
    }
  }

  @Test(.prompt, arguments: forms)
  func cancellingAWaitEndsItWithNothingTaken(form: String) async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      let waiting = pendingWait { () async throws(IPCError) in try await Self.run(form, on: semaphore) }
      #expect(await eventually { posixSemaphoreWaiters(semaphore.name) == 1 })
      waiting.cancel()
      #expect(try await waiting.ends(orElse: { try semaphore.post() }))
      let outcome = await waiting.value
      #expect(failureCode(outcome) == .cancelled)
      if case .failure(let error) = outcome {
        #expect(error.operation == (form == "wait" ? "sem_wait" : "sem_clockwait"))
        #expect(error.object == semaphore.description)
      }
      #expect(posixSemaphoreWaiters(semaphore.name) == 0)
      #expect(try semaphore.value() == 0)
      // Nothing waits on behalf of the cancelled task: a post stays.
      try peerPosts(semaphore)
      #expect(try semaphore.value() == 1)
    }
  }

  @Test(.prompt) func cancellationRacingAnotherProcessesPostsLosesNothing() async throws {
    // Processes written in C post `posts` times, one after another, while
    // this process starts waits and cancels them at varied moments:
    // taken + left == posted.
    let posts = 200
    try await withPOSIXSemaphore { (semaphore) async throws in
      let feeder = try repeatedPeer(Tools.posixSemPeer, ["post", semaphore.name], times: posts)
      let taken = try await cancelWaitsWhile(feeder, minimumRounds: posts, unblock: { try semaphore.post() })
      { () async throws(IPCError) in
        try await semaphore.wait()
      }
      #expect(try taken + semaphore.value() == posts)
      #expect(posixSemaphoreWaiters(semaphore.name) == 0)
    }
  }

  // MARK: Timeouts and errors

  @Test(.prompt) func aTimeoutEndsTheWaitWithNothingTaken() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      #expect(try await semaphore.wait(timeout: .milliseconds(30)) == false)
      #expect(try await semaphore.wait(timeout: .zero) == false)
      #expect(try await semaphore.wait(timeout: .milliseconds(-5)) == false)
      #expect(try semaphore.value() == 0)
      #expect(posixSemaphoreWaiters(semaphore.name) == 0)
    }
  }

  @Test(.prompt) func aClosedObjectFailsBeforeWaiting() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      let other = try POSIX.Semaphore.open(semaphore.name)
      try other.close()
      let error = await #expect(throws: IPCError.self) { try await other.wait() }
      #expect(error?.code == .badDescriptor)
      #expect(try semaphore.value() == 0)
    }
  }
}
