import Foundation
import IPC  // not @testable: the guide's examples use only the public API
import Testing

// What Docs/SharedMemory.md promises, checked against real objects. The
// guide's examples themselves are compiled and run by DocExamplesTests, which
// only sees that they end with status 0; this suite checks the results they
// show (values, sizes, attach counts, error texts, a ring and a bounded buffer
// across processes), with copies of the guide's types. Each test names the
// section it checks. Keys and names are unique to the test (TestKeys,
// TestNames) and every object is removed or unlinked, also when a test fails.

// MARK: - Types shared by the examples (copied from the guide)

/// The header at offset 0 of the region, as the guide lays it out.
struct GuideHeader: BitwiseCopyable, Equatable {
  var magic: UInt32  // offset 0
  var version: UInt16  // offset 4, then 2 bytes of padding
  var count: Int64  // offset 8
  var ratio: Double  // offset 16
}  // size 24, stride 24, alignment 8

/// Where everything lives in the region: fixed, and the same in every process.
enum GuideLayout {
  static let header = 0  // GuideHeader, 24 bytes
  static let counter = 24  // Int64, used atomically
  static let owner = 32  // Int32, used atomically
  static let mutex = 64  // SharedMutex.size bytes (40 on 64-bit Linux)
  static let ready = 128  // Int32 flag, used atomically
  static let length = 132  // Int32
  static let text = 136  // up to 256 bytes
  static let size = text + 256
}

/// A single-producer, single-consumer ring of `Int64` in a region, without a
/// lock: the producer alone writes `head`, the consumer alone writes `tail`.
/// Each side works inside one `withAccess` around its whole loop.
enum SPSCRing {
  static let capacity = 64
  static let head = 0  // Int64: items put so far (producer)
  static let tail = 64  // Int64: items taken so far (consumer); its own cache line
  static let slots = 128  // capacity slots of Int64
  static let size = slots + capacity * MemoryLayout<Int64>.stride

  /// Puts `value` unless the ring is full.
  static func tryPut(_ value: Int64, in ring: SharedRegion.Access) throws(IPCError) -> Bool {
    let head = try ring.atomicLoad(Int64.self, at: Self.head, ordering: .relaxed)  // our own
    let tail = try ring.atomicLoad(Int64.self, at: Self.tail, ordering: .acquiring)
    if head - tail == Int64(Self.capacity) { return false }  // full
    try ring.store(value, at: Self.slots + Int(head % Int64(Self.capacity)) * 8)
    try ring.atomicStore(head + 1, at: Self.head, ordering: .releasing)  // publish the slot
    return true
  }

  /// Takes the oldest value, or nil if the ring is empty.
  static func tryTake(from ring: SharedRegion.Access) throws(IPCError) -> Int64? {
    let tail = try ring.atomicLoad(Int64.self, at: Self.tail, ordering: .relaxed)  // our own
    let head = try ring.atomicLoad(Int64.self, at: Self.head, ordering: .acquiring)
    if tail == head { return nil }  // empty
    let value = try ring.load(Int64.self, at: Self.slots + Int(tail % Int64(Self.capacity)) * 8)
    try ring.atomicStore(tail + 1, at: Self.tail, ordering: .releasing)  // hand the slot back
    return value
  }
}

/// The classic bounded buffer: a ring of `Int64` in shared memory, and three
/// semaphores of one System V set, for any number of producer and consumer
/// processes.
struct BoundedBuffer {
  static let capacity = 16
  // The semaphores, by index in the set.
  static let empty = 0  // free slots: starts at capacity
  static let full = 1  // items ready: starts at 0
  static let mutex = 2  // 1 while nobody is changing the ring
  // The region: two indices, then the slots.
  static let putIndex = 0  // Int64: the next slot to fill
  static let takeIndex = 8  // Int64: the next slot to empty
  static let slots = 16
  static let size = slots + capacity * MemoryLayout<Int64>.stride

  let semaphores: SystemV.SemaphoreSet
  let region: SharedRegion

  /// Makes the set and the segment (zero-filled: both indices start at 0).
  static func create() throws(IPCError) -> (SystemV.SemaphoreSet, SystemV.SharedMemory) {
    let semaphores = try SystemV.SemaphoreSet.create(values: [capacity, 0, 1])
    do {
      return (semaphores, try SystemV.SharedMemory.create(size: size))
    } catch {
      try? semaphores.remove()
      throw error
    }
  }

  func put(_ item: Int64) throws(IPCError) {
    try semaphores.wait(Self.empty)  // P(empty): wait for a free slot
    try semaphores.wait(Self.mutex, undo: true)  // P(mutex)
    let index = try region.load(Int64.self, at: Self.putIndex)
    try region.store(item, at: Self.slots + Int(index) * 8)
    try region.store((index + 1) % Int64(Self.capacity), at: Self.putIndex)
    try semaphores.signal(Self.mutex, undo: true)  // V(mutex)
    try semaphores.signal(Self.full)  // V(full): one more item
  }

  func take() throws(IPCError) -> Int64 {
    try semaphores.wait(Self.full)  // P(full): wait for an item
    try semaphores.wait(Self.mutex, undo: true)  // P(mutex)
    let index = try region.load(Int64.self, at: Self.takeIndex)
    let item = try region.load(Int64.self, at: Self.slots + Int(index) * 8)
    try region.store((index + 1) % Int64(Self.capacity), at: Self.takeIndex)
    try semaphores.signal(Self.mutex, undo: true)  // V(mutex)
    try semaphores.signal(Self.empty)  // V(empty): one more free slot
    return item
  }
}

/// Runs `body` with a POSIX shared memory name no other test uses, unlinked
/// afterwards whatever happened.
@discardableResult
private func withGuideName<R>(_ body: (String) async throws -> R) async throws -> R {
  let name = TestNames.next("ipc-guide")
  defer { _ = try? POSIX.SharedMemory.unlink(name) }
  return try await body(name)
}

@Suite("Shared memory guide")
struct SharedMemoryGuideTests {
  // MARK: System V

  @Test func systemVCreateAttachOpenStatRemove() throws {
    let key = TestKeys.next()  // the guide uses 0x5a17
    let memory = try SystemV.SharedMemory.create(key: key, size: 4096)  // zero-filled, 0600
    defer { try? memory.remove() }
    let region = try memory.attach()  // shmat
    try region.store(Int64(42), at: 0)

    // Another process:
    let same = try SystemV.SharedMemory.open(key: key, size: 4096)  // the size is checked
    let view = try same.attach(readOnly: true)
    #expect(try view.load(Int64.self, at: 0) == 42)

    let status = try memory.stat()
    #expect(status.size == 4096 && status.attachCount == 2)
    #expect(status.permissions.octal == "0600")
    #expect(status.key == key && status.creatorPID == getpid())

    try memory.remove()  // the key is free now; the memory stays until the last detach
    #expect(try memory.stat().isMarkedForRemoval)
    #expect(try memory.stat().key == .private)
    try region.store(Int64(43), at: 0)  // still works
    #expect(try view.load(Int64.self, at: 0) == 43)
    try region.close()  // shmdt
    try view.close()  // the last detach: the segment is destroyed
    let gone = try #require(throws: IPCError.self) { try memory.stat() }
    #expect(gone.code == .notFound)
  }

  @Test func systemVOpenByIdPrivateKeysAndPermissions() throws {
    let memory = try SystemV.SharedMemory.create(size: 100)  // IPC_PRIVATE
    defer { try? memory.remove() }
    #expect(try SystemV.SharedMemory.open(id: memory.id) == memory)
    #expect(try SystemV.SharedMemory.open(id: memory.id).size == 100)
    try memory.setPermissions([.ownerReadWrite, .groupRead])  // 0640
    #expect(try memory.stat().permissions.octal == "0640")
    let privateKey = try #require(throws: IPCError.self) { try SystemV.SharedMemory.open(key: .private) }
    #expect(privateKey.code == .invalidArgument)

    let key = TestKeys.next()
    let shared = try SystemV.SharedMemory.openOrCreate(key: key, size: 256)
    defer { try? shared.remove() }
    #expect(try SystemV.SharedMemory.openOrCreate(key: key, size: 256) == shared)
    #expect(try SystemV.SharedMemory.open(key: key).size == 256)  // nil size: any
  }

  @Test func systemVNeverResizesAndSaysSo() throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(key: key, size: 4096)
    defer { try? memory.remove() }
    let error = try #require(throws: IPCError.self) { try SystemV.SharedMemory.open(key: key, size: 8192) }
    #expect(error.code == .invalidArgument)
    #expect(
      error.description
        == "shmget on shared memory segment \(memory.id) failed: the segment for key \(key) (id \(memory.id))"
        + " is 4096 bytes, not the 8192 asked for; it is never resized: open it with its size, or remove"
        + " it first [EINVAL]")
    #expect(throws: IPCError.self) { try SystemV.SharedMemory.openOrCreate(key: key, size: 100) }
    let exists = try #require(throws: IPCError.self) { try SystemV.SharedMemory.create(key: key, size: 4096) }
    #expect(exists.code == .exists)
    #expect(exists.reason.contains("(id \(memory.id))"))
    #expect(try memory.stat().size == 4096)
    let zero = try #require(throws: IPCError.self) { try SystemV.SharedMemory.create(size: 0) }
    #expect(zero.code == .invalidArgument)
    let missing = try #require(throws: IPCError.self) { try SystemV.SharedMemory.open(key: TestKeys.next()) }
    #expect(missing.code == .notFound)
  }

  @Test func systemVLimits() {
    let limits = SystemV.SharedMemory.Limits.current()
    #expect(limits.maxSegmentSize > 0 && limits.maxTotalPages > 0 && limits.maxSegments > 0)
    #expect(SystemV.SharedMemory.Limits.maxSegmentSizePath == "/proc/sys/kernel/shmmax")
    #expect(SystemV.SharedMemory.Limits.maxTotalPagesPath == "/proc/sys/kernel/shmall")
    #expect(SystemV.SharedMemory.Limits.maxSegmentsPath == "/proc/sys/kernel/shmmni")
  }

  // MARK: POSIX

  @Test(.prompt) func posixCreateMapOpenResizeUnlink() async throws {
    try await withGuideName { name in  // the guide uses "/frames"
      let memory = try POSIX.SharedMemory.create(name, size: 4096)  // exactly 0600, zero-filled
      let region = try memory.map()  // mmap(MAP_SHARED)
      try region.write(Array("hello".utf8), at: 0)

      // Another process:
      let reader = try POSIX.SharedMemory.open(name, readOnly: true)
      let view = try reader.map(readOnly: true)
      #expect(String(decoding: try view.bytes(at: 0, count: 5), as: UTF8.self) == "hello")
      #expect(try reader.size == 4096)
      let refused = try #require(throws: IPCError.self) { try reader.map() }
      #expect(refused.code == .permissionDenied)

      try memory.resize(to: 8192)  // ftruncate: the only call that changes the size
      #expect(try memory.size == 8192 && region.count == 4096)  // a mapping keeps its size
      #expect(try memory.map().count == 8192)  // map again to see the new size
      try memory.close()  // the descriptor; the mappings stay
      #expect(try region.bytes(at: 0, count: 5) == Array("hello".utf8))
      let closed = try #require(throws: IPCError.self) { try memory.size }
      #expect(closed.code == .badDescriptor)
      try POSIX.SharedMemory.unlink(name)  // the name goes; the mappings keep working
      #expect(try view.bytes(at: 0, count: 5) == Array("hello".utf8))
      #expect(access("/dev/shm" + name, F_OK) != 0)
    }
  }

  @Test(.prompt) func posixOpenOrCreateChecksTheSizeInsteadOfTruncating() async throws {
    try await withGuideName { name in
      let memory = try POSIX.SharedMemory.openOrCreate(name, size: 4096)
      defer { try? memory.unlink() }
      try memory.map().store(Int64(7), at: 0)
      let error = try #require(throws: IPCError.self) { try POSIX.SharedMemory.openOrCreate(name, size: 100) }
      #expect(
        error.description
          == "shm_open on shared memory \(name) failed: \(name) exists with 4096 bytes, not the 100 asked for;"
          + " it is never resized on open: open it with its size, or call resize(to:) [EINVAL]")
      #expect(try memory.size == 4096)
      #expect(try memory.map().load(Int64.self, at: 0) == 7)
      let bad = try #require(throws: IPCError.self) { try POSIX.SharedMemory.create("frames", size: 10) }
      #expect(bad.code == .invalidArgument)
      #expect(bad.reason.contains("a shared memory name is '/' followed by 1 to 255 bytes without '/'"))
      let exists = try #require(throws: IPCError.self) { try POSIX.SharedMemory.create(name, size: 4096) }
      #expect(exists.code == .exists)
    }
  }

  // MARK: SharedRegion

  @Test(.prompt) func layoutHeaderAndOffsets() async throws {
    #expect(MemoryLayout<GuideHeader>.offset(of: \.version) == 4)
    #expect(MemoryLayout<GuideHeader>.offset(of: \.count) == 8)
    #expect(MemoryLayout<GuideHeader>.offset(of: \.ratio) == 16)
    #expect(MemoryLayout<GuideHeader>.size == 24 && MemoryLayout<GuideHeader>.alignment == 8)
    #expect(GuideLayout.mutex % SharedMutex.alignment == 0)
    #expect(GuideLayout.counter >= MemoryLayout<GuideHeader>.size && GuideLayout.counter % 8 == 0)
    #expect(GuideLayout.owner >= GuideLayout.counter + 8 && GuideLayout.owner + 4 <= GuideLayout.mutex)
    #expect(GuideLayout.mutex + SharedMutex.size <= GuideLayout.ready)
    #expect(SharedMutex.size == 40 && SharedCondition.size == 48)
    try await withGuideName { name in
      let region = try POSIX.SharedMemory.create(name, size: GuideLayout.size).map()
      let header = GuideHeader(magic: 0x5348_4D31, version: 1, count: 0, ratio: 0.5)
      try region.store(header, at: GuideLayout.header)
      #expect(try region.load(GuideHeader.self, at: GuideLayout.header) == header)
      try region.store(Int64(3), at: GuideLayout.header + MemoryLayout<GuideHeader>.offset(of: \.count)!)
      #expect(try region.load(GuideHeader.self, at: 0).count == 3)
      try region.initializeMutex(at: GuideLayout.mutex)
      // Misaligned and out-of-range accesses are refused, with the message the guide quotes.
      let misaligned = try #require(throws: IPCError.self) { try region.load(Int64.self, at: 4) }
      #expect(
        misaligned.description
          == "load on shared memory \(name) failed: offset 4 is not a multiple of 8, the alignment this"
          + " 8-byte value needs; nothing was read [EINVAL]")
      let outside = try #require(throws: IPCError.self) { try region.bytes(at: 390, count: 4) }
      #expect(
        outside.description
          == "bytes on shared memory \(name) failed: 4 bytes at offset 390 reach past the end of the region"
          + " of 392 bytes (the region's offsets are 0 to 391); nothing was touched [EINVAL]")
    }
  }

  @Test(.prompt) func valuesBytesAndScopedAccess() async throws {
    try await withGuideName { name in
      let region = try POSIX.SharedMemory.create(name, size: 4096).map()
      try region.store(Int32(-1), at: 0)  // any BitwiseCopyable value, at an aligned offset
      try region.store((Int32(7), Double(2.5)), at: 8)  // tuples too
      let pair = try region.load((Int32, Double).self, at: 8)
      #expect(pair == (7, 2.5))
      try region.write("text".utf8, at: 100)  // any bytes
      #expect(try region.bytes(at: 100, count: 4) == Array("text".utf8))
      let sum = try region.withUnsafeBytes { buffer in buffer[100..<104].reduce(0) { $0 + Int($1) } }
      #expect(sum == Array("text".utf8).reduce(0) { $0 + Int($1) })
      try region.withUnsafeMutableBytes { buffer in buffer[4095] = 0xFF }
      #expect(try region.load(UInt8.self, at: 4095) == 0xFF)
      try region.close()  // munmap; later accesses throw .badDescriptor
      let closed = try #require(throws: IPCError.self) { try region.load(Int32.self, at: 0) }
      #expect(closed.code == .badDescriptor)
    }
  }

  // MARK: Atomics

  @Test(.prompt) func atomicCounterAndPublishing() async throws {
    try await withGuideName { name in
      let region = try POSIX.SharedMemory.create(name, size: GuideLayout.size).map()
      // A counter every process adds to.
      let before = try region.atomicAdd(Int64(1), at: GuideLayout.counter, ordering: .relaxed)
      #expect(try before == 0 && region.atomicLoad(Int64.self, at: GuideLayout.counter) == 1)
      let claim = try region.atomicCompareExchange(
        expected: Int32(0), desired: getpid(), at: GuideLayout.owner)
      #expect(claim.exchanged && claim.original == 0)

      // Publishing: write the data, then release the flag.
      let message = "ready"
      try region.write(message.utf8, at: GuideLayout.text)
      try region.store(Int32(message.utf8.count), at: GuideLayout.length)
      try region.atomicStore(Int32(1), at: GuideLayout.ready, ordering: .releasing)

      // Another process: acquire the flag, then read the data.
      await #expect(processExitsWith: .success) { [name = name as String] in
        let region = try POSIX.SharedMemory.open(name).map()
        guard try region.atomicLoad(Int32.self, at: GuideLayout.ready, ordering: .acquiring) == 1 else {
          exit(3)
        }
        let length = try region.load(Int32.self, at: GuideLayout.length)
        let text = try region.bytes(at: GuideLayout.text, count: Int(length))
        guard String(decoding: text, as: UTF8.self) == "ready" else { exit(4) }
      }

      let refused = try #require(throws: IPCError.self) {
        try region.atomicLoad(Int64.self, at: GuideLayout.counter, ordering: .releasing)
      }
      #expect(
        refused.description
          == "atomic_load_explicit on shared memory \(name) failed: memory_order_release is not an ordering"
          + " for a load (C11 allows relaxed, acquire or seq_cst); nothing was accessed [EINVAL]")
      #expect(throws: IPCError.self) {
        try region.atomicStore(Int64(1), at: GuideLayout.counter, ordering: .acquiring)
      }
      for ordering in MemoryOrdering.allCases {  // updates take every ordering
        try region.atomicAdd(Int64(1), at: GuideLayout.counter, ordering: ordering)
      }
      #expect(try region.atomicLoad(Int64.self, at: GuideLayout.counter) == 6)
    }
  }

  @Test(.prompt) func manyOperationsAtOnceWithAccess() async throws {
    try await withGuideName { name in
      let region = try POSIX.SharedMemory.create(name, size: 4096).map()
      try region.withAccess { (access) throws in
        for _ in 0..<1000 { try access.atomicAdd(Int64(1), at: 8, ordering: .relaxed) }
        let total = try access.atomicLoad(Int64.self, at: 8)
        #expect(total == 1000)
      }
      try region.close()
      let closed = try #require(throws: IPCError.self) { try region.withAccess { _ in } }
      #expect(closed.code == .badDescriptor && closed.operation == "withAccess")
    }
  }

  @Test(.prompt) func aSingleProducerSingleConsumerRingAcrossProcesses() async throws {
    let items = 10_000
    try await withGuideName { name in
      let memory = try POSIX.SharedMemory.create(name, size: SPSCRing.size)
      let region = try memory.map()
      let consumer = BackgroundWork { () throws -> (count: Int, inOrder: Bool, sum: Int64) in
        try region.withAccess { ring in
          var (expected, inOrder, sum) = (Int64(1), true, Int64(0))
          let clock = ContinuousClock()
          let deadline = clock.now + .seconds(60)
          while expected <= Int64(items), clock.now < deadline {
            guard let value = try SPSCRing.tryTake(from: ring) else {
              sched_yield()
              continue
            }
            inOrder = inOrder && value == expected
            (expected, sum) = (expected + 1, sum + value)
          }
          return (Int(expected) - 1, inOrder, sum)
        }
      }
      await #expect(processExitsWith: .success) { [name = name as String, items = items as Int] in
        alarm(60)
        let region = try POSIX.SharedMemory.open(name).map()
        try region.withAccess { ring in
          for value in Int64(1)...Int64(items) {
            while try !SPSCRing.tryPut(value, in: ring) { sched_yield() }
          }
        }
      }
      let (count, inOrder, sum) = try consumer.value(timeout: .seconds(90))
      #expect(count == items && inOrder)
      #expect(sum == Int64(items * (items + 1) / 2))
    }
  }

  // MARK: The robust mutex and the condition

  @Test(.prompt) func withLockRepairsAfterAHolderIsKilled() async throws {
    try await withGuideName { name in
      let memory = try POSIX.SharedMemory.create(name, size: 4096)
      let region = try memory.map()
      let mutex = try region.initializeMutex(at: 0)  // once, by the creator

      // A holder killed half-way through an update of the pair at 64 and 72.
      await #expect(processExitsWith: .signal(SIGKILL)) { [name = name as String] in
        let region = try POSIX.SharedMemory.open(name).map()
        let mutex = try region.mutex(at: 0)
        try mutex.withLock(recover: { exit(3) }) {
          try region.store(Int64(1), at: 64)  // the first half...
          kill(getpid(), SIGKILL)  // ...and never the second
        }
      }

      // The guide's blocking form, from synchronous code (async code picks the async form).
      func update() throws -> Int {
        var repairs = 0
        try mutex.withLock(recover: {
          // The last holder died mid-update: make the pair agree again.
          repairs += 1
          try region.store(try region.load(Int64.self, at: 64), at: 72)
        }) {
          let value = try region.load(Int64.self, at: 64)
          try region.store(value + 1, at: 64)
          try region.store(value + 1, at: 72)
        }
        return repairs
      }
      #expect(try update() == 1)
      #expect(try region.load(Int64.self, at: 64) == 2 && region.load(Int64.self, at: 72) == 2)

      // The manual form, and the try and timed forms.
      switch try mutex.lock() {  // pthread_mutex_lock
      case .acquired: break
      case .ownerDied:
        // repair the data here, then:
        Issue.record("nobody died this time")
        try mutex.markConsistent()  // skip this to declare the data lost
      }
      try mutex.unlock()

      var results: [SharedMutex.LockResult] = []
      if let taken = try mutex.tryLock() {  // nil if held now
        results.append(taken)  // .acquired or .ownerDied
        try mutex.unlock()
      }
      if let taken = try mutex.lock(timeout: .seconds(2)) {  // nil if still held after 2 s
        results.append(taken)
        try mutex.unlock()
      }
      #expect(results == [.acquired, .acquired])
    }
  }

  @Test(.prompt) func unlockingWithoutRepairMakesTheMutexNotRecoverable() async throws {
    try await withGuideName { name in
      let region = try POSIX.SharedMemory.create(name, size: 4096).map()
      let mutex = try region.initializeMutex(at: 0)
      await #expect(processExitsWith: .signal(SIGKILL)) { [name = name as String] in
        let region = try POSIX.SharedMemory.open(name).map()
        _ = try region.mutex(at: 0).lock()
        kill(getpid(), SIGKILL)
      }
      struct Unrepairable: Error {}
      #expect(throws: Unrepairable.self) {
        try mutex.withLock(recover: { throw Unrepairable() }) { Issue.record("ran on broken data") }
      }
      let error = try #require(throws: IPCError.self) { try mutex.lock(timeout: .seconds(1)) }
      #expect(error.code == .notRecoverable)
      // Initialized again while nobody uses it, it works again.
      try region.initializeMutex(at: 0)
      #expect(try mutex.tryLock() == .acquired)
      let again = try #require(throws: IPCError.self) { try mutex.lock() }
      #expect(again.code == .deadlock)
      try mutex.unlock()
      let unheld = try #require(throws: IPCError.self) { try mutex.unlock() }
      #expect(unheld.code == .notPermitted)
    }
  }

  @Test(.prompt) func aConditionWaitInALoopWakesOnASignalFromAnotherProcess() async throws {
    try await withGuideName { name in
      let region = try POSIX.SharedMemory.create(name, size: 4096).map()
      let mutex = try region.initializeMutex(at: 0)
      let ready = try region.initializeCondition(at: 64)  // 48 bytes, waits on CLOCK_MONOTONIC

      // The waiter, on a thread of its own here (it blocks).
      let waiter = BackgroundWork { () throws -> Int32 in
        try mutex.withLock(recover: {}) {
          while try region.load(Int32.self, at: 128) == 0 {  // the state decides, not the wake-up
            if try !ready.wait(mutex, timeout: .seconds(5)) { print("still waiting") }
          }
          return try region.load(Int32.self, at: 128)
        }
      }
      // The signaller, in another process.
      await #expect(processExitsWith: .success) { [name = name as String] in
        alarm(60)
        let region = try POSIX.SharedMemory.open(name).map()
        let (mutex, ready) = (try region.mutex(at: 0), try region.condition(at: 64))
        try mutex.withLock(recover: {}) { try region.store(Int32(1), at: 128) }
        try ready.signal()
      }
      #expect(try waiter.value(timeout: .seconds(60)) == 1)
      let blockingTimedWait = {
        try mutex.withLock(recover: {}) { try ready.wait(mutex, timeout: .milliseconds(50)) }
      }
      let timedOut = try blockingTimedWait()
      #expect(!timedOut)
      try ready.broadcast()
    }
  }

  // MARK: The bounded buffer

  @Test(.prompt) func theBoundedBufferDeliversEveryItemExactlyOnce() async throws {
    let (producers, consumers, itemsEach) = (2, 2, 300)
    let (semaphores, memory) = try BoundedBuffer.create()
    defer {
      try? semaphores.remove()
      try? memory.remove()
    }
    let buffer = BoundedBuffer(semaphores: semaphores, region: try memory.attach())
    let total = producers * itemsEach
    // Consumers: threads of this process, each taking its share.
    let takers = (0..<consumers).map { _ in
      BackgroundWork { () throws -> [Int64] in
        try (0..<total / consumers).map { _ in try buffer.take() }
      }
    }
    // Producers: other processes, each putting its own items.
    await withTaskGroup(of: Void.self) { group in
      for producer in 0..<producers {
        group.addTask {
          await #expect(processExitsWith: .success) {
            [
              setID = semaphores.id as Int32, segmentID = memory.id as Int32, producer = producer as Int,
              itemsEach = itemsEach as Int
            ] in
            alarm(60)
            let buffer = BoundedBuffer(
              semaphores: try SystemV.SemaphoreSet.open(id: setID),
              region: try SystemV.SharedMemory.open(id: segmentID).attach())
            for item in 0..<itemsEach { try buffer.put(Int64(producer * 1_000_000 + item)) }
          }
        }
      }
    }
    let taken = try takers.flatMap { try $0.value(timeout: .seconds(60)) }
    let expected = (0..<producers).flatMap { producer in
      (0..<itemsEach).map { Int64(producer * 1_000_000 + $0) }
    }
    #expect(taken.sorted() == expected.sorted())  // every item, once
    #expect(try semaphores.values() == [BoundedBuffer.capacity, 0, 1])
  }

  // MARK: Interoperability

  @Test func ipcmkSegmentsOpenById() throws {
    let id = try Tools.ipcmk("-M", "4096")
    let memory = try SystemV.SharedMemory.open(id: id)
    defer { try? memory.remove() }
    #expect(memory.size == 4096)
    #expect(try memory.stat().permissions.octal == "0644")
    try memory.attach().store(Int64(5), at: 0)
  }

  @Test(.enabled(if: Python.sysvIPC && Python.posixIPC))
  func sysvIPCFillsWithSpacesAndAttachesOnOpen() throws {
    let key = TestKeys.next()
    // The Python process attaches as it creates, and detaches as it exits.
    let script = "import sysv_ipc; sysv_ipc.SharedMemory(\(key.rawValue), sysv_ipc.IPC_CREX, size=16)"
    let python = try SpawnedProcess.run("/usr/bin/env", ["python3", "-c", script])
    defer { try? SystemV.SharedMemory.open(key: key).remove() }
    #expect(python.exitStatus == 0, "\(python.standardError)")
    let memory = try SystemV.SharedMemory.open(key: key)
    #expect(try memory.stat().attachCount == 0 && memory.stat().lastDetachTime != nil)
    #expect(try memory.attach().bytes(at: 0, count: 16) == [UInt8](repeating: 0x20, count: 16))
  }

  @Test(.prompt, .enabled(if: Python.sysvIPC && Python.posixIPC))
  func posixIPCTruncatesAnExistingObjectOpenedWithASize() async throws {
    try await withGuideName { name in
      let memory = try POSIX.SharedMemory.create(name, size: 4096)
      let python = try SpawnedProcess.run(
        "/usr/bin/env", ["python3", "-c", "import posix_ipc; posix_ipc.SharedMemory('\(name)', size=100)"])
      #expect(python.exitStatus == 0, "\(python.standardError)")
      #expect(try memory.size == 100)  // cut down for everyone
    }
  }
}
