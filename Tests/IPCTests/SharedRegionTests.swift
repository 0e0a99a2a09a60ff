import CIPCShims
import Foundation
import Synchronization
import Testing

@testable import IPC

/// SharedRegion within one process: typed values, bytes, scoped access,
/// every bad input (with the bytes checked unchanged), closing, atomics.
@Suite("Shared regions")
struct SharedRegionTests {
  // MARK: Values

  @Test func integersFloatsTuplesAndStructsRoundTripAtAlignedOffsets() throws {
    try withSharedRegion { region, _ in
      try region.store(Int8(-8), at: 0)
      try region.store(UInt8(200), at: 1)
      try region.store(Int16(-1616), at: 2)
      try region.store(Int32(-32_323_232), at: 4)
      try region.store(Int64.min, at: 8)
      try region.store(UInt64.max, at: 16)
      try region.store(3.25 as Double, at: 24)
      try region.store(Float(-0.5), at: 32)
      try region.store((Int32(7), Int32(-9)), at: 40)
      let sample = Sample(id: 42, flag: 1, ratio: 0.125)
      try region.store(sample, at: 48)
      #expect(try region.load(Int8.self, at: 0) == -8)
      #expect(try region.load(UInt8.self, at: 1) == 200)
      #expect(try region.load(Int16.self, at: 2) == -1616)
      #expect(try region.load(Int32.self, at: 4) == -32_323_232)
      #expect(try region.load(Int64.self, at: 8) == .min)
      #expect(try region.load(UInt64.self, at: 16) == .max)
      #expect(try region.load(Double.self, at: 24) == 3.25)
      #expect(try region.load(Float.self, at: 32) == -0.5)
      let pair = try region.load((Int32, Int32).self, at: 40)
      #expect(pair == (7, -9))
      #expect(try region.load(Sample.self, at: 48) == sample)
      // The last aligned slot of the region is inside it.
      try region.store(Int64(99), at: region.count - 8)
      #expect(try region.load(Int64.self, at: region.count - 8) == 99)
      #expect(region.count == 4096 && region.isWritable)
    }
  }

  @Test func bytesAreCopiedInAndOutFromAnySequence() throws {
    try withSharedRegion { region, _ in
      try region.write([1, 2, 3, 4], at: 10)
      try region.write(Array("hello".utf8)[1...], at: 20)  // a slice
      try region.write((5...7).map { UInt8($0) }.lazy.map { $0 * 2 }, at: 30)  // not contiguous
      try region.write([UInt8](), at: region.count)  // nothing, at the end: fine
      try [UInt8]([7, 8, 9]).withUnsafeBytes { raw in try region.write(raw, at: 40) }  // raw bytes
      #expect(try region.bytes(at: 10, count: 4) == [1, 2, 3, 4])
      #expect(try region.bytes(at: 20, count: 4) == Array("ello".utf8))
      #expect(try region.bytes(at: 30, count: 3) == [10, 12, 14])
      #expect(try region.bytes(at: 40, count: 3) == [7, 8, 9])
      #expect(try region.bytes(at: region.count, count: 0) == [])
      let sum = try region.withUnsafeBytes { buffer in buffer[10..<14].reduce(0, +) }
      #expect(sum == 10)
      try region.withUnsafeMutableBytes { buffer in buffer[4095] = 0xAB }
      #expect(try region.bytes(at: 4095, count: 1) == [0xAB])
    }
  }

  // MARK: Bad input

  @Test(arguments: [(-1, 8), (4089, 8), (4096, 8), (Int.max - 2, 8), (0, 4097), (0, -1), (Int.min, 0)])
  func rangesOutsideTheRegionAreRefusedWithNothingTouched(offset: Int, length: Int) throws {
    try withSharedRegion { region, _ in
      try region.write([UInt8](repeating: 0x5A, count: 4096), at: 0)
      if length >= 0 {  // write takes its length from the bytes
        let write = #expect(throws: IPCError.self) {
          try region.write([UInt8](repeating: 1, count: length), at: offset)
        }
        #expect(write?.code == .invalidArgument)
        #expect(write?.operation == "write")
        #expect(write?.object.hasPrefix("shared memory /ipc-shm-") == true)
        #expect(write?.reason.contains("\(offset)") == true)
        #expect(write?.reason.contains("4096") == true || offset < 0)
        let raw = #expect(throws: IPCError.self) {
          try [UInt8](repeating: 1, count: length).withUnsafeBytes { try region.write($0, at: offset) }
        }
        #expect(raw?.code == .invalidArgument && raw?.operation == "write")
      }
      let read = #expect(throws: IPCError.self) { try region.bytes(at: offset, count: length) }
      #expect(read?.code == .invalidArgument)
      if length == 8 {
        #expect(throws: IPCError.self) { try region.store(Int64(1), at: offset) }
        #expect(throws: IPCError.self) { try region.load(Int64.self, at: offset) }
        #expect(throws: IPCError.self) { try region.atomicAdd(Int64(1), at: offset) }
      }
      #expect(try region.bytes(at: 0, count: 4096) == [UInt8](repeating: 0x5A, count: 4096))
    }
  }

  @Test func aNegativeLengthIsNamed() throws {
    try withSharedRegion { region, _ in
      let error = #expect(throws: IPCError.self) { try region.bytes(at: 0, count: -3) }
      #expect(error?.reason.contains("length -3 is negative") == true)
      let offset = #expect(throws: IPCError.self) { try region.load(Int32.self, at: -4) }
      #expect(offset?.reason.contains("offset -4 is negative") == true)
    }
  }

  @Test func misalignedValuesAndAtomicsAreRefusedWithNothingTouched() throws {
    try withSharedRegion { region, _ in
      let load = #expect(throws: IPCError.self) { try region.load(Int64.self, at: 4) }
      #expect(load?.code == .invalidArgument)
      #expect(load?.reason.contains("offset 4 is not a multiple of 8") == true)
      #expect(throws: IPCError.self) { try region.store(Int32(-1), at: 2) }
      #expect(throws: IPCError.self) { try region.store(1.0 as Double, at: 1) }
      #expect(throws: IPCError.self) { try region.atomicStore(Int64(-1), at: 12) }
      #expect(throws: IPCError.self) { try region.atomicAdd(Int32(-1), at: 6) }
      #expect(throws: IPCError.self) { try region.atomicLoad(Int32.self, at: 1) }
      let cas = #expect(throws: IPCError.self) {
        try region.atomicCompareExchange(expected: Int64(0), desired: -1, at: 20)
      }
      #expect(cas?.operation == "atomic_compare_exchange_strong_explicit")
      // A tuple of Int32 needs 4-byte alignment only; Int8 none.
      try region.store((Int32(1), Int32(2)), at: 100)
      try region.store(Int8(3), at: 111)
      #expect(try region.bytes(at: 0, count: 64) == [UInt8](repeating: 0, count: 64))
    }
  }

  @Test func aReadOnlyMappingRefusesEveryChangeBeforeTouchingMemory() throws {
    try withSharedRegion { writer, name in
      try writer.store(Int64(1234), at: 0)
      try writer.write([9, 8, 7], at: 100)
      let reader = try mapSharedMemory(name, size: 4096, writable: false)
      #expect(!reader.isWritable)
      func refused(_ operation: String, _ body: () throws -> Void) {
        let error = #expect(throws: IPCError.self, performing: body)
        #expect(error?.code == .permissionDenied)
        #expect(error?.operation == operation)
        #expect(error?.reason.contains("read-only") == true)
      }
      // Each of these would die of SIGSEGV if it reached the memory.
      refused("store") { try reader.store(Int64(5), at: 0) }
      refused("write") { try reader.write([1, 2, 3], at: 100) }
      refused("withUnsafeMutableBytes") { try reader.withUnsafeMutableBytes { $0[0] = 1 } }
      refused("atomic_store_explicit") { try reader.atomicStore(Int64(5), at: 0) }
      refused("atomic_fetch_add_explicit") { try reader.atomicAdd(Int64(5), at: 0) }
      refused("atomic_exchange_explicit") { try reader.atomicExchange(Int64(5), at: 0) }
      refused("atomic_compare_exchange_strong_explicit") {
        try reader.atomicCompareExchange(expected: Int64(1234), desired: 5, at: 0)
      }
      // Reading works, and nothing changed.
      #expect(try reader.load(Int64.self, at: 0) == 1234)
      #expect(try reader.atomicLoad(Int64.self, at: 0) == 1234)
      #expect(try reader.bytes(at: 100, count: 3) == [9, 8, 7])
      #expect(try reader.withUnsafeBytes { $0[100] } == 9)
    }
  }

  @Test func aClosedRegionRefusesEveryAccessAndIsUnmappedOnce() throws {
    let releases = ReleaseCounter()
    try withSharedRegion { _, name in
      do {
        let region = try mapSharedMemory(name, size: 4096, releases: releases)
        try region.store(Int32(5), at: 0)
        try region.close()
        #expect(region.isClosed)
        #expect(releases.value == 1)
        let errors = [
          #expect(throws: IPCError.self) { try region.load(Int32.self, at: 0) },
          #expect(throws: IPCError.self) { try region.store(Int32(1), at: 0) },
          #expect(throws: IPCError.self) { try region.bytes(at: 0, count: 1) },
          #expect(throws: IPCError.self) { try region.write([1], at: 0) },
          #expect(throws: IPCError.self) { try region.withUnsafeBytes { _ in } },
          #expect(throws: IPCError.self) { try region.atomicAdd(Int32(1), at: 0) },
          #expect(throws: IPCError.self) { try region.close() },
        ]
        for error in errors {
          #expect(error?.code == .badDescriptor)
          #expect(error?.reason.contains("closed") == true)
        }
      }
      #expect(releases.value == 1)  // deinit does not unmap again
      // The object kept its contents.
      #expect(try mapSharedMemory(name, size: 4096).load(Int32.self, at: 0) == 5)
    }
  }

  @Test func closingDuringAnAccessUnmapsWhenTheAccessEnds() throws {
    let releases = ReleaseCounter()
    try withSharedRegion { _, name in
      let region = try mapSharedMemory(name, size: 4096, releases: releases)
      try region.withUnsafeMutableBytes { buffer in
        try region.close()
        #expect(releases.value == 0)
        buffer[0] = 1  // still mapped
      }
      #expect(releases.value == 1)
    }
  }

  @Test func aRegionIsUnmappedWhenReleased() throws {
    let releases = ReleaseCounter()
    try withSharedRegion { _, name in
      do {
        let region = try mapSharedMemory(name, size: 4096, releases: releases)
        try region.store(Int8(1), at: 0)
      }
      #expect(releases.value == 1)
    }
  }

  // MARK: Atomics

  @Test func atomicOperationsOnInt32AndInt64() throws {
    try withSharedRegion { region, _ in
      try region.atomicStore(Int64(10), at: 8)
      #expect(try region.atomicAdd(Int64(5), at: 8) == 10)
      #expect(try region.atomicLoad(Int64.self, at: 8) == 15)
      #expect(try region.atomicExchange(Int64(-2), at: 8, ordering: .acquiringAndReleasing) == 15)
      #expect(try region.load(Int64.self, at: 8) == -2)
      try region.atomicStore(Int32.max, at: 4, ordering: .releasing)
      #expect(try region.atomicAdd(Int32(1), at: 4, ordering: .relaxed) == .max)  // wraps
      #expect(try region.atomicLoad(Int32.self, at: 4, ordering: .acquiring) == .min)
      // Neighbours untouched.
      #expect(try region.load(Int32.self, at: 0) == 0)
      #expect(try region.load(Int64.self, at: 16) == 0)
    }
  }

  @Test(arguments: MemoryOrdering.allCases)
  func compareExchangeReplacesOnlyTheExpectedValue(ordering: MemoryOrdering) throws {
    try withSharedRegion { region, _ in
      try region.atomicStore(Int64(7), at: 0)
      let miss = try region.atomicCompareExchange(expected: Int64(6), desired: 100, at: 0, ordering: ordering)
      #expect(!miss.exchanged && miss.original == 7)
      #expect(try region.atomicLoad(Int64.self, at: 0) == 7)
      let hit = try region.atomicCompareExchange(expected: Int64(7), desired: 100, at: 0, ordering: ordering)
      #expect(hit.exchanged && hit.original == 7)
      #expect(try region.atomicLoad(Int64.self, at: 0) == 100)
      let small = try region.atomicCompareExchange(
        expected: Int32(0), desired: -5, at: 12, ordering: ordering)
      #expect(small.exchanged && small.original == 0)
      #expect(try region.load(Int32.self, at: 12) == -5)
    }
  }

  @Test func orderingsC11ForbidsAreRefused() throws {
    try withSharedRegion { (region, _) throws in
      for ordering in [MemoryOrdering.releasing, .acquiringAndReleasing] {
        let error = #expect(throws: IPCError.self) {
          try region.atomicLoad(Int64.self, at: 0, ordering: ordering)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.reason.contains(ordering.description) == true)
      }
      for ordering in [MemoryOrdering.acquiring, .acquiringAndReleasing] {
        #expect(throws: IPCError.self) { try region.atomicStore(Int64(1), at: 0, ordering: ordering) }
      }
      #expect(try region.load(Int64.self, at: 0) == 0)
    }
  }

  @Test(.prompt) func threadsAddingAtomicallyLoseNothing() async throws {
    try await withSharedRegion { (region, _) async throws in
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<4 {
          group.addTask {
            for _ in 0..<10_000 { _ = try? region.atomicAdd(Int64(1), at: 64, ordering: .relaxed) }
          }
        }
      }
      #expect(try region.atomicLoad(Int64.self, at: 64) == 40_000)
    }
  }
}

/// The robust mutex and the condition within one process: misuse, timeouts
/// and closing. The cross-process behaviour is in SharedRegionProcessTests.
@Suite("Shared mutexes and conditions")
struct SharedMutexTests {
  @Test func mutexesAndConditionsNeedAnAlignedSlotInsideAWritableRegion() throws {
    try withSharedRegion { (region, name) throws in
      for offset in [4, -8, region.count - 8, region.count] {
        let error = #expect(throws: IPCError.self) { try region.initializeMutex(at: offset) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.operation == "pthread_mutex_init")
        #expect(throws: IPCError.self) { try region.mutex(at: offset) }
        #expect(throws: IPCError.self) { try region.initializeCondition(at: offset) }
        #expect(throws: IPCError.self) { try region.condition(at: offset) }
      }
      #expect(try region.bytes(at: 0, count: 4096) == [UInt8](repeating: 0, count: 4096))
      let reader = try mapSharedMemory(name, size: 4096, writable: false)
      let error = #expect(throws: IPCError.self) { try reader.initializeMutex(at: 0) }
      #expect(error?.code == .permissionDenied)
      #expect(throws: IPCError.self) { try reader.mutex(at: 0) }
      #expect(throws: IPCError.self) { try reader.initializeCondition(at: 64) }
      #expect(SharedMutex.size == MemoryLayout<pthread_mutex_t>.size && SharedMutex.alignment == 8)
    }
  }

  /// glibc would take zeroed bytes as a private, non-robust mutex and say
  /// nothing: a holder's death would then wedge everyone. The handle refuses.
  @Test func aMutexOrConditionThatWasNeverInitializedIsRefused() throws {
    try withSharedRegion { (region, _) throws in
      let mutexError = #expect(throws: IPCError.self) { try region.mutex(at: 64) }
      #expect(mutexError?.code == .invalidArgument)
      #expect(mutexError?.operation == "mutex(at:)")
      #expect(mutexError?.object == "mutex at offset 64 of \(region.object)")
      #expect(mutexError?.reason.contains("not a process-shared mutex made by initializeMutex(at:)") == true)
      let conditionError = #expect(throws: IPCError.self) { try region.condition(at: 128) }
      #expect(
        conditionError?.reason.contains("not a process-shared condition made by initializeCondition(at:)")
          == true
      )
      // A condition's bytes are not a mutex, nor the other way round.
      try region.initializeCondition(at: 128)
      try region.initializeMutex(at: 64)
      #expect(throws: IPCError.self) { try region.mutex(at: 128) }
      #expect(throws: IPCError.self) { try region.condition(at: 64) }
      // Checking reads only: nothing in the region changed.
      #expect(try region.bytes(at: 0, count: 64) == [UInt8](repeating: 0, count: 64))

      // Still recognised while a thread holds the mutex or sleeps in the condition.
      let (mutex, condition) = (try region.mutex(at: 64), try region.condition(at: 128))
      let waiter = BackgroundWork { () throws -> Bool in
        try mutex.withLock(recover: {}) {
          try region.store(Int32(cipc_gettid()), at: 256)
          while try region.load(Int32.self, at: 260) == 0 {
            _ = try condition.wait(mutex, timeout: .seconds(30))
          }
          return true
        }
      }
      #expect(eventually { ((try? region.atomicLoad(Int32.self, at: 256)) ?? 0) != 0 })
      #expect(threadBlocks(try region.atomicLoad(Int32.self, at: 256), inAnyOf: futexWaitChannels))
      let again = try region.mutex(at: 64)
      try again.withLock(recover: {}) { try region.store(Int32(1), at: 260) }
      try region.condition(at: 128).signal()
      #expect(try waiter.value(timeout: .seconds(30)))
    }
  }

  @Test func lockingTwiceOnOneThreadOrUnlockingAFreeMutexIsAnError() throws {
    try withSharedRegion { (region, _) throws in
      let mutex = try region.initializeMutex(at: 64)
      #expect(try mutex.lock() == .acquired)
      let again = #expect(throws: IPCError.self) { try mutex.lock() }
      #expect(again?.code == .deadlock)
      #expect(again?.object == "mutex at offset 64 of \(region.object)")
      try mutex.unlock()
      let unlock = #expect(throws: IPCError.self) { try mutex.unlock() }
      #expect(unlock?.code == .notPermitted)
      let consistent = #expect(throws: IPCError.self) { try mutex.markConsistent() }
      #expect(consistent?.code == .invalidArgument)
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
    }
  }

  @Test func aMutexHeldByAnotherThreadIsBusyAndTimesOut() throws {
    try withSharedRegion { (region, _) throws in
      let mutex = try region.initializeMutex(at: 0)
      let holding = Atomic<Bool>(false)
      let release = Atomic<Bool>(false)
      let holder = BackgroundWork {
        #expect(try mutex.lock() == .acquired)
        holding.store(true, ordering: .releasing)
        _ = eventually { release.load(ordering: .acquiring) }
        try mutex.unlock()
      }
      #expect(eventually { holding.load(ordering: .acquiring) })
      #expect(try mutex.tryLock() == nil)
      let clock = ContinuousClock()
      let start = clock.now
      #expect(try mutex.lock(timeout: .milliseconds(200)) == nil)
      #expect(clock.now - start >= .milliseconds(200))
      release.store(true, ordering: .releasing)
      try holder.value()
      #expect(try mutex.lock(timeout: .seconds(10)) == .acquired)
      try mutex.unlock()
    }
  }

  @Test func withLockUnlocksWhenTheBodyThrows() throws {
    struct Failure: Error {}
    try withSharedRegion { (region, _) throws in
      let mutex = try region.initializeMutex(at: 0)
      #expect(throws: Failure.self) { try mutex.withLock(recover: {}) { throw Failure() } }
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
      let value = try mutex.withLock(recover: { Issue.record("nobody died") }) { 42 }
      #expect(value == 42)
    }
  }

  @Test func aTimedConditionWaitExpiresAfterItsTimeoutWithTheMutexHeld() throws {
    try withSharedRegion { (region, _) throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      let clock = ContinuousClock()
      try mutex.withLock(recover: {}) { () throws in
        let start = clock.now
        #expect(try condition.wait(mutex, timeout: .milliseconds(150)) == false)
        #expect(clock.now - start >= .milliseconds(150))
        #expect(try condition.wait(mutex, timeout: .zero) == false)
      }
      // Signals with nobody waiting are lost, harmlessly.
      try condition.signal()
      try condition.broadcast()
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
      let unheld = #expect(throws: IPCError.self) { try condition.wait(mutex, timeout: .milliseconds(10)) }
      #expect(unheld?.code == .notPermitted)
    }
  }

  @Test func handlesOnAClosedRegionThrowInsteadOfTouchingIt() throws {
    try withSharedRegion { (_, name) throws in
      let region = try mapSharedMemory(name, size: 4096)
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      try region.close()
      for error in [
        #expect(throws: IPCError.self) { try mutex.lock() },
        #expect(throws: IPCError.self) { try mutex.unlock() },
        #expect(throws: IPCError.self) { try condition.signal() },
        #expect(throws: IPCError.self) { try condition.wait(mutex) },
      ] {
        #expect(error?.code == .badDescriptor)
      }
    }
  }
}

/// `SharedRegion.withAccess` and its `Access`: every operation checked as the
/// region's own (the same errors, nothing touched), values and atomics that
/// round-trip, and the access count that keeps `close()` from unmapping
/// memory under a running body.
@Suite("Shared region scoped access")
struct SharedRegionAccessTests {
  @Test(arguments: [(-1, 8), (4089, 8), (4096, 8), (Int.max - 2, 8), (0, 4097), (Int.min, 0)])
  func everyOperationRefusesARangeOutsideTheRegionWithNothingTouched(offset: Int, length: Int) throws {
    try withSharedRegion { (region, _) throws in
      let fill = [UInt8](repeating: 0x5A, count: 4096)
      try region.write(fill, at: 0)
      let ones = [UInt8](repeating: 1, count: length)
      let into = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 8)
      defer { into.deallocate() }
      into.initializeMemory(as: UInt8.self, repeating: 0xEE)
      try region.withAccess { (access) throws in
        let write = sameError(
          { try access.write(ones, at: offset) }, as: { try region.write(ones, at: offset) })
        #expect(write?.code == .invalidArgument && write?.operation == "write")
        sameError(
          { try ones.withUnsafeBytes { raw in try access.write(raw, at: offset) } },
          as: { try ones.withUnsafeBytes { raw in try region.write(raw, at: offset) } })
        sameError(
          { _ = try access.bytes(at: offset, count: length) },
          as: { _ = try region.bytes(at: offset, count: length) })
        sameError(
          { try access.bytes(at: offset, into: into) }, as: { try region.bytes(at: offset, into: into) })
        if length == 8 {
          sameError(
            { _ = try access.load(Int64.self, at: offset) },
            as: { _ = try region.load(Int64.self, at: offset) })
          sameError(
            { try access.store(Int64(1), at: offset) }, as: { try region.store(Int64(1), at: offset) })
          sameError(
            { _ = try access.atomicLoad(Int64.self, at: offset) },
            as: { _ = try region.atomicLoad(Int64.self, at: offset) })
          sameError(
            { try access.atomicStore(Int64(1), at: offset) },
            as: { try region.atomicStore(Int64(1), at: offset) })
          sameError(
            { try access.atomicAdd(Int64(1), at: offset) }, as: { try region.atomicAdd(Int64(1), at: offset) }
          )
          sameError(
            { try access.atomicExchange(Int64(1), at: offset) },
            as: { try region.atomicExchange(Int64(1), at: offset) })
          sameError(
            {
              try access.atomicCompareExchange(expected: Int64(0x5A5A_5A5A_5A5A_5A5A), desired: 1, at: offset)
            },
            as: {
              try region.atomicCompareExchange(expected: Int64(0x5A5A_5A5A_5A5A_5A5A), desired: 1, at: offset)
            })
        }
        #expect(try access.bytes(at: 0, count: 4096) == fill)
      }
      #expect(into.allSatisfy { $0 == 0xEE })
    }
  }

  @Test func everyOperationRefusesAMisalignedOffsetOrAForbiddenOrderingWithNothingTouched() throws {
    try withSharedRegion { (region, _) throws in
      try region.withAccess { (access) throws in
        let load = sameError(
          { _ = try access.load(Int64.self, at: 4) }, as: { _ = try region.load(Int64.self, at: 4) })
        #expect(load?.reason.contains("offset 4 is not a multiple of 8") == true)
        sameError({ try access.store(Int32(-1), at: 2) }, as: { try region.store(Int32(-1), at: 2) })
        sameError(
          { _ = try access.atomicLoad(Int32.self, at: 1) },
          as: { _ = try region.atomicLoad(Int32.self, at: 1) })
        sameError(
          { try access.atomicStore(Int64(-1), at: 12) }, as: { try region.atomicStore(Int64(-1), at: 12) })
        sameError({ try access.atomicAdd(Int32(-1), at: 6) }, as: { try region.atomicAdd(Int32(-1), at: 6) })
        sameError(
          { try access.atomicExchange(Int64(-1), at: 20) },
          as: { try region.atomicExchange(Int64(-1), at: 20) })
        sameError(
          { try access.atomicCompareExchange(expected: Int64(0), desired: -1, at: 20) },
          as: { try region.atomicCompareExchange(expected: Int64(0), desired: -1, at: 20) })
        for ordering in [MemoryOrdering.releasing, .acquiringAndReleasing] {
          let error = sameError(
            { _ = try access.atomicLoad(Int64.self, at: 0, ordering: ordering) },
            as: { _ = try region.atomicLoad(Int64.self, at: 0, ordering: ordering) })
          #expect(error?.reason.contains(ordering.description) == true)
        }
        for ordering in [MemoryOrdering.acquiring, .acquiringAndReleasing] {
          sameError(
            { try access.atomicStore(Int64(-1), at: 0, ordering: ordering) },
            as: { try region.atomicStore(Int64(-1), at: 0, ordering: ordering) })
        }
        #expect(try access.bytes(at: 0, count: 64) == [UInt8](repeating: 0, count: 64))
      }
    }
  }

  @Test func aReadOnlyAccessRefusesEveryChangeBeforeTouchingMemory() throws {
    try withSharedRegion { (writer, name) throws in
      try writer.store(Int64(1234), at: 0)
      try writer.write([9, 8, 7], at: 100)
      let reader = try mapSharedMemory(name, size: 4096, writable: false)
      try reader.withAccess { (access) throws in
        #expect(!access.isWritable && access.count == 4096)
        // Each of these would die of SIGSEGV if it reached the memory.
        for (operation, change) in [
          ("store", { () throws in try access.store(Int64(5), at: 0) }),
          ("write", { () throws in try access.write([1, 2, 3], at: 100) }),
          (
            "write",
            { () throws in
              try [UInt8](repeating: 1, count: 3).withUnsafeBytes { raw in
                try access.write(raw, at: 100)
              }
            }
          ),
          ("atomic_store_explicit", { () throws in try access.atomicStore(Int64(5), at: 0) }),
          ("atomic_fetch_add_explicit", { () throws in try access.atomicAdd(Int64(5), at: 0) }),
          ("atomic_exchange_explicit", { () throws in try access.atomicExchange(Int64(5), at: 0) }),
          (
            "atomic_compare_exchange_strong_explicit",
            { () throws in
              try access.atomicCompareExchange(expected: Int64(1234), desired: 5, at: 0)
            }
          ),
        ] {
          let error = #expect(throws: IPCError.self) { try change() }
          #expect(error?.code == .permissionDenied && error?.operation == operation)
          #expect(error?.reason.contains("read-only") == true)
        }
        // Reading works, and nothing changed.
        #expect(try access.load(Int64.self, at: 0) == 1234)
        #expect(try access.atomicLoad(Int64.self, at: 0, ordering: .acquiring) == 1234)
        #expect(try access.bytes(at: 100, count: 3) == [9, 8, 7])
      }
      let store = sameError(
        { try reader.withAccess { (access) throws(IPCError) in try access.store(Int64(5), at: 0) } as Void },
        as: { try reader.store(Int64(5), at: 0) })
      #expect(store?.code == .permissionDenied)
    }
  }

  @Test func valuesBytesAndAtomicsRoundTrip() throws {
    try withSharedRegion { (region, _) throws in
      let sample = Sample(id: 42, flag: 1, ratio: 0.125)
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
      defer { buffer.deallocate() }
      let result = try region.withAccess { (access) throws in
        #expect(access.count == 4096 && access.isWritable)
        try access.store(Int16(-1616), at: 2)
        try access.store(sample, at: 48)
        try access.write([1, 2, 3, 4], at: 10)
        try access.write((5...7).map { UInt8($0) }.lazy.map { $0 * 2 }, at: 30)  // not contiguous
        try [UInt8]([7, 8, 9]).withUnsafeBytes { raw in try access.write(raw, at: 40) }
        #expect(try access.load(Int16.self, at: 2) == -1616)
        #expect(try access.load(Sample.self, at: 48) == sample)
        #expect(try access.bytes(at: 30, count: 3) == [10, 12, 14])
        try access.bytes(at: 10, into: buffer)
        #expect(Array(buffer) == [1, 2, 3, 4])
        try access.atomicStore(Int64(10), at: 64, ordering: .releasing)
        #expect(try access.atomicAdd(Int64(5), at: 64) == 10)
        #expect(try access.atomicExchange(Int64(-2), at: 64, ordering: .acquiringAndReleasing) == 15)
        #expect(try access.atomicAdd(Int32.max, at: 72, ordering: .relaxed) == 0)
        #expect(try access.atomicAdd(Int32(1), at: 72) == .max)  // wraps
        let miss = try access.atomicCompareExchange(expected: Int64(6), desired: 100, at: 64)
        #expect(!miss.exchanged && miss.original == -2)
        let hit = try access.atomicCompareExchange(
          expected: Int64(-2), desired: 100, at: 64, ordering: .releasing)
        #expect(hit.exchanged && hit.original == -2)
        return try access.atomicLoad(Int64.self, at: 64, ordering: .acquiring)
      }
      #expect(result == 100)
      // The region's own methods see what the access wrote, and the other way round.
      #expect(try region.load(Sample.self, at: 48) == sample)
      #expect(try region.bytes(at: 40, count: 3) == [7, 8, 9])
      #expect(try region.atomicLoad(Int32.self, at: 72) == .min)
      try region.bytes(at: 30, into: buffer)
      #expect(Array(buffer) == [10, 12, 14, 0])
      #expect(try region.withAccess { $0.isWritable })
    }
  }

  @Test func theBodysOwnErrorComesThroughAndEndsTheAccess() throws {
    struct Failure: Error {}
    let releases = ReleaseCounter()
    try withSharedRegion { (_, name) throws in
      let region = try mapSharedMemory(name, size: 4096, releases: releases)
      #expect(throws: Failure.self) { try region.withAccess { (_) throws(Failure) in throw Failure() } }
      try region.close()  // no access left counted: unmapped at once
      #expect(releases.value == 1)
    }
  }

  @Test func aClosedRegionRefusesWithAccessWithoutRunningTheBody() throws {
    try withSharedRegion { (_, name) throws in
      let region = try mapSharedMemory(name, size: 4096)
      try region.close()
      let error = #expect(throws: IPCError.self) {
        try region.withAccess { _ in Issue.record("the body ran on a closed region") }
      }
      #expect(error?.code == .badDescriptor && error?.operation == "withAccess")
      #expect(error?.reason.contains("closed") == true)
    }
  }

  /// The body keeps reading mapped memory after `close()` returns on another
  /// thread; the unmapping waits for the body to end.
  @Test func closingFromAnotherThreadDuringWithAccessUnmapsWhenTheBodyEnds() throws {
    let releases = ReleaseCounter()
    try withSharedRegion { (_, name) throws in
      let region = try mapSharedMemory(name, size: 4096, releases: releases)
      try region.store(Int64(77), at: 0)
      try region.withAccess { (access) throws in
        let closer = BackgroundWork { try region.close() }
        try closer.value()  // close() has returned
        #expect(region.isClosed)
        // Checked, not just expected: reading an unmapped page would kill the test process.
        guard releases.value == 0 else {
          Issue.record("close() unmapped the region while withAccess's body was running")
          return
        }
        #expect(try access.load(Int64.self, at: 0) == 77)  // still mapped
        try access.store(Int64(78), at: 8)
        #expect(try access.atomicAdd(Int64(1), at: 8) == 78)
      }
      #expect(releases.value == 1)
      let error = #expect(throws: IPCError.self) { try region.load(Int64.self, at: 0) }
      #expect(error?.code == .badDescriptor)
      #expect(throws: IPCError.self) { try region.withAccess { _ in } }
      // The writes reached the object, which outlives the mapping.
      #expect(try mapSharedMemory(name, size: 4096).load(Int64.self, at: 8) == 79)
    }
  }

  @Test(.prompt) func aChildAddingThroughWithAccessAndTheParentThroughTheRegionLoseNothing() async throws {
    let additions = 200_000
    try await withSharedRegion { (region, name) async throws in
      async let child = #expect(processExitsWith: .success) {
        [name = name as String, additions = additions as Int] in
        alarm(60)
        let region = try mapSharedMemory(name, size: 4096)
        try region.atomicAdd(Int32(1), at: 128)  // started
        try region.withAccess { (access) throws(IPCError) in
          for _ in 0..<additions { try access.atomicAdd(Int64(1), at: 64, ordering: .relaxed) }
        }
      }
      // Start adding once the child runs, so the two really overlap.
      #expect(await eventually(within: .seconds(60)) { (try? region.atomicLoad(Int32.self, at: 128)) == 1 })
      for _ in 0..<additions { try region.atomicAdd(Int64(1), at: 64, ordering: .relaxed) }
      _ = await child
      #expect(try region.atomicLoad(Int64.self, at: 64) == Int64(2 * additions))
    }
  }
}
