import CIPCShims
import Foundation
import IPC
import Testing

/// Shared regions used by real processes (exit tests mapping the same POSIX
/// shared-memory object): values, atomic counters, the robust mutex after a
/// SIGKILL, and the process-shared condition.
@Suite("Shared regions across processes")
struct SharedRegionProcessTests {
  @Test(.prompt) func valuesStoredByOneProcessAreSeenByAnother() async throws {
    try await withSharedRegion { (region, name) async throws in
      try region.store(Int64(-77), at: 0)
      try region.store(Sample(id: 9, flag: 2, ratio: 1.5), at: 8)
      try region.write(Array("from the parent".utf8), at: 100)
      await #expect(processExitsWith: .success) { [name = name as String] in
        let region = try mapSharedMemory(name, size: 4096)
        guard try region.load(Int64.self, at: 0) == -77 else { exit(3) }
        guard try region.load(Sample.self, at: 8) == Sample(id: 9, flag: 2, ratio: 1.5) else { exit(4) }
        guard try region.bytes(at: 100, count: 15) == Array("from the parent".utf8) else { exit(5) }
        try region.store((Int32(1), Double(2.5)), at: 200)
        try region.write(Array("from the child".utf8), at: 300)
      }
      let pair = try region.load((Int32, Double).self, at: 200)
      #expect(pair == (1, 2.5))
      #expect(try region.bytes(at: 300, count: 14) == Array("from the child".utf8))
    }
  }

  @Test(.prompt) func processesAddingAtomicallyToOneCounterLoseNothing() async throws {
    let (processes, additions) = (3, 100_000)
    try await withSharedRegion { (region, name) async throws in
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<processes {
          group.addTask {
            await #expect(processExitsWith: .success) {
              [name = name as String, additions = additions as Int] in
              alarm(60)
              let region = try mapSharedMemory(name, size: 4096)
              for _ in 0..<additions { try region.atomicAdd(Int64(1), at: 64, ordering: .relaxed) }
              try region.atomicAdd(Int32(1), at: 128)  // processes done
            }
          }
        }
      }
      #expect(try region.atomicLoad(Int64.self, at: 64) == Int64(processes * additions))
      #expect(try region.atomicLoad(Int32.self, at: 128) == Int32(processes))
    }
  }

  @Test(.prompt) func compareExchangeLetsExactlyOneProcessClaimASlot() async throws {
    let processes = 3
    try await withSharedRegion { (region, name) async throws in
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<processes {
          group.addTask {
            await #expect(processExitsWith: .success) { [name = name as String] in
              alarm(60)
              let region = try mapSharedMemory(name, size: 4096)
              // Claim slot 0 with this pid; count wins and losses.
              let claim = try region.atomicCompareExchange(expected: Int32(0), desired: getpid(), at: 0)
              guard claim.exchanged || claim.original != 0 else { exit(3) }
              try region.atomicAdd(Int64(claim.exchanged ? 1 : 1 << 32), at: 8)
            }
          }
        }
      }
      let tally = try region.atomicLoad(Int64.self, at: 8)
      #expect(tally & 0xffff_ffff == 1)  // one winner
      #expect(tally >> 32 == Int64(processes - 1))  // the others saw its pid
      #expect(try region.load(Int32.self, at: 0) != 0)
    }
  }

  // MARK: The robust mutex

  // Layout of these tests: mutex at 0, condition at 64, data from 256.

  @Test(.prompt) func aHolderKilledWithSIGKILLNeverWedgesTheNextLocker() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      await #expect(processExitsWith: .signal(SIGKILL)) { [name = name as String] in
        let region = try mapSharedMemory(name, size: 4096)
        guard try region.mutex(at: 0).lock() == .acquired else { exit(3) }
        // Half an update: the record is written, its checksum is not.
        try region.store(Int64(41), at: 256)
        try region.write(Array("written before the crash".utf8), at: 300)
        kill(getpid(), SIGKILL)
      }
      #expect(try mutex.lock(timeout: .seconds(10)) == .ownerDied)
      // The data written before the crash is intact; repair the rest.
      #expect(try region.load(Int64.self, at: 256) == 41)
      #expect(try region.bytes(at: 300, count: 24) == Array("written before the crash".utf8))
      #expect(try region.load(Int64.self, at: 264) == 0)
      try region.store(Int64(41 * 2), at: 264)
      try mutex.markConsistent()
      try mutex.unlock()
      // Back to normal, for this process and others.
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
      await #expect(processExitsWith: .success) { [name = name as String] in
        let region = try mapSharedMemory(name, size: 4096)
        guard try region.mutex(at: 0).lock() == .acquired else { exit(3) }
        guard try region.load(Int64.self, at: 264) == 82 else { exit(4) }
      }
    }
  }

  @Test(.prompt) func withLockRunsTheRepairOnceAfterAHolderDied() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      await #expect(processExitsWith: .signal(SIGKILL)) { [name = name as String] in
        let region = try mapSharedMemory(name, size: 4096)
        try region.mutex(at: 0).withLock(recover: { exit(3) }) {
          try region.store(Int64(-1), at: 256)  // "in progress"
          kill(getpid(), SIGKILL)
        }
      }
      // The blocking form, from synchronous code (async code picks the async form).
      func lockTwice() throws -> (repairs: Int, seen: Int64) {
        var repairs = 0
        let seen = try mutex.withLock(recover: {
          repairs += 1
          try region.store(Int64(0), at: 256)
        }) { try region.load(Int64.self, at: 256) }
        try mutex.withLock(recover: { repairs += 1 }) {}
        return (repairs, seen)
      }
      let (repairs, seen) = try lockTwice()
      #expect(repairs == 1 && seen == 0)
    }
  }

  @Test(.prompt) func unlockingWithoutMarkingConsistentMakesTheMutexUnrecoverable() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      await #expect(processExitsWith: .signal(SIGKILL)) { [name = name as String] in
        let region = try mapSharedMemory(name, size: 4096)
        _ = try region.mutex(at: 0).lock()
        kill(getpid(), SIGKILL)
      }
      #expect(try mutex.lock() == .ownerDied)
      try mutex.unlock()  // the data could not be repaired
      for error in [
        #expect(throws: IPCError.self) { try mutex.lock() },
        #expect(throws: IPCError.self) { try mutex.tryLock() },
        #expect(throws: IPCError.self) { try mutex.lock(timeout: .seconds(1)) },
      ] {
        #expect(error?.code == .notRecoverable)
        #expect(error?.reason.contains("markConsistent()") == true)
      }
      // Another process is refused too, at once: no refusal above kept the
      // mutex (glibc's pthread_mutex_trylock would have, and this would hang).
      await #expect(processExitsWith: .success) { [name = name as String] in
        alarm(60)
        let region = try mapSharedMemory(name, size: 4096)
        let error = #expect(throws: IPCError.self) { try region.mutex(at: 0).lock() }
        guard error?.code == .notRecoverable else { exit(3) }
      }
      // A failed repair in withLock does the same.
      let fresh = try region.initializeMutex(at: 128)
      await #expect(processExitsWith: .signal(SIGKILL)) { [name = name as String] in
        let region = try mapSharedMemory(name, size: 4096)
        _ = try region.mutex(at: 128).lock()
        kill(getpid(), SIGKILL)
      }
      struct Unrepairable: Error {}
      #expect(throws: Unrepairable.self) {
        try fresh.withLock(recover: { throw Unrepairable() }) { Issue.record("ran on broken data") }
      }
      #expect(throws: IPCError.self) { try fresh.tryLock() }
    }
  }

  @Test(.prompt) func theMutexKeepsANonAtomicCounterExactAcrossProcesses() async throws {
    let (processes, rounds) = (3, 2_000)
    try await withSharedRegion { (region, name) async throws in
      try region.initializeMutex(at: 0)
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<processes {
          group.addTask {
            await #expect(processExitsWith: .success) { [name = name as String, rounds = rounds as Int] in
              alarm(60)
              let region = try mapSharedMemory(name, size: 4096)
              let mutex = try region.mutex(at: 0)
              for _ in 0..<rounds {
                try mutex.withLock(recover: { exit(3) }) {
                  let value = try region.load(Int64.self, at: 256)
                  if value % 64 == 0 { sched_yield() }  // widen the window a lost update needs
                  try region.store(value + 1, at: 256)
                }
              }
            }
          }
        }
      }
      #expect(try region.load(Int64.self, at: 256) == Int64(processes * rounds))
    }
  }

  // MARK: The condition

  @Test(.prompt) func aSignalFromAnotherProcessWakesAWaiter() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      // The waiter runs on a thread of its own: the exit test may hold the
      // cooperative pool's threads while its child runs.
      let waiter = BackgroundWork { () throws -> (woken: Bool, timedOut: Int) in
        try mutex.withLock(recover: {}) {
          try region.store(Int32(cipc_gettid()), at: 256)
          var timedOut = 0
          while try region.load(Int32.self, at: 260) == 0 {
            if try !condition.wait(mutex, timeout: .seconds(30)) { timedOut += 1 }
          }
          return (true, timedOut)
        }
      }
      await #expect(processExitsWith: .success) { [name = name as String, parent = getpid() as Int32] in
        alarm(60)
        let region = try mapSharedMemory(name, size: 4096)
        let (mutex, condition) = (try region.mutex(at: 0), try region.condition(at: 64))
        // Signal only once the waiter sleeps in the condition's futex.
        try waitUntilParentThreadSleepsInAFutex(idAt: 256, of: region, parent: parent)
        try mutex.withLock(recover: { exit(5) }) { try region.store(Int32(1), at: 260) }
        try condition.signal()
      }
      let (woken, timedOut) = try waiter.value(timeout: .seconds(60))
      #expect(woken && timedOut == 0)
    }
  }

  @Test(.prompt) func aHolderDyingWhileAnotherWaitsOnTheConditionIsRepairedByWithLock() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      let waiter = BackgroundWork { () throws -> (repairs: Int, error: IPCError.Code?) in
        var repairs = 0
        do {
          try mutex.withLock(recover: { repairs += 1 }) {
            try region.store(Int32(cipc_gettid()), at: 256)
            while try region.load(Int32.self, at: 260) == 0 {
              _ = try condition.wait(mutex, timeout: .seconds(30))
            }
          }
          return (repairs, nil)
        } catch let error as IPCError {
          return (repairs, error.code)
        }
      }
      // The child takes the mutex the waiter released, signals, and dies
      // holding it: the waiter's wait ends with the mutex and EOWNERDEAD.
      await #expect(processExitsWith: .signal(SIGKILL)) {
        [name = name as String, parent = getpid() as Int32] in
        alarm(60)
        let region = try mapSharedMemory(name, size: 4096)
        try waitUntilParentThreadSleepsInAFutex(idAt: 256, of: region, parent: parent)
        guard try region.mutex(at: 0).lock() == .acquired else { exit(5) }
        try region.store(Int32(1), at: 260)
        try region.condition(at: 64).signal()
        kill(getpid(), SIGKILL)
      }
      let (repairs, error) = try waiter.value(timeout: .seconds(60))
      #expect(repairs == 1)
      #expect(error == .ownerDied)  // the wait's report, rethrown after the repair
      // Repaired and marked consistent: usable again.
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
    }
  }
}
