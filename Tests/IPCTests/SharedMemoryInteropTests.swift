import Foundation
import IPC
import Testing

/// The library's shared memory is the kernel's: plain-C peers that use the
/// raw calls, util-linux's ipcmk/ipcs/ipcrm and Python's sysv_ipc and
/// posix_ipc see the same bytes, sizes and permissions, in both directions,
/// and C11 atomics from C and from the library add up exactly.
@Suite("Shared memory interoperability with C, util-linux and Python")
struct SharedMemoryInteropTests {
  // MARK: System V segments and a C peer

  @Test func aSegmentACPeerCreatedIsOpenedByKeyAndIdReadAndWrittenBySwift() throws {
    let key = TestKeys.next()
    let created = try Peers.systemVSharedMemory("create", "\(key.rawValue)", "5000", "0640")
    defer { try? SystemV.SharedMemory.open(key: key).remove() }
    #expect(created.exitStatus == 0, "\(created.standardError)")
    let id = try #require(firstNumber(in: created.standardOutput), "\(created.standardOutput)")
    #expect(try Peers.systemVSharedMemory("write", "\(id)", "100", "written by C").exitStatus == 0)
    #expect(try Peers.systemVSharedMemory("store", "\(id)", "4088", "-1234567890123").exitStatus == 0)

    let memory = try SystemV.SharedMemory.open(key: key)
    #expect(memory.id == id)
    #expect(memory.size == 5000)
    #expect(try SystemV.SharedMemory.open(id: id) == memory)
    #expect(try SystemV.SharedMemory.open(key: key, size: 5000) == memory)
    let status = try memory.stat()
    #expect(status.size == 5000)
    #expect(status.key == key)
    #expect(status.permissions.octal == "0640")
    #expect(status.creatorPID == created.pid)
    #expect(status.attachCount == 0)

    let region = try memory.attach()
    #expect(region.count == 5000)
    #expect(
      try Peers.systemVSharedMemory("stat", "\(id)").standardOutput
        == "size=5000 mode=0640 nattch=1 cpid=\(created.pid) lpid=\(getpid())\n")
    #expect(try region.bytes(at: 100, count: 12) == Array("written by C".utf8))
    #expect(try region.bytes(at: 0, count: 100) == [UInt8](repeating: 0, count: 100))  // shmget zero-fills
    #expect(try region.load(Int64.self, at: 4088) == -1_234_567_890_123)
    try region.write("written by Swift".utf8, at: 4984)
    try region.store(Int64(0x0123_4567_89ab_cdef), at: 8)
    #expect(
      try Peers.systemVSharedMemory("read", "\(id)", "4984", "16").standardOutput == "written by Swift\n")
    #expect(
      try Peers.systemVSharedMemory("load", "\(id)", "8").standardOutput == "\(0x0123_4567_89ab_cdef)\n")
    // Untouched:
    #expect(try Peers.systemVSharedMemory("read", "\(id)", "100", "12").standardOutput == "written by C\n")

    try region.close()
    #expect(try memory.stat().attachCount == 0)
    let removed = try Peers.systemVSharedMemory("remove", "\(id)")
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    expectNotFound { try SystemV.SharedMemory.open(key: key) }
  }

  @Test func aSegmentSwiftCreatedByKeyIsFoundAndUsedByACPeer() throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(
      key: key, size: 3000, permissions: [.ownerReadWrite, .groupRead])
    defer { try? memory.remove() }
    let id = "\(memory.id)"
    #expect(try Peers.systemVSharedMemory("id", "\(key.rawValue)").standardOutput == "\(memory.id)\n")
    #expect(
      try Peers.systemVSharedMemory("stat", id).standardOutput
        == "size=3000 mode=0640 nattch=0 cpid=\(getpid()) lpid=0\n")

    let region = try memory.attach()
    try expectExchange(through: region, with: Peers.systemVSharedMemory, object: id)
    #expect(try memory.stat().attachCount == 1)

    // A C peer removes it while Swift is attached: only marked, the bytes stay.
    let removed = try Peers.systemVSharedMemory("remove", id)
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    let status = try memory.stat()
    #expect(status.isMarkedForRemoval)
    #expect(status.key == .private)
    #expect(status.attachCount == 1)
    #expect(status.lastPID != getpid())  // the peers attached and detached last
    #expect(try region.bytes(at: 0, count: 6) == Array("from C".utf8))
    expectNotFound { try SystemV.SharedMemory.open(key: key) }
    try region.close()
    expectNotFound { try memory.stat() }
  }

  @Test func aReadOnlyAttachSeesWhatACPeerWritesAndRefusesToChangeIt() throws {
    let key = TestKeys.next()
    let created = try Peers.systemVSharedMemory("create", "\(key.rawValue)", "4096", "0644")
    defer { try? SystemV.SharedMemory.open(key: key).remove() }
    #expect(created.exitStatus == 0, "\(created.standardError)")
    let memory = try SystemV.SharedMemory.open(key: key, size: 4096)
    #expect(try memory.stat().permissions.octal == "0644")
    let id = "\(memory.id)"
    let region = try memory.attach(readOnly: true)
    #expect(!region.isWritable)

    #expect(try Peers.systemVSharedMemory("write", id, "64", "first").exitStatus == 0)
    #expect(try region.bytes(at: 64, count: 5) == Array("first".utf8))
    #expect(try Peers.systemVSharedMemory("write", id, "64", "again").exitStatus == 0)
    #expect(try Peers.systemVSharedMemory("store", id, "128", "77").exitStatus == 0)
    #expect(try region.bytes(at: 64, count: 5) == Array("again".utf8))
    #expect(try region.load(Int64.self, at: 128) == 77)
    #expect(try region.atomicLoad(Int64.self, at: 128) == 77)

    let written = #expect(throws: IPCError.self) { try region.write("Swift".utf8, at: 64) }
    #expect(written?.code == .permissionDenied)
    let stored = #expect(throws: IPCError.self) { try region.store(Int64(1), at: 128) }
    #expect(stored?.code == .permissionDenied)
    let added = #expect(throws: IPCError.self) { try region.atomicAdd(Int64(1), at: 128) }
    #expect(added?.code == .permissionDenied)
    #expect(try Peers.systemVSharedMemory("read", id, "64", "5").standardOutput == "again\n")
    #expect(try Peers.systemVSharedMemory("load", id, "128").standardOutput == "77\n")
  }

  // MARK: System V segments and util-linux

  @Test func anIpcmkSegmentOpensByIdAndKeyWithItsSizeAndPermissionsAndNoOtherSize() throws {
    // Run here, not by Tools.ipcmk: its pid must be the segment's creator's.
    let made = try SpawnedProcess.run("/usr/bin/env", ["ipcmk", "-M", "5000", "-p", "0640"])
    #expect(made.exitStatus == 0, "\(made.standardError)")
    // ipcmk prints "Shared memory id: N" and picks a random key, which ipcs lists.
    let id = try #require(firstNumber(in: made.standardOutput), "\(made.standardOutput)")
    defer { try? SystemV.SharedMemory.open(id: id).remove() }
    let columns = try ipcsColumns(ofSegment: id)
    let key = try #require(columns.first.flatMap { SystemV.Key(parsing: $0) }, "\(columns)")
    #expect(columns.dropFirst(3).prefix(3) == ["640", "5000", "0"])

    let byID = try SystemV.SharedMemory.open(id: id)
    let byKey = try SystemV.SharedMemory.open(key: key)
    #expect(byID == byKey)
    #expect(byID.size == 5000)
    #expect(try SystemV.SharedMemory.open(key: key, size: 5000) == byID)
    #expect(try SystemV.SharedMemory.openOrCreate(key: key, size: 5000) == byID)
    let status = try byID.stat()
    #expect(status.size == 5000)
    #expect(status.key == key)
    #expect(status.permissions.octal == "0640")
    #expect(status.creatorPID == made.pid)  // env execs ipcmk: one pid
    #expect(status.lastAttachTime == nil)

    // Another size is refused, smaller (which shmget alone accepts) or larger,
    // and the error names both.
    for asked in [4096, 8192] {
      let refused = #expect(throws: IPCError.self) { try SystemV.SharedMemory.open(key: key, size: asked) }
      #expect(refused?.code == .invalidArgument)
      #expect(refused?.reason.contains("5000 bytes") == true, "\(String(describing: refused))")
      #expect(
        refused?.reason.contains("not the \(asked) asked for") == true, "\(String(describing: refused))")
      let orCreate = #expect(throws: IPCError.self) {
        try SystemV.SharedMemory.openOrCreate(key: key, size: asked)
      }
      #expect(orCreate?.code == .invalidArgument)
      #expect(orCreate?.reason.contains("5000 bytes") == true, "\(String(describing: orCreate))")
    }
    #expect(try ipcsColumns(ofSegment: id).dropFirst(3).prefix(3) == ["640", "5000", "0"])  // unchanged

    let region = try byKey.attach()
    try region.write("hello ipcmk".utf8, at: 4989)
    let details = try ipcsDetails(ofSegment: id)
    #expect(details.contains("bytes=5000"), "\(details)")
    #expect(details.contains("nattch=1"), "\(details)")
    #expect(details.contains("lpid=\(getpid())"), "\(details)")
    #expect(try Peers.systemVSharedMemory("read", "\(id)", "4989", "11").standardOutput == "hello ipcmk\n")
    try region.close()

    let removed = try SpawnedProcess.run("/usr/bin/env", ["ipcrm", "-M", "\(key)"])
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    expectNotFound { try SystemV.SharedMemory.open(id: id) }
  }

  @Test func aSegmentSwiftCreatedIsShownByIpcsAndRemovedByIpcrm() throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(
      key: key, size: 12345, permissions: [.ownerReadWrite, .groupRead, .otherRead])
    defer { try? memory.remove() }
    #expect(try ipcsColumns(ofSegment: memory.id).first == "\(key)")
    let region = try memory.attach()
    let columns = try ipcsColumns(ofSegment: memory.id)
    #expect(columns.dropFirst(3).prefix(3) == ["644", "12345", "1"], "\(columns)")
    let details = try ipcsDetails(ofSegment: memory.id)
    #expect(details.contains("mode=0644"), "\(details)")
    #expect(details.contains("bytes=12345"), "\(details)")
    #expect(details.contains("cpid=\(getpid())"), "\(details)")

    // ipcrm while Swift is attached: marked ("dest"), the mapping stays usable.
    let removed = try SpawnedProcess.run("/usr/bin/env", ["ipcrm", "-m", "\(memory.id)"])
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    #expect(try ipcsColumns(ofSegment: memory.id).last == "dest")
    #expect(try memory.stat().isMarkedForRemoval)
    try region.write("still here".utf8, at: 12335)
    #expect(try region.bytes(at: 12335, count: 10) == Array("still here".utf8))
    try region.close()
    #expect(try ipcsLine(segment: memory.id) == nil)
    expectNotFound { try memory.stat() }
  }

  // MARK: System V segments and Python's sysv_ipc

  @Test(.enabled(if: Python.sysvIPC))
  func pythonSysvIPCUsesASegmentSwiftCreated() throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(
      key: key, size: 3000, permissions: [.ownerReadWrite, .groupRead])
    defer { try? memory.remove() }
    let region = try memory.attach()
    try region.write("from Swift".utf8, at: 10)
    try region.store(Int64(-5), at: 2992)
    let script = """
      import struct, sysv_ipc
      m = sysv_ipc.SharedMemory(\(key.rawValue))
      print(m.id, m.size, oct(m.mode), m.number_attached, m.creator_pid == \(getpid()))
      print(m.read(10, offset=10).decode(), struct.unpack("=q", m.read(8, offset=2992))[0])
      m.write(b"from Python", offset=100)
      m.write(struct.pack("=q", 1 << 40), offset=200)
      m.detach()
      """
    let python = try Python.run(script)
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(python.standardOutput == "\(memory.id) 3000 0o640 2 True\nfrom Swift -5\n")
    #expect(try region.bytes(at: 100, count: 11) == Array("from Python".utf8))
    #expect(try region.load(Int64.self, at: 200) == 1 << 40)
    let status = try memory.stat()
    #expect(status.attachCount == 1)
    #expect(status.lastPID == python.pid)  // env execs python3: one pid
  }

  @Test(.enabled(if: Python.sysvIPC))
  func aSegmentPythonCreatedIsOpenedAndUsedBySwift() throws {
    let key = TestKeys.next()
    let create = """
      import sysv_ipc
      m = sysv_ipc.SharedMemory(\(key.rawValue), sysv_ipc.IPC_CREX, mode=0o640, size=5000)
      m.write(b"from Python", offset=0)
      print(m.id, m.size)
      """
    let python = try Python.run(create)
    defer { try? SystemV.SharedMemory.open(key: key).remove() }
    #expect(python.exitStatus == 0, "\(python.standardError)")
    let memory = try SystemV.SharedMemory.open(key: key)
    #expect(python.standardOutput == "\(memory.id) 5000\n")
    #expect(memory.size == 5000)
    let status = try memory.stat()
    #expect(status.size == 5000)
    #expect(status.permissions.octal == "0640")
    #expect(status.creatorPID == python.pid)

    let region = try memory.attach()
    #expect(try region.bytes(at: 0, count: 11) == Array("from Python".utf8))
    // sysv_ipc fills a new segment with its init_character, a space by default.
    #expect(try region.bytes(at: 11, count: 4989) == [UInt8](repeating: 0x20, count: 4989))
    try region.write("from Swift".utf8, at: 4990)

    let read = try Python.run(
      """
      import sysv_ipc
      m = sysv_ipc.SharedMemory(\(key.rawValue))
      print(m.read(10, offset=4990).decode(), m.size, m.number_attached)
      m.remove()
      """)
    #expect(read.exitStatus == 0, "\(read.standardError)")
    #expect(read.standardOutput == "from Swift 5000 2\n")
    #expect(try memory.stat().isMarkedForRemoval)  // Swift is still attached
    try region.close()
    expectNotFound { try SystemV.SharedMemory.open(id: memory.id) }
  }

  // MARK: POSIX objects and a C peer

  @Test(.prompt) func anObjectACPeerCreatedIsOpenedMappedAndWrittenBySwift() async throws {
    try await withSharedMemoryName { name in
      let created = try Peers.posixSharedMemory("create", name, "5000", "0640")
      #expect(created.exitStatus == 0, "\(created.standardError)")
      #expect(try Peers.posixSharedMemory("write", name, "100", "written by C").exitStatus == 0)
      #expect(try Peers.posixSharedMemory("store", name, "4088", "-1234567890123").exitStatus == 0)

      let memory = try POSIX.SharedMemory.open(name)
      #expect(try memory.size == 5000)
      let region = try memory.map()
      #expect(region.count == 5000)
      #expect(try region.bytes(at: 100, count: 12) == Array("written by C".utf8))
      // ftruncate zero-fills.
      #expect(try region.bytes(at: 0, count: 100) == [UInt8](repeating: 0, count: 100))
      #expect(try region.load(Int64.self, at: 4088) == -1_234_567_890_123)
      try region.write("written by Swift".utf8, at: 4984)
      try region.store(Int64(0x0123_4567_89ab_cdef), at: 8)
      #expect(try Peers.posixSharedMemory("read", name, "4984", "16").standardOutput == "written by Swift\n")
      #expect(try Peers.posixSharedMemory("load", name, "8").standardOutput == "\(0x0123_4567_89ab_cdef)\n")

      // A read-only opening and mapping sees the peer's later writes and
      // refuses to change anything.
      let reader = try POSIX.SharedMemory.open(name, readOnly: true)
      let view = try reader.map(readOnly: true)
      #expect(try Peers.posixSharedMemory("write", name, "100", "C wrote again").exitStatus == 0)
      #expect(try view.bytes(at: 100, count: 13) == Array("C wrote again".utf8))
      #expect(try region.bytes(at: 100, count: 13) == Array("C wrote again".utf8))
      let refused = #expect(throws: IPCError.self) { try view.write("Swift".utf8, at: 100) }
      #expect(refused?.code == .permissionDenied)
      let added = #expect(throws: IPCError.self) { try view.atomicAdd(Int64(1), at: 8) }
      #expect(added?.code == .permissionDenied)
      #expect(try Peers.posixSharedMemory("read", name, "100", "13").standardOutput == "C wrote again\n")

      // The peer unlinks the name: opening fails, the mappings stay.
      let unlinked = try Peers.posixSharedMemory("unlink", name)
      #expect(unlinked.exitStatus == 0, "\(unlinked.standardError)")
      expectNotFound { try POSIX.SharedMemory.open(name) }
      #expect(try view.bytes(at: 4984, count: 16) == Array("written by Swift".utf8))
    }
  }

  @Test(.prompt) func anObjectSwiftCreatedIsUsedAndResizedWithACPeer() async throws {
    try await withSharedMemoryName { name in
      let memory = try POSIX.SharedMemory.create(
        name, size: 3000, permissions: [.ownerReadWrite, .groupRead])
      #expect(try Peers.posixSharedMemory("stat", name).standardOutput == "size=3000 mode=0640\n")
      let region = try memory.map()
      try expectExchange(through: region, with: Peers.posixSharedMemory, object: name)

      // Swift grows it: the peer sees the new size and writes past the old end.
      try memory.resize(to: 8192)
      #expect(try Peers.posixSharedMemory("stat", name).standardOutput == "size=8192 mode=0640\n")
      #expect(try Peers.posixSharedMemory("write", name, "8000", "past the old end").exitStatus == 0)
      let grown = try memory.map()
      #expect(grown.count == 8192)
      #expect(try grown.bytes(at: 8000, count: 16) == Array("past the old end".utf8))
      #expect(try grown.bytes(at: 2990, count: 10) == Array("from Swift".utf8))
      #expect(region.count == 3000)  // an existing mapping keeps its size
    }
  }

  // MARK: An atomic counter shared with a C peer

  // One test for both kinds, so that the two counters never compete for the
  // CPUs: a lost update shows only while Swift and the peer run on two CPUs.
  @Test(.prompt) func anInt64CounterThatACPeerAndSwiftAddToAtOnceEndsExact() async throws {
    let memory = try SystemV.SharedMemory.create(size: 4096)
    defer { try? memory.remove() }
    try addAtOnce(in: memory.attach(), with: Tools.shmPeer.get(), object: "\(memory.id)")
    try await withSharedMemoryName { name in
      let posix = try POSIX.SharedMemory.create(name, size: 4096)
      try addAtOnce(in: posix.map(), with: Tools.posixShmPeer.get(), object: name)
    }
  }

  // MARK: POSIX objects and Python's posix_ipc

  // posix_ipc's SharedMemory.mode is the mode argument it was given (0o600 by
  // default), not the object's: the scripts read the mode with os.fstat.

  @Test(.prompt, .enabled(if: Python.posixIPC))
  func pythonPosixIPCMapsAnObjectSwiftCreated() async throws {
    try await withSharedMemoryName { name in
      let memory = try POSIX.SharedMemory.create(
        name, size: 3000, permissions: [.ownerReadWrite, .groupRead])
      let region = try memory.map()
      try region.write("from Swift".utf8, at: 10)
      try region.store(Int64(-5), at: 2992)
      let script = """
        import mmap, os, posix_ipc, struct
        s = posix_ipc.SharedMemory("\(name)")
        m = mmap.mmap(s.fd, s.size)
        print(s.size, oct(os.fstat(s.fd).st_mode & 0o777))
        s.close_fd()
        print(m[10:20].decode(), struct.unpack("=q", m[2992:3000])[0])
        m[100:111] = b"from Python"
        m[200:208] = struct.pack("=q", 1 << 40)
        m.close()
        """
      let python = try Python.run(script)
      #expect(python.exitStatus == 0, "\(python.standardError)")
      #expect(python.standardOutput == "3000 0o640\nfrom Swift -5\n")
      #expect(try region.bytes(at: 100, count: 11) == Array("from Python".utf8))
      #expect(try region.load(Int64.self, at: 200) == 1 << 40)
    }
  }

  @Test(.prompt, .enabled(if: Python.posixIPC))
  func anObjectPythonCreatedIsMappedAndUsedBySwift() async throws {
    try await withSharedMemoryName { name in
      let create = """
        import mmap, posix_ipc
        s = posix_ipc.SharedMemory("\(name)", posix_ipc.O_CREX, mode=0o640, size=5000)
        m = mmap.mmap(s.fd, s.size)
        m[0:11] = b"from Python"
        print(s.size)
        """
      let python = try Python.run(create)
      #expect(python.exitStatus == 0, "\(python.standardError)")
      #expect(python.standardOutput == "5000\n")
      let memory = try POSIX.SharedMemory.open(name)
      #expect(try memory.size == 5000)
      let region = try memory.map()
      #expect(region.count == 5000)
      #expect(try region.bytes(at: 0, count: 11) == Array("from Python".utf8))
      #expect(try region.bytes(at: 11, count: 4989) == [UInt8](repeating: 0, count: 4989))
      try region.write("from Swift".utf8, at: 4990)

      let read = try Python.run(
        """
        import mmap, posix_ipc
        s = posix_ipc.SharedMemory("\(name)")
        m = mmap.mmap(s.fd, s.size)
        print(m[4990:5000].decode(), s.size)
        posix_ipc.unlink_shared_memory("\(name)")
        """)
      #expect(read.exitStatus == 0, "\(read.standardError)")
      #expect(read.standardOutput == "from Swift 5000\n")
      expectNotFound { try POSIX.SharedMemory.open(name) }
      // The mapping outlives the name.
      #expect(try region.bytes(at: 0, count: 11) == Array("from Python".utf8))
    }
  }
}
