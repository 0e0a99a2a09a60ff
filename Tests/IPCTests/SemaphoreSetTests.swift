import CIPCShims
import Foundation
import Testing

@testable import IPC

/// System V semaphore sets against the real kernel, in one process: P and V,
/// atomic batches, timeouts, values, control, the lock, and every bad input
/// the issue names (error, and nothing changed).
@Suite("System V semaphore sets")
struct SemaphoreSetTests {
  @Test func createSetsTheValuesAndMarksTheSetInitialised() throws {
    try withSemaphoreSet([1, 0, 5]) { (set) throws in
      #expect(set.count == 3)
      #expect(try set.values() == [1, 0, 5])
      let status = try set.stat()
      #expect(status.count == 3)
      #expect(status.key == .private)
      #expect(status.permissions.octal == "0600")
      #expect(status.ownerUID == getuid())
      #expect(ownedByThisProcess(status.ownership, permissions: .ownerReadWrite))
      // The marking semop is what openOrCreate waits for.
      #expect(status.lastOperationTime != nil)
      #expect(try set.lastPID(at: 0) == getpid())
      #expect(try set.lastPID(at: 1) == getpid())
    }
  }

  @Test func initialisingAtSEMVMXKeepsTheValue() throws {
    try withSemaphoreSet([32767, 0]) { (set) throws in
      #expect(try set.values() == [32767, 0])
      #expect(try set.stat().lastOperationTime != nil)
    }
  }

  @Test func waitAndSignalMoveTheValueByTheirAmount() throws {
    try withSemaphoreSet([2]) { (set) throws in
      try set.wait()
      #expect(try set.value() == 1)
      try set.signal(by: 4)
      #expect(try set.value() == 5)
      try set.wait(0, by: 5)
      #expect(try set.value() == 0)
      #expect(try set.tryWait() == false)
      #expect(try set.value() == 0)
      try set.signal()
      #expect(try set.tryWait(0, by: 2) == false)
      #expect(try set.tryWait())
      #expect(try set.value() == 0)
    }
  }

  @Test func aBatchHappensAllAtOnceOrNotAtAll() throws {
    try withSemaphoreSet([1, 0, 3]) { (set) throws in
      // Semaphore 1 is 0: the whole batch would wait, so nothing changes.
      #expect(try set.tryPerform([.wait(0), .wait(1), .signal(2)]) == false)
      #expect(try set.values() == [1, 0, 3])
      try set.perform([.wait(0), .signal(1, by: 2), .wait(2, by: 3)])
      #expect(try set.values() == [0, 2, 0])
      #expect(try set.perform([.wait(1, by: 3)], timeout: .milliseconds(20)) == false)
      #expect(try set.perform([.wait(1, by: 2), .waitForZero(0)], timeout: .seconds(5)))
      #expect(try set.values() == [0, 0, 0])
    }
  }

  @Test func waitForZeroSeesZeroAndNothingElse() throws {
    try withSemaphoreSet([1]) { (set) throws in
      #expect(try set.tryWaitForZero() == false)
      #expect(try set.waitForZero(timeout: .milliseconds(20)) == false)
      try set.wait()
      #expect(try set.tryWaitForZero())
      try set.waitForZero()
      #expect(try set.waitForZero(timeout: .seconds(1)))
      #expect(try set.value() == 0)
    }
  }

  @Test func aTimeoutExpiresAfterItsDurationWithTheValueUnchanged() throws {
    try withSemaphoreSet([1]) { (set) throws in
      let clock = SuspendingClock()
      let start = clock.now
      #expect(try set.wait(0, by: 2, timeout: .milliseconds(150)) == false)
      let elapsed = start.duration(to: clock.now)
      #expect(elapsed >= .milliseconds(150))
      #expect(elapsed < .seconds(5))
      #expect(try set.value() == 1)
      // Zero and negative timeouts try once.
      #expect(try set.wait(timeout: .zero))
      #expect(try set.wait(timeout: .seconds(-1)) == false)
      try set.signal()
      // A huge timeout neither overflows nor waits when it need not.
      #expect(try set.wait(timeout: .seconds(Int64.max)))
    }
  }

  @Test func aWaiterIsCountedAndWokenByASignal() throws {
    try withSemaphoreSet([0, 1]) { (set) throws in
      // Threads of their own, started now: `async let` tasks could wait for a
      // pool thread that exit tests elsewhere hold, while this one polls.
      let waited = BackgroundWork { try set.wait(0, by: 2) }
      let zeroWaited = BackgroundWork { try set.waitForZero(1) }
      let counted = try eventually { try set.waitingToDecrease(at: 0) == 1 && set.waitingForZero(at: 1) == 1 }
      try set.signal(0, by: 2)
      try set.wait(1)
      if !counted { try? set.remove() }  // no hang if the waiters never showed
      try waited.value()
      try zeroWaited.value()
      #expect(counted)
      #expect(try set.values() == [0, 0])
      #expect(try set.waitingToDecrease(at: 0) == 0)
    }
  }

  @Test func anInjectedInterruptIsRetried() throws {
    try withSemaphoreSet([3]) { (set) throws in
      let injection = InterruptInjection(.semop, count: 2)
      try InterruptInjection.$current.withValue(injection) { try set.wait() }
      #expect(injection.delivered == 2)
      #expect(try set.value() == 2)
      let timed = InterruptInjection(.semop, count: 3)
      let taken = try InterruptInjection.$current.withValue(timed) {
        try set.wait(0, by: 2, timeout: .seconds(5))
      }
      #expect(taken)
      #expect(timed.delivered == 3)
      #expect(try set.value() == 0)
    }
  }

  // MARK: Values and control

  @Test func valuesAreReadAndSetOneAtATimeOrAllAtOnce() throws {
    try withSemaphoreSet([0, 0, 0]) { (set) throws in
      try set.setValue(7, at: 1)
      #expect(try set.value(at: 1) == 7)
      try set.setValues([1, 2, 32767])
      #expect(try set.values() == [1, 2, 32767])
    }
  }

  @Test func setsAreOpenedByKeyAndById() throws {
    let key = TestKeys.next()
    let set = try SystemV.SemaphoreSet.create(key: key, values: [4, 2])
    defer { try? set.remove() }
    let byKey = try SystemV.SemaphoreSet.open(key: key)
    #expect(byKey == set)
    #expect(byKey.count == 2)
    #expect(try SystemV.SemaphoreSet.open(key: key, initializationTimeout: .seconds(1)) == set)
    #expect(try SystemV.SemaphoreSet.open(id: set.id) == set)
    #expect(try SystemV.SemaphoreSet.openOrCreate(key: key, values: [0, 0]) == set)
    // openOrCreate never resets an existing set's values.
    #expect(try set.values() == [4, 2])
    #expect(try set.stat().key == key)
  }

  @Test func openOrCreateMakesTheSetOnceAndChecksItsSize() throws {
    let key = TestKeys.next()
    let set = try SystemV.SemaphoreSet.openOrCreate(key: key, values: [3])
    defer { try? set.remove() }
    #expect(try set.values() == [3])
    let error = try #require(throws: IPCError.self) {
      try SystemV.SemaphoreSet.openOrCreate(key: key, values: [0, 0])
    }
    #expect(error.code == .invalidArgument)
    #expect(error.reason.contains("has 1 semaphores, not the 2 asked for"))
    #expect(try set.values() == [3])
  }

  @Test func openOrCreateWaitsForASetNobodyInitialised() throws {
    // A set made by a bare semget, as a crashed creator or ipcmk leaves it.
    let key = TestKeys.next()
    let id = semget(key.rawValue, 1, IPC_CREAT | IPC_EXCL | 0o600)
    try #require(id >= 0)
    defer { _ = cipc_semctl(id, 0, IPC_RMID) }
    let error = try #require(throws: IPCError.self) {
      try SystemV.SemaphoreSet.openOrCreate(key: key, values: [1], initializationTimeout: .milliseconds(100))
    }
    #expect(error.code == .timedOut)
    #expect(error.reason.contains("no semop has run on it"))
    #expect(try SystemV.SemaphoreSet.open(key: key).id == id)
    #expect(throws: IPCError.self) {
      try SystemV.SemaphoreSet.open(key: key, initializationTimeout: .milliseconds(50))
    }
    // The first semop marks it initialised.
    try SystemV.SemaphoreSet.open(key: key).signal()
    #expect(try SystemV.SemaphoreSet.open(key: key, initializationTimeout: .zero).id == id)
  }

  @Test func missingAndExistingSetsGiveClearErrors() throws {
    let key = TestKeys.next()
    let missing = try #require(throws: IPCError.self) { try SystemV.SemaphoreSet.open(key: key) }
    #expect(missing.code == .notFound)
    #expect(missing.reason.contains("create it first with SemaphoreSet.create"))
    let set = try SystemV.SemaphoreSet.create(key: key, values: [0])
    defer { try? set.remove() }
    let exists = try #require(throws: IPCError.self) {
      try SystemV.SemaphoreSet.create(key: key, values: [0])
    }
    #expect(exists.code == .exists)
    #expect(exists.reason.contains("id \(set.id)"))
    #expect(throws: IPCError.self) { try SystemV.SemaphoreSet.open(key: .private) }
    let bogus = try #require(throws: IPCError.self) { try SystemV.SemaphoreSet.open(id: 0x7fff_fff0) }
    #expect(bogus.code == .notFound)
  }

  @Test func permissionsAreSetAndReported() throws {
    try withSemaphoreSet([0], permissions: [.ownerReadWrite, .groupRead]) { (set) throws in
      #expect(try set.stat().permissions.octal == "0640")
      try set.setPermissions(.ownerRead)
      #expect(try set.stat().permissions.octal == "0400")
    }
  }

  @Test func aRemovedSetIsGoneForEveryone() throws {
    let set = try SystemV.SemaphoreSet.create(values: [1])
    try set.remove()
    let error = try #require(throws: IPCError.self) { try set.wait() }
    #expect(error.reason.contains("no semaphore set has id \(set.id)"))
    #expect(throws: IPCError.self) { try set.value() }
    #expect(throws: IPCError.self) { try set.remove() }
    #expect(throws: IPCError.self) { try SystemV.SemaphoreSet.open(id: set.id) }
  }

  @Test func limitsComeFromProc() throws {
    let limits = SystemV.SemaphoreSet.Limits.current()
    let fields = try String(contentsOfFile: "/proc/sys/kernel/sem", encoding: .utf8)
      .split(whereSeparator: \.isWhitespace).map { Int($0) }
    #expect(fields == [limits.maxPerSet, limits.maxSystemWide, limits.maxOperationsPerCall, limits.maxSets])
    #expect(SystemV.SemaphoreSet.Limits.maxValue == 32767)
  }

  // MARK: Bad input: an error, and nothing changed

  @Test func anIndexOutOfRangeIsRejectedBeforeTheCall() throws {
    try withSemaphoreSet([1, 1, 1]) { (set) throws in
      let error = try #require(throws: IPCError.self) { try set.wait(3) }
      #expect(error.code == .invalidArgument)
      #expect(error.operation == "semop")
      #expect(error.object == "semaphore set \(set.id)")
      #expect(error.reason.contains("index 3 is out of range: the set has 3 semaphores (0 to 2)"))
      // One bad index spoils the whole batch before anything runs.
      #expect(throws: IPCError.self) { try set.perform([.wait(0), .signal(-1)]) }
      #expect(throws: IPCError.self) { try set.tryPerform([.signal(1), .signal(7)]) }
      #expect(throws: IPCError.self) { try set.value(at: 3) }
      #expect(throws: IPCError.self) { try set.setValue(0, at: -1) }
      #expect(throws: IPCError.self) { try set.waitingForZero(at: 3) }
      #expect(throws: IPCError.self) { try SystemV.SemaphoreLock(set: set, index: 3) }
      #expect(try set.values() == [1, 1, 1])
    }
  }

  @Test func valuesAboveSEMVMXAreRejectedNamingTheLimit() throws {
    let create = try #require(throws: IPCError.self) {
      try SystemV.SemaphoreSet.create(values: [0, 40000])
    }
    #expect(create.code == .outOfRange)
    #expect(create.reason.contains("value 40000 for semaphore 1 is outside 0 to 32767 (SEMVMX"))
    #expect(throws: IPCError.self) { try SystemV.SemaphoreSet.create(values: []) }
    #expect(throws: IPCError.self) { try SystemV.SemaphoreSet.create(values: [-1]) }
    try withSemaphoreSet([5, 6]) { (set) throws in
      let single = try #require(throws: IPCError.self) { try set.setValue(32768, at: 1) }
      #expect(single.code == .outOfRange)
      #expect(single.reason.contains("value 32768 for semaphore 1 is outside"))
      #expect(throws: IPCError.self) { try set.setValues([1, 40000]) }
      #expect(throws: IPCError.self) { try set.setValues([1]) }
      let amount = try #require(throws: IPCError.self) { try set.signal(by: 40000) }
      #expect(amount.code == .outOfRange)
      #expect(amount.reason.contains("SEMVMX 32767"))
      #expect(throws: IPCError.self) { try set.wait(0, by: 32768) }
      #expect(try set.values() == [5, 6])
    }
  }

  /// The extremes of Int are amounts like any other too large: an error, never a trap.
  @Test func amountsOfIntMinAndMaxAreRefusedNotTrapped() throws {
    try withSemaphoreSet([5, 6]) { (set) throws in
      let attempts: [(String, () throws -> Void)] = [
        ("wait by .min", { try set.wait(0, by: .min) }),
        ("tryWait by .min", { _ = try set.tryWait(0, by: .min) }),
        ("timed wait by .min", { _ = try set.wait(0, by: .min, timeout: .milliseconds(10)) }),
        ("signal by .min", { try set.signal(0, by: .min) }),
        ("signal by .max", { try set.signal(0, by: .max) }),
        ("perform .wait by .min", { try set.perform([.wait(1, by: .min)]) }),
        (
          "perform delta .min",
          { try set.perform([.signal(0), SystemV.SemaphoreSet.Operation(index: 1, delta: .min)]) }
        ),
      ]
      for (name, attempt) in attempts {
        let error = try #require(throws: IPCError.self, "\(name)") { try attempt() }
        // Int.min as an amount is below 1; as a delta, or Int.max, it is above SEMVMX.
        #expect(
          error.code == (name.hasSuffix("by .min") ? .invalidArgument : .outOfRange), "\(name): \(error)")
        #expect(error.reason.contains("SEMVMX 32767"), "\(name): \(error)")
      }
      #expect(try set.values() == [5, 6])
    }
  }

  /// A P or V of 0 or less would be another act (a wait for zero, or the
  /// opposite move) and might block: refused before the call, nothing changed.
  @Test(.prompt, arguments: [0, -1, -5, Int.min + 1])
  func anAmountBelowOneIsRefusedNotTurnedIntoAnotherAct(amount: Int) async throws {
    try await withSemaphoreSet([0, 3]) { (set) async throws in
      let attempts: [(String, () async throws -> Void)] = [
        ("wait", { try set.wait(1, by: amount) }),
        ("tryWait", { _ = try set.tryWait(1, by: amount) }),
        ("timed wait", { _ = try set.wait(1, by: amount, timeout: .seconds(Int64.max)) }),
        ("signal", { try set.signal(0, by: amount) }),
        ("async wait", { try await set.wait(1, by: amount) }),
        ("async timed wait", { _ = try await set.wait(1, by: amount, timeout: .seconds(1)) }),
        ("perform .wait", { try set.perform([.signal(1), .wait(0, by: amount)]) }),
        ("perform .signal", { _ = try set.perform([.signal(1), .signal(0, by: amount)], timeout: .zero) }),
        ("async perform", { try await set.perform([.signal(1), .wait(1, by: amount)]) }),
      ]
      for (name, attempt) in attempts {
        let error = try await #require(throws: IPCError.self, "\(name)") { try await attempt() }
        #expect(error.code == .invalidArgument, "\(name): \(error)")
        #expect(error.reason.contains("an amount of \(amount)"), "\(name): \(error)")
        #expect(error.reason.contains("1 to SEMVMX 32767"), "\(name): \(error)")
      }
      #expect(try set.values() == [0, 3])
    }
  }

  @Test func anOverflowingSignalFailsWithERANGEAndChangesNothing() throws {
    try withSemaphoreSet([32760, 0]) { (set) throws in
      let error = try #require(throws: IPCError.self) {
        try set.perform([.signal(1), .signal(0, by: 8)])
      }
      #expect(error.code == .outOfRange)
      #expect(error.operation == "semop")
      #expect(error.reason.contains("semaphore 0 (value 32760) would pass SEMVMX 32767"))
      #expect(try set.values() == [32760, 0])
      try set.signal(0, by: 7)
      #expect(throws: IPCError.self) { try set.signal() }
      #expect(try set.values() == [32767, 0])
    }
  }

  @Test func tooManyOperationsInOneCallNameSEMOPM() throws {
    try withSemaphoreSet([0]) { (set) throws in
      let limit = SystemV.SemaphoreSet.Limits.current().maxOperationsPerCall
      let batch = Array(repeating: SystemV.SemaphoreSet.Operation.signal(0), count: limit + 1)
      let error = try #require(throws: IPCError.self) { try set.perform(batch) }
      #expect(error.code == .tooBig)
      #expect(error.reason.contains("SEMOPM \(limit)"))
      #expect(error.reason.contains("/proc/sys/kernel/sem"))
      #expect(throws: IPCError.self) { try set.perform([]) }
      #expect(try set.value() == 0)
    }
  }

  // MARK: The lock

  @Test func theLockIsTakenOnceAndGivenBack() throws {
    let lock = try SystemV.SemaphoreLock.create()
    defer { try? lock.set.remove() }
    #expect(try lock.set.values() == [1])
    #expect(try lock.tryLock())
    #expect(try lock.tryLock() == false)
    #expect(try lock.lock(timeout: .milliseconds(20)) == false)
    try lock.unlock()
    #expect(try lock.lock(timeout: .seconds(1)))
    try lock.unlock()
    #expect(try lock.set.value() == 1)
  }

  @Test func unlockingALockThatIsNotHeldFailsAndChangesNothing() throws {
    let lock = try SystemV.SemaphoreLock.create()
    defer { try? lock.set.remove() }
    let error = try #require(throws: IPCError.self) { try lock.unlock() }
    #expect(error.code == .invalidArgument)
    #expect(error.reason.contains("not held"))
    #expect(try lock.set.value() == 1)
  }

  @Test func removingTheLockRemovesItsSetAndWakesAWaiter() throws {
    let lock = try SystemV.SemaphoreLock.create()
    defer { try? lock.set.remove() }
    #expect(try lock.tryLock())
    let waiter = BackgroundWork { try lock.lock(timeout: .seconds(10)) }
    usleep(50_000)
    try lock.remove()
    let error = try #require(throws: IPCError.self) { try waiter.value() }
    #expect(error.code == .removed)
    #expect(throws: IPCError.self) { try lock.set.value() }
    let again = try #require(throws: IPCError.self) { try lock.remove() }
    #expect(again.code == .invalidArgument)
    #expect(again.reason.contains("never made, or removed"))
  }

  @Test func withLockReleasesAlsoWhenTheBodyThrows() throws {
    struct Oops: Error {}
    let lock = try SystemV.SemaphoreLock.create()
    defer { try? lock.set.remove() }
    let inside = try lock.withLock { try lock.set.value() }
    #expect(inside == 0)
    #expect(throws: Oops.self) { try lock.withLock { throw Oops() } }
    #expect(try lock.set.value() == 1)
  }
}
