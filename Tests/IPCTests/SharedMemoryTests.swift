import Foundation
import IPC
import Testing

/// System V segments and POSIX shared memory objects against the real
/// kernel, in one process: create, attach or map, store and load, status,
/// removal while attached, and every bad input (error, nothing changed).
@Suite("Shared memory")
struct SharedMemoryTests {
  // MARK: System V

  @Test(.prompt) func aSegmentIsCreatedAttachedAndSharedBetweenAttachments() async throws {
    try await withSegment(size: 4096) { memory in
      #expect(memory.size == 4096)
      let first = try memory.attach()
      let second = try memory.attach()
      #expect(first.count == 4096)
      #expect(try first.load(Int64.self, at: 0) == 0)  // zero-filled
      try first.store(Int64(42), at: 8)
      #expect(try second.load(Int64.self, at: 8) == 42)
      let opened = try SystemV.SharedMemory.open(id: memory.id)
      #expect(opened == memory)
    }
  }

  @Test(.prompt) func statReportsSizeCreatorAndAttachCount() async throws {
    try await withSegment(size: 1000) { memory in
      var status = try memory.stat()
      #expect(status.size == 1000)
      #expect(status.attachCount == 0)
      #expect(status.creatorPID == getpid())
      #expect(status.lastPID == nil)
      #expect(status.lastAttachTime == nil)
      #expect(status.key == .private)
      #expect(status.permissions.octal == "0600")
      #expect(status.ownerUID == getuid())
      #expect(ownedByThisProcess(status.ownership, permissions: .ownerReadWrite))
      #expect(!status.isMarkedForRemoval)
      let region = try memory.attach()
      let other = try memory.attach(readOnly: true)
      status = try memory.stat()
      #expect(status.attachCount == 2)
      #expect(status.lastPID == getpid())
      #expect(status.lastAttachTime != nil)
      try region.close()
      #expect(try memory.stat().attachCount == 1)
      try other.close()
      status = try memory.stat()
      #expect(status.attachCount == 0)
      #expect(status.lastDetachTime != nil)
    }
  }

  @Test(.prompt) func aReadOnlyAttachmentRefusesStoresBeforeTouchingMemory() async throws {
    try await withSegment { memory in
      let writer = try memory.attach()
      try writer.store(Int32(7), at: 0)
      let reader = try memory.attach(readOnly: true)
      #expect(!reader.isWritable)
      #expect(try reader.load(Int32.self, at: 0) == 7)
      let error = try #require(throws: IPCError.self) { try reader.store(Int32(9), at: 0) }
      #expect(error.code == .permissionDenied)
      #expect(try writer.load(Int32.self, at: 0) == 7)
    }
  }

  @Test(.prompt) func setPermissionsChangesTheMode() async throws {
    try await withSegment { memory in
      try memory.setPermissions([.ownerReadWrite, .groupRead])
      #expect(try memory.stat().permissions.octal == "0640")
    }
  }

  @Test(.prompt) func aRemovedSegmentStaysUsableUntilTheLastDetach() async throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(key: key, size: 4096)
    defer { try? memory.remove() }
    let region = try memory.attach()
    try region.store(Int64(99), at: 0)
    try memory.remove()
    let status = try memory.stat()
    #expect(status.isMarkedForRemoval)
    #expect(status.key == .private)  // the key is freed at once
    let line = try #require(try ipcsLine(segment: memory.id))
    #expect(line.contains("dest"))
    #expect(line.hasPrefix("0x00000000"))
    #expect(throws: IPCError.self) { try SystemV.SharedMemory.open(key: key) }
    try region.store(Int64(100), at: 8)
    #expect(try region.load(Int64.self, at: 0) == 99)
    #expect(try region.load(Int64.self, at: 8) == 100)
    try region.close()
    let gone = try #require(throws: IPCError.self) { try memory.stat() }
    #expect(gone.code == .notFound)
    #expect(try ipcsLine(segment: memory.id) == nil)
  }

  @Test(.prompt) func createByKeyIsExclusiveAndOpenFindsIt() async throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(
      key: key, size: 100, permissions: [.ownerReadWrite, .groupRead])
    defer { try? memory.remove() }
    let error = try #require(throws: IPCError.self) { try SystemV.SharedMemory.create(key: key, size: 100) }
    #expect(error.code == .exists)
    #expect(try SystemV.SharedMemory.open(key: key) == memory)
    #expect(try SystemV.SharedMemory.open(key: key, size: 100) == memory)
    #expect(try SystemV.SharedMemory.openOrCreate(key: key, size: 100) == memory)
    #expect(try memory.stat().key == key)
    #expect(try memory.stat().permissions.octal == "0640")
  }

  @Test(.prompt) func openOrCreateMakesTheSegmentOnce() async throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.openOrCreate(key: key, size: 256)
    defer { try? memory.remove() }
    #expect(try memory.stat().creatorPID == getpid())
    #expect(try SystemV.SharedMemory.openOrCreate(key: key, size: 256).id == memory.id)
  }

  @Test(.prompt) func aSizeThatDoesNotMatchIsRefusedAndNothingIsResized() async throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(key: key, size: 4096)
    defer { try? memory.remove() }
    for size in [100, 8192] {
      let error = try #require(throws: IPCError.self) {
        try SystemV.SharedMemory.openOrCreate(key: key, size: size)
      }
      #expect(error.code == .invalidArgument)
      #expect(error.reason.contains("is 4096 bytes, not the \(size) asked for"))
      let opened = try #require(throws: IPCError.self) { try SystemV.SharedMemory.open(key: key, size: size) }
      #expect(opened.code == .invalidArgument)
    }
    #expect(try memory.stat().size == 4096)
  }

  @Test func aSizeOfZeroIsRefusedBeforeTheCall() throws {
    let key = TestKeys.next()
    let zero = try #require(throws: IPCError.self) { try SystemV.SharedMemory.create(key: key, size: 0) }
    #expect(zero.code == .invalidArgument)
    #expect(zero.reason.contains("at least 1 byte"))
    // Nothing was made for the key.
    #expect(throws: IPCError.self) { try SystemV.SharedMemory.open(key: key) }
  }

  /// shmmax is huge by default, so a child lowers it in an IPC namespace of
  /// its own (which needs root, as CI has): the machine's limit is untouched,
  /// and whatever the child makes goes with the namespace.
  @Test(.prompt) func aSizeAboveShmmaxIsRefusedBeforeTheCallNamingTheLimit() async throws {
    await #expect(processExitsWith: .success) {
      // unshare(2) needs _GNU_SOURCE, which Swift's Glibc module lacks: look it up.
      typealias Unshare = @convention(c) (Int32) -> Int32
      let newIPCNamespace: Int32 = 0x0800_0000  // CLONE_NEWIPC
      guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "unshare"),
        unsafeBitCast(symbol, to: Unshare.self)(newIPCNamespace) == 0
      else { exit(2) }
      let fd = open(SystemV.SharedMemory.Limits.maxSegmentSizePath, O_WRONLY)
      guard fd >= 0, write(fd, "4096\n", 5) == 5 else { exit(3) }
      close(fd)
      guard SystemV.SharedMemory.Limits.current().maxSegmentSize == 4096 else { exit(4) }
      do throws(IPCError) {
        _ = try SystemV.SharedMemory.create(size: 4097)
        exit(5)
      } catch {
        guard error.code == .invalidArgument,
          error.reason == "a segment of 4097 bytes exceeds shmmax 4096, the largest segment,"
            + " see /proc/sys/kernel/shmmax"
        else { exit(6) }
      }
      // Nothing was made; at the limit it is.
      guard
        (try? procText("/proc/sysvipc/shm"))?.split(separator: "\n").count == 1
      else { exit(7) }
      // Removed through the library, which deletes its owner record too.
      try SystemV.SharedMemory.create(size: 4096).remove()
    }
  }

  @Test func aHugeSizeIsRefusedWithTheLimitNamed() throws {
    // shmmax is Int.max here by default; the kernel refuses such a size
    // for want of memory or of shmall.
    let error = try #require(throws: IPCError.self) { try SystemV.SharedMemory.create(size: Int.max) }
    #expect([.noSpace, .noMemory, .invalidArgument].contains(error.code))
    #expect(
      error.reason.contains("shmmax") || error.reason.contains("shmall") || error.reason.contains("bytes"))
  }

  @Test func aMissingKeyOrIdIsNotFound() throws {
    let missing = try #require(throws: IPCError.self) { try SystemV.SharedMemory.open(key: TestKeys.next()) }
    #expect(missing.code == .notFound)
    let memory = try SystemV.SharedMemory.create(size: 10)
    try memory.remove()
    let gone = try #require(throws: IPCError.self) { try SystemV.SharedMemory.open(id: memory.id) }
    #expect(gone.code == .notFound)
    #expect(throws: IPCError.self) { try SystemV.SharedMemory.open(key: .private) }
  }

  @Test func theLimitsAreRead() {
    let limits = SystemV.SharedMemory.Limits.current()
    #expect(limits.maxSegmentSize > 0)
    #expect(limits.maxTotalPages > 0)
    #expect(limits.maxSegments > 0)
  }

  // MARK: POSIX

  @Test(.prompt) func anObjectIsCreatedMappedAndSharedBetweenMappings() async throws {
    try await withSharedMemoryName { name in
      let memory = try POSIX.SharedMemory.create(name, size: 8192)
      #expect(try memory.size == 8192)
      let first = try memory.map()
      let second = try POSIX.SharedMemory.open(name).map()
      #expect(second.count == 8192)
      #expect(try first.load(Int64.self, at: 4096) == 0)
      try first.store(Int64(-5), at: 4096)
      #expect(try second.load(Int64.self, at: 4096) == -5)
      try memory.unlink()
      #expect(access("/dev/shm" + name, F_OK) != 0)
      #expect(try first.load(Int64.self, at: 4096) == -5)  // mappings outlive the name
    }
  }

  @Test(.prompt) func theModeIsSetExactlyWhateverTheUmask() async throws {
    try await withSharedMemoryName { name in
      let old = umask(0o077)
      defer { umask(old) }
      _ = try POSIX.SharedMemory.create(
        name, size: 10, permissions: [.ownerReadWrite, .groupRead, .otherRead])
      var info = stat()
      #expect(stat("/dev/shm" + name, &info) == 0)
      #expect(info.st_mode & 0o777 == 0o644)
    }
  }

  @Test(.prompt) func aReadOnlyOpeningMapsOnlyReadOnly() async throws {
    try await withSharedMemoryName { name in
      let memory = try POSIX.SharedMemory.create(name, size: 64)
      try memory.map().store(UInt8(1), at: 0)
      let reader = try POSIX.SharedMemory.open(name, readOnly: true)
      let error = try #require(throws: IPCError.self) { try reader.map() }
      #expect(error.code == .permissionDenied)
      #expect(error.reason.contains("opened read-only"))
      let region = try reader.map(readOnly: true)
      #expect(try region.load(UInt8.self, at: 0) == 1)
      let store = try #require(throws: IPCError.self) { try region.store(UInt8(2), at: 0) }
      #expect(store.code == .permissionDenied)
      #expect(try memory.map().load(UInt8.self, at: 0) == 1)
      #expect(throws: IPCError.self) { try reader.resize(to: 128) }
      #expect(try memory.size == 64)
    }
  }

  @Test(.prompt) func createIsExclusiveAndOpenOrCreateChecksTheSize() async throws {
    try await withSharedMemoryName { name in
      let memory = try POSIX.SharedMemory.openOrCreate(name, size: 4096)
      try memory.map().store(Int32(3), at: 0)
      let exists = try #require(throws: IPCError.self) { try POSIX.SharedMemory.create(name, size: 4096) }
      #expect(exists.code == .exists)
      #expect(try POSIX.SharedMemory.openOrCreate(name, size: 4096).map().load(Int32.self, at: 0) == 3)
      for size in [100, 10000] {
        let error = try #require(throws: IPCError.self) {
          try POSIX.SharedMemory.openOrCreate(name, size: size)
        }
        #expect(error.code == .invalidArgument)
        #expect(error.reason.contains("exists with 4096 bytes, not the \(size) asked for"))
      }
      #expect(try memory.size == 4096)
      #expect(try memory.map().load(Int32.self, at: 0) == 3)
    }
  }

  @Test(.prompt) func resizeIsExplicitAndANewMapSeesIt() async throws {
    try await withSharedMemoryName { name in
      let memory = try POSIX.SharedMemory.create(name, size: 4096)
      let small = try memory.map()
      try small.store(Int64(8), at: 0)
      try memory.resize(to: 3 * 4096)
      #expect(try memory.size == 3 * 4096)
      #expect(small.count == 4096)  // existing mappings do not grow
      let large = try memory.map()
      #expect(large.count == 3 * 4096)
      #expect(try large.load(Int64.self, at: 0) == 8)
      #expect(try large.load(Int64.self, at: 2 * 4096) == 0)
      let zero = try #require(throws: IPCError.self) { try memory.resize(to: 0) }
      #expect(zero.code == .invalidArgument)
      #expect(try memory.size == 3 * 4096)
    }
  }

  @Test(.prompt) func aSizeOfZeroOrPastTheTmpfsIsRefusedAndNothingIsCreated() async throws {
    try await withSharedMemoryName { name in
      let zero = try #require(throws: IPCError.self) { try POSIX.SharedMemory.create(name, size: 0) }
      #expect(zero.code == .invalidArgument)
      var info = statvfs()
      #expect(statvfs("/dev/shm", &info) == 0)
      if info.f_blocks > 0 {
        let capacity = Int(info.f_blocks) * Int(info.f_frsize)
        let error = try #require(throws: IPCError.self) {
          try POSIX.SharedMemory.create(name, size: capacity + 1)
        }
        #expect(error.code == .noSpace)
        #expect(error.reason.contains("/dev/shm"))
        #expect(error.reason.contains("\(capacity)"))
      }
      #expect(access("/dev/shm" + name, F_OK) != 0)
    }
  }

  @Test func aMissingNameIsNotFoundAndBadNamesAreRefused() throws {
    let missing = try #require(throws: IPCError.self) {
      try POSIX.SharedMemory.open(TestNames.next("ipc-pshm"))
    }
    #expect(missing.code == .notFound)
    for bad in ["frames", "/", "/a/b", "/" + String(repeating: "x", count: 256), "/.."] {
      let error = try #require(throws: IPCError.self) { try POSIX.SharedMemory.create(bad, size: 10) }
      #expect(error.code == .invalidArgument)
      #expect(error.reason.contains("a shared memory name is '/'"))
    }
    let unlink = try #require(throws: IPCError.self) {
      try POSIX.SharedMemory.unlink(TestNames.next("ipc-pshm"))
    }
    #expect(unlink.code == .notFound)
  }

  @Test(.prompt) func aClosedObjectRefusesCallsButItsMappingsStay() async throws {
    try await withSharedMemoryName { name in
      let memory = try POSIX.SharedMemory.create(name, size: 64)
      let region = try memory.map()
      try memory.close()
      try region.store(UInt8(4), at: 3)
      #expect(try region.load(UInt8.self, at: 3) == 4)
      let error = try #require(throws: IPCError.self) { try memory.map() }
      #expect(error.code == .badDescriptor)
      #expect(throws: IPCError.self) { try memory.close() }
    }
  }

  /// Reads and writes through the descriptor: a peer's shrink means fewer
  /// bytes or a refusal, never SIGBUS; nothing is written past the end.
  @Test func posixReadAndWriteThroughTheDescriptorStopAtTheCurrentEnd() throws {
    let name = TestNames.next()
    let memory = try POSIX.SharedMemory.create(name, size: 8192)
    defer { try? memory.unlink() }
    try Array("abcdef".utf8).withUnsafeBytes { try memory.write($0, at: 8186) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
    defer { buffer.deallocate() }
    #expect(try memory.read(at: 8186, into: buffer) == 6)
    #expect(Array(buffer[0..<6]) == Array("abcdef".utf8))
    // Another process's truncate: reads come back short, writes are refused.
    #expect(truncate("/dev/shm/" + name.dropFirst(), 4096) == 0)
    #expect(try memory.read(at: 4090, into: buffer) == 6)
    #expect(try memory.read(at: 8186, into: buffer) == 0)
    let refused = #expect(throws: IPCError.self) {
      try Array("x".utf8).withUnsafeBytes { try memory.write($0, at: 4096) }
    }
    #expect(refused?.code == .invalidArgument)
    #expect(try memory.size == 4096)
    #expect(throws: IPCError.self) { try memory.read(at: -1, into: buffer) }
    // Far past the end, up to where offset and count would overflow: nothing to read, not an error.
    for offset in [Int(UInt32.max) + 1, Int.max - 16, Int.max - 1, Int.max] {
      #expect(try memory.read(at: offset, into: buffer) == 0, "offset \(offset)")
    }
    #expect(try memory.size == 4096)
  }
}
