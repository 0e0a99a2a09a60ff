import Glibc
import IPC
import Testing

/// The async forms of System V semaphore sets and SemaphoreLock: fed by
/// other processes, cancelled before and during the wait with nothing
/// taken, cancellation racing a peer's signals, timeouts, atomic batches,
/// a set removed under a waiter, and undo from a waiting thread.
@Suite("System V semaphores, async")
struct SemaphoreAsyncTests {
  // MARK: Fed by another process

  @Test(.prompt, arguments: SemaphoreAsyncForm.allCases)
  func aWaitIsLetThroughByAnotherProcess(form: SemaphoreAsyncForm) async throws {
    try await withSemaphoreSet(form.blockingValues) { (set) async throws in
      let ran = Flag()
      let waiting = pendingWait { () async throws(IPCError) in try await form.run(on: set, ran: ran) }
      #expect(try await eventually { try form.waiters(set) == 1 })
      // Waiting took nothing: a batch did not take semaphore 0 on its own.
      #expect(try set.values() == form.blockingValues)
      #expect(!ran.isSet)
      try peerOperates(on: set, form.feed)  // a process written in C
      #expect(try await waiting.ends(orElse: { try set.remove() }))
      #expect(try await waiting.value.get())
      #expect(try set.values() == form.doneValues)
      #expect(try form.waiters(set) == 0)
      if form == .lock || form == .timedLock {
        try SystemV.SemaphoreLock(set: set).unlock()  // held by this process
        #expect(try set.values() == [1, 0])
      }
    }
  }

  @Test(.prompt, arguments: SemaphoreAsyncForm.allCases)
  func aFormThatCanBeDoneNowIsDone(form: SemaphoreAsyncForm) async throws {
    try await withSemaphoreSet(form.readyValues) { (set) async throws in
      let ran = Flag()
      #expect(try await form.run(on: set, timeout: .zero, ran: ran))
      #expect(ran.isSet == (form == .withLock))
      #expect(try set.values() == (form == .withLock ? [1, 0] : [0, 0]))
    }
  }

  @Test(.prompt) func aChildProcessAwaitsWhatItsParentSignals() async throws {
    try await withSemaphoreSet([0, 0]) { (set) async throws in
      // Signals once the child waits, on a thread of its own: the exit test
      // may hold the cooperative pool's threads while its child runs.
      let signaller = BackgroundWork {
        let waiting = try eventually { try set.waitingToDecrease(at: 1) == 1 }
        try set.signal(1, by: 2)  // the child's batch needs 2 on semaphore 1
        return waiting
      }
      await #expect(processExitsWith: .success) { [id = set.id as Int32] in
        alarm(60)
        let set = try SystemV.SemaphoreSet.open(id: id)
        try set.signal(0)
        try await set.perform([.wait(0), .wait(1, by: 2)])
        guard try set.values() == [0, 0] else { exit(3) }
      }
      #expect(try signaller.value())
      #expect(try set.values() == [0, 0])
    }
  }

  // MARK: Cancellation

  @Test(.prompt, arguments: SemaphoreAsyncForm.allCases)
  func aCancelledTaskTakesNothingEvenWhenItCould(form: SemaphoreAsyncForm) async throws {
    try await withSemaphoreSet(form.readyValues) { (set) async throws in
      let ran = Flag()
      let outcome = await outcomeOfCancelledTask { () async throws(IPCError) in
        try await form.run(on: set, ran: ran)
      }
      #expect(failureCode(outcome) == .cancelled)
      #expect(try set.values() == form.readyValues)
      #expect(!ran.isSet)
    }
  }

  @Test(.prompt, arguments: SemaphoreAsyncForm.allCases)
  func cancellingAWaitEndsItWithNothingTaken(form: SemaphoreAsyncForm) async throws {
    try await withSemaphoreSet(form.blockingValues) { (set) async throws in
      let ran = Flag()
      let waiting = pendingWait { () async throws(IPCError) in try await form.run(on: set, ran: ran) }
      #expect(try await eventually { try form.waiters(set) == 1 })
      waiting.cancel()
      #expect(try await waiting.ends(orElse: { try set.remove() }))
      let outcome = await waiting.value
      #expect(failureCode(outcome) == .cancelled)
      if case .failure(let error) = outcome {
        #expect(error.operation == form.operation)
        #expect(error.object == set.description)
      }
      // The semop ended before the task resumed: the kernel counts no waiter.
      #expect(try form.waiters(set) == 0)
      #expect(try set.values() == form.blockingValues)
      #expect(!ran.isSet)
      // Nothing waits on behalf of the cancelled task: a feed stays.
      try peerOperates(on: set, form.feed)
      #expect(try set.values() == form.fedValues)
    }
  }

  @Test(.prompt, arguments: [false, true])
  func cancellationRacingAnotherProcessesSignalsLosesNothing(batch: Bool) async throws {
    // Processes written in C give `signals` ones to semaphore 0, one after
    // another, while this process starts waits and cancels them at varied
    // moments. Each wait either took one (returned) or took nothing
    // (cancelled): taken + left == given. A batch moves each one it takes to
    // semaphore 1, all or nothing.
    let signals = 200
    try await withSemaphoreSet([0, 0]) { (set) async throws in
      let feeder = try repeatedPeer(Tools.semPeer, ["op", "\(set.id)", "0:+1"], times: signals)
      let taken = try await cancelWaitsWhile(feeder, minimumRounds: signals, unblock: { try set.remove() }) {
        () async throws(IPCError) in
        if batch { try await set.perform([.wait(0), .signal(1)]) } else { try await set.wait(0) }
      }
      let left = try set.values()
      #expect(taken + left[0] == signals)
      #expect(left[1] == (batch ? taken : 0))
      #expect(try set.waitingToDecrease(at: 0) == 0)
    }
  }

  // MARK: Timeouts

  @Test(.prompt, arguments: SemaphoreAsyncForm.allCases.filter(\.isTimed))
  func aTimeoutEndsTheWaitWithNothingTaken(form: SemaphoreAsyncForm) async throws {
    try await withSemaphoreSet(form.blockingValues) { (set) async throws in
      #expect(try await form.run(on: set, timeout: .milliseconds(30)) == false)
      #expect(try await form.run(on: set, timeout: .zero) == false)
      #expect(try await form.run(on: set, timeout: .milliseconds(-5)) == false)
      #expect(try set.values() == form.blockingValues)
      #expect(try form.waiters(set) == 0)
    }
  }

  @Test(.prompt) func aLockHeldByAnotherProcessTimesOutThenComesBackWhenItsHolderIsKilled() async throws {
    try await withSemaphoreSet([1]) { (set) async throws in
      let lock = try SystemV.SemaphoreLock(set: set)
      // A process written in C takes the lock with SEM_UNDO and sleeps.
      let holder = try SpawnedProcess(try Tools.semPeer.get(), ["hold", "\(set.id)", "0", "60"])
      // Required: if the holder never took it, the lock below would succeed
      // and the wait after it would wait on this very task.
      try #require(try await eventually { try set.value() == 0 })
      #expect(try await lock.lock(timeout: .milliseconds(30)) == false)
      let waiting = pendingWait { () async throws(IPCError) in try await lock.lock() }
      #expect(try await eventually { try set.waitingToDecrease() == 1 })
      kill(holder.pid, SIGKILL)
      holder.wait()
      // The kernel undid the holder's P, and the waiting task got the lock.
      try await waiting.value.get()
      #expect(try set.value() == 0)
      #expect(try lock.tryLock() == false)
      try lock.unlock()
      #expect(try set.value() == 1)
    }
  }

  // MARK: withLock

  @Test(.prompt) func withLockGivesTheLockBackWhenTheBodyThrowsOrItsTaskIsCancelled() async throws {
    struct Failure: Error {}
    try await withSemaphoreSet([1]) { (set) async throws in
      let lock = try SystemV.SemaphoreLock(set: set)
      await #expect(throws: Failure.self) {
        try await lock.withLock {
          #expect(try set.value() == 0)
          throw Failure()
        }
      }
      #expect(try set.value() == 1)
      // Cancelled while the body awaits: the body ends, the lock goes back.
      let entered = Flag()
      let holding = Task {
        try await lock.withLock {
          entered.set()
          try await Task.sleep(for: .seconds(60))
        }
      }
      #expect(await eventually { entered.isSet })
      #expect(try set.value() == 0)
      holding.cancel()
      await #expect(throws: CancellationError.self) { try await holding.value }
      #expect(try set.value() == 1)
    }
  }

  // MARK: Removal and undo

  @Test(.prompt, arguments: SemaphoreAsyncForm.allCases)
  func aSetRemovedWhileAnAsyncFormWaitsEndsItWithRemoved(form: SemaphoreAsyncForm) async throws {
    let set = try SystemV.SemaphoreSet.create(values: form.blockingValues)
    defer { try? set.remove() }
    let waiting = pendingWait { () async throws(IPCError) in try await form.run(on: set) }
    #expect(try await eventually { try form.waiters(set) == 1 })
    try set.remove()
    // The blocking form's error, word for word.
    switch await waiting.value {
    case .failure(let error):
      #expect(error.code == .removed)
      #expect(error.operation == form.operation)
      #expect(error.reason == "the semaphore set was removed while this process waited on it")
    case .success: Issue.record("a wait on a removed set succeeded")
    }
  }

  @Test(.prompt) func anUndoneWaitDoneOnAWaitingThreadIsGivenBackWhenTheProcessIsKilled() async throws {
    // The child's P with undo has to wait, so a library thread does it: the
    // undo record is the process's all the same, and SIGKILL gives it back.
    // Semaphore 1, taken without undo, stays taken.
    try await withSemaphoreSet([0, 1]) { (set) async throws in
      let signaller = BackgroundWork {
        let waiting = try eventually { try set.waitingToDecrease(at: 0) == 1 }
        try set.signal(0)
        return waiting
      }
      await #expect(processExitsWith: .signal(SIGKILL)) { [id = set.id as Int32] in
        alarm(60)
        let set = try SystemV.SemaphoreSet.open(id: id)
        try await set.wait(0, undo: true)
        try await set.wait(1)
        guard try set.values() == [0, 0] else { exit(3) }
        kill(getpid(), SIGKILL)
      }
      #expect(try signaller.value())
      #expect(try set.values() == [1, 0])
    }
  }
}
