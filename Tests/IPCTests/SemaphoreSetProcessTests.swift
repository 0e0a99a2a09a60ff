import CIPCShims
import Foundation
import Testing

@testable import IPC

/// System V semaphore sets shared by real processes (exit tests): undo after
/// SIGKILL, a set removed under a waiter, signals during waits, processes
/// racing to create a set, permissions, and the lock keeping updates whole.
@Suite("System V semaphore sets across processes")
struct SemaphoreSetProcessTests {
  @Test(.prompt) func aHolderKilledWithSIGKILLGetsItsUndoableWaitsGivenBack() async throws {
    try await withSemaphoreSet([1, 1]) { (set) async throws in
      await #expect(processExitsWith: .signal(SIGKILL)) { [id = set.id as Int32] in
        let set = try SystemV.SemaphoreSet.open(id: id)
        try SystemV.SemaphoreLock(set: set, index: 0).lock()  // SEM_UNDO
        try set.wait(1)  // no undo: stays taken
        guard try set.values() == [0, 0] else { exit(3) }
        kill(getpid(), SIGKILL)
      }
      #expect(try set.values() == [1, 0])
      let lock = try SystemV.SemaphoreLock(set: set, index: 0)
      #expect(try lock.tryLock())
      try lock.unlock()
    }
  }

  @Test(.prompt) func aSetRemovedWhileAProcessWaitsEndsItsWaitWithRemoved() async throws {
    let set = try SystemV.SemaphoreSet.create(values: [0])
    defer { try? set.remove() }
    // Removes the set once the child waits, on a thread of its own: the
    // exit test may hold the cooperative pool's threads while its child runs.
    let remover = BackgroundWork {
      let waiting = try eventually { try set.waitingToDecrease() == 1 }
      try set.remove()  // also when the wait was never seen: no hang
      return waiting
    }
    await #expect(processExitsWith: .success) { [id = set.id as Int32] in
      alarm(60)  // a hang fails the test instead of stalling the suite
      let set = try SystemV.SemaphoreSet.open(id: id)
      switch Result(catching: { () throws(IPCError) in try set.wait() }) {
      case .failure(let error) where error.code == .removed:
        guard error.reason.contains("removed while this process waited") else { exit(4) }
      default:
        exit(3)
      }
    }
    #expect(try remover.value())
  }

  @Test(.prompt) func signalsDuringABlockingWaitAreRetriedAndNothingIsLost() async throws {
    try await withSemaphoreSet([0, 0]) { (set) async throws in
      await #expect(processExitsWith: .success) { [id = set.id as Int32] in
        alarm(60)
        let set = try SystemV.SemaphoreSet.open(id: id)
        let signaller = interruptCallingThread(3, whileBlockedIn: semopWaitChannels) {
          try set.signal(0, by: 2)
        }
        try set.perform([.wait(0, by: 2), .signal(1)])
        try signaller.value()
        guard signalsCaught == 3 else { exit(4) }
      }
      // One wait took both, once: retrying after EINTR did not run it twice.
      #expect(try set.values() == [0, 1])
    }
  }

  @Test(.prompt) func aTimedWaitKeepsItsDeadlineWhileSignalsKeepArriving() async throws {
    try await withSemaphoreSet([0]) { (set) async throws in
      await #expect(processExitsWith: .success) { [id = set.id as Int32] in
        let set = try SystemV.SemaphoreSet.open(id: id)
        try checkTimedWaitKeepsItsDeadlineUnderSignals { try set.wait(timeout: $0) }
      }
      #expect(try set.value() == 0)
    }
  }

  @Test(.prompt) func processesRacingToCreateASetAllSeeItInitialised() async throws {
    // Every racer opens-or-creates the set and adds one. The creator pauses
    // a second between semget and setting the values (a debug hook), so the
    // others meet the set before it is initialised; had they not waited for
    // it, the creator's SETALL would erase their additions.
    let key = TestKeys.next()
    let racers = 4
    // Racers that met the set uninitialised count themselves here.
    try await withSemaphoreSet([0]) { (waited) async throws in
      defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<racers {
          group.addTask {
            await #expect(processExitsWith: .success) {
              [key = key.rawValue as Int32, waited = waited.id as Int32] in
              alarm(60)
              InitializationTesting.pauseMilliseconds.store(1_000, ordering: .relaxed)
              let set = try SystemV.SemaphoreSet.openOrCreate(key: SystemV.Key(rawValue: key), values: [0])
              try set.signal()
              if InitializationTesting.waits.load(ordering: .relaxed) > 0 {
                try SystemV.SemaphoreSet.open(id: waited).signal()
              }
            }
          }
        }
      }
      let set = try SystemV.SemaphoreSet.open(key: key)
      #expect(try set.value() == racers)
      #expect(try waited.value() >= 1)
    }
  }

  @Test(.prompt) func aProcessWithoutPermissionChangesNothing() async throws {
    // Others may read this set but not alter it; the second is owner-only.
    try await withSemaphoreSet([2], permissions: [.ownerReadWrite, .groupRead, .otherRead]) {
      (set) async throws in
      try await withSemaphoreSet([5]) { (closed) async throws in
        await #expect(processExitsWith: .success) { [id = set.id as Int32, closed = closed.id as Int32] in
          guard setgid(65534) == 0, setuid(65534) == 0 else { exit(9) }  // nobody
          let set = try SystemV.SemaphoreSet.open(id: id)
          guard try set.value() == 2 else { exit(3) }
          func refused(_ code: IPCError.Code, _ body: () throws -> Void) -> Bool {
            do {
              try body()
              return false
            } catch {
              return (error as? IPCError)?.code == code
            }
          }
          guard refused(.permissionDenied, { try set.wait() }) else { exit(4) }
          guard refused(.permissionDenied, { try set.signal() }) else { exit(5) }
          guard refused(.permissionDenied, { try set.setValue(0) }) else { exit(6) }
          guard refused(.notPermitted, { try set.remove() }) else { exit(7) }
          guard refused(.permissionDenied, { _ = try SystemV.SemaphoreSet.open(id: closed) }) else { exit(8) }
        }
        #expect(try set.values() == [2])
        #expect(try closed.values() == [5])
      }
    }
  }

  @Test(.prompt) func theLockKeepsConcurrentProcessesFromLosingUpdates() async throws {
    // The counter is a semaphore changed by read-then-set, a non-atomic
    // update: without the lock, processes overwrite each other's additions.
    let lock = try SystemV.SemaphoreLock.create()
    defer { try? lock.set.remove() }
    try await withSemaphoreSet([0]) { (counter) async throws in
      let (processes, rounds) = (3, 200)
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<processes {
          group.addTask {
            await #expect(processExitsWith: .success) {
              [lock = lock.set.id as Int32, counter = counter.id as Int32, rounds = rounds as Int] in
              alarm(60)
              let lock = try SystemV.SemaphoreLock(set: .open(id: lock))
              let counter = try SystemV.SemaphoreSet.open(id: counter)
              for _ in 0..<rounds {
                try lock.withLock {
                  let value = try counter.value()
                  sched_yield()
                  try counter.setValue(value + 1)
                }
              }
            }
          }
        }
      }
      #expect(try counter.value() == processes * rounds)
      #expect(try lock.set.value() == 1)
    }
  }
}
