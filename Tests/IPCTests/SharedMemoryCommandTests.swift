import Foundation
import Testing

@testable import IPC

/// `ipc shm` as real processes on real segments and objects: every
/// subcommand checked through the library, both kinds, bytes that do not fit
/// (nothing written), the size limits, permissions, objects shared with
/// ipcmk, C peers and Python, and `ipc list`.
@Suite("ipc shm")
struct SharedMemoryCommandTests {
  // MARK: System V segments

  @Test(.prompt) func segmentCreateWriteReadStatRemoveRoundTrip() async throws {
    let key = TestKeys.next()
    let create = try Tools.ipc("shm", "create", "--key", "\(key)", "--size", "100", "--mode", "0640")
    defer { try? SystemV.SharedMemory.open(key: key).remove() }
    #expect(create.exitStatus == 0, "\(create.standardError)")
    let id = try #require(Int32(create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let memory = try SystemV.SharedMemory.open(key: key, size: 100)
    #expect(memory.id == id)
    #expect(try memory.stat().permissions.octal == "0640")
    let region = try memory.attach()

    // Text and its terminating zero, as C's strcpy leaves it.
    let write = try Tools.ipc("shm", "write", "--key", "\(key)", "hello world")
    #expect(write.exitStatus == 0, "\(write.standardError)")
    #expect(try region.bytes(at: 0, count: 13) == Array("hello world".utf8) + [0, 0])
    // A shorter text over it reads back alone, up to its zero.
    #expect(try Tools.ipc("shm", "write", "--id", "\(id)", "--offset", "6", "you").exitStatus == 0)
    #expect(try Tools.ipc("shm", "read", "--id", "\(id)").standardOutput == "hello you\n")
    #expect(try Tools.ipc("shm", "read", "--key", "\(key)", "--offset", "6").standardOutput == "you\n")

    // What the library writes, the command reads: --length takes exactly that many.
    try region.write(Array("abc".utf8) + [0, 0x7f, 0xff], at: 90)
    let exact = try Tools.ipc("shm", "read", "--id", "\(id)", "--offset", "90", "--length", "6")
    #expect(exact.standardOutputBytes == Array("abc".utf8) + [0, 0x7f, 0xff, 0x0a])

    // --raw leaves the zero out.
    #expect(try Tools.ipc("shm", "write", "--id", "\(id)", "--raw", "HE").exitStatus == 0)
    #expect(try region.bytes(at: 0, count: 4) == Array("HEll".utf8))

    let lines = try Tools.ipcLines("shm", "stat", "--key", "\(key)")
    #expect(lines.contains("id          \(id)"), "\(lines)")
    #expect(lines.contains("key         \(key)"))
    #expect(lines.contains("permissions rw-r----- (0640)"))
    #expect(lines.contains("size        100 bytes"))
    #expect(lines.contains("attached    1"))  // this test's region
    #expect(lines.contains { $0.hasPrefix("creator") && $0.hasSuffix("pid \(create.pid)") })

    // Removed while attached: marked, and the data stays for the holder.
    let remove = try Tools.ipc("shm", "remove", "--key", "\(key)")
    #expect(remove.exitStatus == 0, "\(remove.standardError)")
    #expect(
      remove.standardOutput.contains(
        "\(memory) is marked for removal; it goes away when its 1 attachment detach"))
    #expect(try memory.stat().isMarkedForRemoval)
    #expect(try region.bytes(at: 0, count: 4) == Array("HEll".utf8))
    let gone = try Tools.ipc("shm", "read", "--key", "\(key)")
    #expect(gone.exitStatus == 1)
    #expect(
      gone.standardError.contains("no shared memory segment exists for key \(key)"), "\(gone.standardError)")
    try region.close()
    #expect(throws: IPCError.self) { try memory.stat() }
  }

  @Test(.prompt) func aPrivateSegmentIsMadeWithoutAKeyAndHexDumpsCollapseRepeats() async throws {
    let create = try Tools.ipc("shm", "create", "--size", "70")
    #expect(create.exitStatus == 0, "\(create.standardError)")
    let id = try #require(Int32(create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let memory = try SystemV.SharedMemory.open(id: id)
    defer { try? memory.remove() }
    #expect(try memory.stat().key == .private)
    #expect(try memory.stat().permissions.octal == "0600")
    #expect(memory.size == 70)
    let hexWrite = try Tools.ipc("shm", "write", "--id", "\(id)", "--offset", "2", "--hex", "de ad BE ef")
    #expect(hexWrite.exitStatus == 0, "\(hexWrite.standardError)")
    #expect(try memory.attach().bytes(at: 0, count: 7) == [0, 0, 0xde, 0xad, 0xbe, 0xef, 0])
    let dump = try Tools.ipc("shm", "read", "--id", "\(id)", "--hex")
    #expect(dump.exitStatus == 0, "\(dump.standardError)")
    #expect(
      dump.standardOutput == """
        00000000  00 00 de ad be ef 00 00 00 00 00 00 00 00 00 00  |................|
        00000010  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  |................|
        *
        00000040  00 00 00 00 00 00                                |......|
        00000046

        """)
    let part = try Tools.ipc("shm", "read", "--id", "\(id)", "--hex", "--offset", "3", "--length", "2")
    #expect(
      part.standardOutput == "00000003  ad be" + String(repeating: " ", count: 42) + "  |..|\n00000005\n")
  }

  // MARK: POSIX objects

  @Test(.prompt) func posixCreateWriteReadStatRemoveRoundTrip() async throws {
    try await withSharedMemoryName { name in
      let create = try Tools.ipc("shm", "create", name, "--size", "64", "--mode", "0604")
      #expect(create.exitStatus == 0, "\(create.standardError)")
      #expect(create.standardOutput.isEmpty)
      let memory = try POSIX.SharedMemory.open(name)
      #expect(try memory.size == 64)
      // Exactly the mode asked for, whatever the umask.
      #expect(ShmFileMode.of(name) == 0o604)
      let again = try Tools.ipc("shm", "create", name, "--size", "64")
      #expect(again.exitStatus == 1)
      #expect(again.standardError.contains("exists"), "\(again.standardError)")

      #expect(try Tools.ipc("shm", "write", name, "--offset", "8", "from the command").exitStatus == 0)
      let region = try memory.map()
      #expect(try region.bytes(at: 8, count: 17) == Array("from the command".utf8) + [0])
      try region.write(Array("from Swift".utf8) + [0], at: 40)
      #expect(try Tools.ipc("shm", "read", name, "--offset", "40").standardOutput == "from Swift\n")

      let lines = try Tools.ipcLines("shm", "stat", name)
      #expect(lines.contains("name        \(name)"), "\(lines)")
      #expect(lines.contains("file        /dev/shm\(name)"))
      #expect(lines.contains("permissions rw----r-- (0604)"))
      #expect(lines.contains("size        64 bytes"))

      #expect(try Tools.ipc("shm", "remove", name).exitStatus == 0)
      #expect(ShmFileMode.of(name) == nil)
      // Unlinking leaves the mapping: the bytes are still here.
      #expect(try region.bytes(at: 40, count: 4) == Array("from".utf8))
      let gone = try Tools.ipc("shm", "read", name)
      #expect(gone.exitStatus == 1)
      #expect(
        gone.standardError.contains("no shared memory object is named \(name)"), "\(gone.standardError)")
    }
  }

  // MARK: Bad input: a clear error, and nothing written

  @Test(.prompt) func bytesThatDoNotFitAreRefusedAndNothingIsWritten() async throws {
    try await withSegment(size: 16) { memory in
      let region = try memory.attach()
      try region.write(Array(repeating: 0x41, count: 16), at: 0)
      // 7 bytes and the zero at offset 10 need 18 of 16.
      let write = try Tools.ipc("shm", "write", "--id", "\(memory.id)", "--offset", "10", "1234567")
      #expect(write.exitStatus == 1)
      #expect(
        write.standardError.contains(
          "write on \(memory) failed: 8 bytes at offset 10 reach past the end of the region of 16 bytes"),
        "\(write.standardError)")
      #expect(write.standardError.contains("nothing was touched"))
      #expect(try region.bytes(at: 0, count: 16) == Array(repeating: 0x41, count: 16))
      // --raw fits exactly at the end.
      #expect(
        try Tools.ipc("shm", "write", "--id", "\(memory.id)", "--offset", "9", "--raw", "1234567").exitStatus
          == 0)
      #expect(try region.bytes(at: 9, count: 7) == Array("1234567".utf8))

      let negative = try Tools.ipc("shm", "write", "--id", "\(memory.id)", "--offset", "-1", "x")
      #expect(negative.exitStatus == 2)
      #expect(negative.standardError.contains("--offset: expected a whole number, 0 or more, got '-1'"))
      let past = try Tools.ipc("shm", "read", "--id", "\(memory.id)", "--offset", "8", "--length", "9")
      #expect(past.exitStatus == 1)
      #expect(past.standardError.contains("9 bytes at offset 8 reach past the end of the region of 16 bytes"))
      #expect(past.standardOutput.isEmpty)
    }
  }

  @Test(arguments: [
    (["create", "--size", "0"], "a segment's size must be at least 1 byte, not 0", 1),
    (
      ["create", "/ipc-test-zero", "--size", "0"], "a shared memory object's size must be at least 1 byte", 1
    ),
    (["create"], "missing --size N", 2),
    (
      ["create", "/a", "--key", "5", "--size", "3"],
      "--key: give either a key (System V) or a NAME (POSIX), not both", 2
    ),
    (["create", "no-slash", "--size", "3"], "no-slash", 1),
    (["read"], "missing SHM (--key K, --id I, or a POSIX NAME such as /frames)", 2),
    (["read", "--id", "1", "/extra"], "unexpected argument '/extra'", 2),
    (["read", "--id", "x"], "--id: expected an id from 0 to 2147483647, got 'x'", 2),
    (["write", "/name"], "ipc shm write: missing TEXT (see", 2),
    (
      ["write", "/name", "--hex", "abc"],
      "--hex: expected pairs of hex digits such as 00ff10 or \"de ad\", got 'abc'", 2
    ),
    (["write", "/name", "--hex", "--raw", "00"], "--raw and --hex exclude each other", 2),
    (["stat", "--id", "2147483647"], "no shared memory segment has id 2147483647", 1),
    (["frob"], "ipc shm: unknown subcommand 'frob' (see 'ipc shm --help')", 2),
  ])
  func badInputIsNamed(arguments: [String], message: String, status: Int32) throws {
    let run = try SpawnedProcess.run(Tools.ipc, ["shm"] + arguments)
    if status == 2 {
      expectUsageError(run, arguments, mentioning: message)
    } else {
      #expect(run.exitStatus == status, "\(run.standardError)")
      #expect(run.standardError.contains(message), "\(run.standardError)")
    }
    #expect(ShmFileMode.of("/ipc-test-zero") == nil)
  }

  @Test(.prompt) func aPOSIXSizeAboveTheTmpfsIsRefusedNamingIt() async throws {
    try await withSharedMemoryName { name in
      let run = try Tools.ipc("shm", "create", name, "--size", "\(Int.max)")
      #expect(run.exitStatus == 1)
      #expect(run.standardError.contains("bytes of the tmpfs on /dev/shm"), "\(run.standardError)")
      #expect(ShmFileMode.of(name) == nil)
    }
  }

  /// shmmax is huge by default; a private IPC namespace lowers it for this
  /// one run, without touching the machine's.
  @Test func aSegmentAboveShmmaxIsRefusedNamingTheLimit() throws {
    let script = """
      echo 4096 > /proc/sys/kernel/shmmax || exit 77
      "$0" shm create --size 4097; echo "status $?"
      "$0" shm create --size 4096 >/dev/null; echo "status $?"
      ipcs -m | awk 'NR > 3 && NF' | wc -l
      """
    let run = try SpawnedProcess.run("/usr/bin/env", ["unshare", "--ipc", "sh", "-c", script, Tools.ipc])
    try #require(run.exitStatus == 0, "unshare --ipc needs root: \(run.standardError)")
    #expect(
      run.standardError.contains(
        "a segment of 4097 bytes exceeds shmmax 4096, the largest segment, see /proc/sys/kernel/shmmax"),
      "\(run.standardError)")
    // Refused, then made at exactly the limit: one segment, gone with the namespace.
    #expect(run.standardOutput == "status 1\nstatus 0\n1\n", "\(run.standardOutput)")
  }

  @Test(.prompt) func withoutWritePermissionReadingWorksAndWritingChangesNothing() async throws {
    try await withSegment(size: 32) { memory in
      try memory.setPermissions(Permissions(octal: "0644")!)
      try memory.attach().write(Array("owner's".utf8) + [0], at: 0)
      let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", Tools.ipc]
      let read = try SpawnedProcess.run(
        "/usr/bin/env", ["setpriv"] + asNobody + ["shm", "read", "--id", "\(memory.id)"])
      #expect(read.exitStatus == 0, "\(read.standardError)")
      #expect(read.standardOutput == "owner's\n")
      let write = try SpawnedProcess.run(
        "/usr/bin/env", ["setpriv"] + asNobody + ["shm", "write", "--id", "\(memory.id)", "nobody's"])
      #expect(write.exitStatus == 1)
      #expect(write.standardError.contains("[EACCES]"), "\(write.standardError)")
      #expect(try memory.attach(readOnly: true).bytes(at: 0, count: 8) == Array("owner's".utf8) + [0])
    }
  }

  // MARK: Shared with ipcmk and Python

  @Test func aSegmentMadeByIpcmkIsReadAndWrittenByKeyAndId() throws {
    let id = try Tools.ipcmk("-M", "300", "-p", "0640")
    let memory = try SystemV.SharedMemory.open(id: id)
    defer { try? memory.remove() }
    let key = try memory.stat().key
    #expect(try Tools.ipc("shm", "stat", "--id", "\(id)").standardOutput.contains("size        300 bytes"))
    #expect(
      try Tools.ipc("shm", "write", "--key", "\(key)", "--offset", "290", "made by ipcmk").exitStatus == 1)
    #expect(
      try Tools.ipc("shm", "write", "--key", "\(key)", "--offset", "200", "made by ipcmk").exitStatus == 0)
    #expect(try memory.attach().bytes(at: 200, count: 14) == Array("made by ipcmk".utf8) + [0])
    #expect(
      try Tools.ipc("shm", "read", "--id", "\(id)", "--offset", "200").standardOutput == "made by ipcmk\n")
    let ipcs = try #require(try ipcsLine(segment: id))
    #expect(ipcs.contains(" 640 ") && ipcs.contains(" 300 "), "\(ipcs)")
    #expect(try Tools.ipc("shm", "remove", "--id", "\(id)").exitStatus == 0)
    #expect(try ipcsLine(segment: id) == nil)
  }

  @Test func segmentsAreSharedWithACPeerBothWays() throws {
    let peer = try Tools.shmPeer.get()
    let key = TestKeys.next()
    let made = try SpawnedProcess.run(peer, ["create", "\(key.rawValue)", "256", "0640"])
    defer { try? SystemV.SharedMemory.open(key: key).remove() }
    #expect(made.exitStatus == 0, "\(made.standardError)")
    let id = made.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try SpawnedProcess.run(peer, ["write", id, "32", "from C"]).exitStatus == 0)
    // The peer writes no zero byte: the segment's own zeros end the text.
    #expect(try Tools.ipc("shm", "read", "--key", "\(key)", "--offset", "32").standardOutput == "from C\n")
    #expect(try Tools.ipc("shm", "stat", "--id", id).standardOutput.contains("permissions rw-r----- (0640)"))
    #expect(try Tools.ipc("shm", "write", "--id", id, "--offset", "100", "from ipc").exitStatus == 0)
    let read = try SpawnedProcess.run(peer, ["read", id, "100", "9"])
    #expect(read.standardOutputBytes == Array("from ipc".utf8) + [0, 0x0a], "\(read.standardError)")

    // Made by the command, used by the peer.
    let create = try Tools.ipc(
      "shm", "create", "--key", "\(TestKeys.next())", "--size", "64", "--mode", "0604")
    let otherID = create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    defer { try? SystemV.SharedMemory.open(id: Int32(otherID) ?? -1).remove() }
    #expect(create.exitStatus == 0, "\(create.standardError)")
    #expect(try SpawnedProcess.run(peer, ["stat", otherID]).standardOutput.hasPrefix("size=64 mode=0604"))
    #expect(try Tools.ipc("shm", "write", "--id", otherID, "--hex", "2a00000000000000").exitStatus == 0)
    #expect(try SpawnedProcess.run(peer, ["load", otherID, "0"]).standardOutput == "42\n")
  }

  @Test(.prompt) func objectsAreSharedWithACPeerBothWays() async throws {
    let peer = try Tools.posixShmPeer.get()
    try await withSharedMemoryName { (name) async throws in
      #expect(try SpawnedProcess.run(peer, ["create", name, "128", "0640"]).exitStatus == 0)
      #expect(try SpawnedProcess.run(peer, ["write", name, "8", "from C"]).exitStatus == 0)
      #expect(try Tools.ipc("shm", "read", name, "--offset", "8").standardOutput == "from C\n")
      #expect(try Tools.ipc("shm", "stat", name).standardOutput.contains("size        128 bytes"))
      #expect(try Tools.ipc("shm", "write", name, "--offset", "64", "from ipc").exitStatus == 0)
      let read = try SpawnedProcess.run(peer, ["read", name, "64", "9"])
      #expect(read.standardOutputBytes == Array("from ipc".utf8) + [0, 0x0a], "\(read.standardError)")
    }
    try await withSharedMemoryName { (name) async throws in
      #expect(try Tools.ipc("shm", "create", name, "--size", "16", "--mode", "0660").exitStatus == 0)
      #expect(try SpawnedProcess.run(peer, ["stat", name]).standardOutput == "size=16 mode=0660\n")
      #expect(try SpawnedProcess.run(peer, ["store", name, "8", "-7"]).exitStatus == 0)
      #expect(
        try Tools.ipc("shm", "read", name, "--offset", "8", "--length", "8", "--hex").standardOutput
          == "00000008  f9 ff ff ff ff ff ff ff" + String(repeating: " ", count: 24)
          + "  |........|\n00000010\n")
      #expect(try SpawnedProcess.run(peer, ["unlink", name]).exitStatus == 0)
      #expect(try Tools.ipc("shm", "stat", name).exitStatus == 1)
    }
  }

  @Test(.enabled(if: Python.sysvIPC))
  func segmentsAreSharedWithPythonSysvIPCBothWays() throws {
    let key = TestKeys.next()
    let made = try Python.run(
      """
      import sysv_ipc
      m = sysv_ipc.SharedMemory(\(key.rawValue), sysv_ipc.IPC_CREX, size=128)
      m.write(b"from Python\\0", 16)
      print(m.id)
      """)
    defer { try? SystemV.SharedMemory.open(key: key).remove() }
    #expect(made.exitStatus == 0, "\(made.standardError)")
    #expect(
      try Tools.ipc("shm", "read", "--key", "\(key)", "--offset", "16").standardOutput == "from Python\n")
    #expect(try Tools.ipc("shm", "write", "--key", "\(key)", "--offset", "64", "from ipc").exitStatus == 0)
    let read = try Python.run(
      "import sysv_ipc; m = sysv_ipc.SharedMemory(\(key.rawValue)); print(m.size, m.read(9, 64))")
    #expect(read.standardOutput == "128 b'from ipc\\x00'\n", "\(read.standardError)")

    // And the other way: made by the command, used by Python.
    let otherKey = TestKeys.next()
    let create = try Tools.ipc("shm", "create", "--key", "\(otherKey)", "--size", "50")
    defer { try? SystemV.SharedMemory.open(key: otherKey).remove() }
    #expect(create.exitStatus == 0, "\(create.standardError)")
    #expect(try Tools.ipc("shm", "write", "--key", "\(otherKey)", "ping").exitStatus == 0)
    let python = try Python.run(
      """
      import sysv_ipc
      m = sysv_ipc.SharedMemory(\(otherKey.rawValue))
      print(m.id, m.size, m.read(5))
      m.write(b"pong\\0", 10)
      """)
    #expect(
      python.standardOutput == "\(create.standardOutput.dropLast()) 50 b'ping\\x00'\n",
      "\(python.standardError)")
    #expect(try Tools.ipc("shm", "read", "--key", "\(otherKey)", "--offset", "10").standardOutput == "pong\n")
  }

  @Test(.prompt, .enabled(if: Python.posixIPC))
  func objectsAreSharedWithPythonPosixIPCBothWays() async throws {
    try await withSharedMemoryName { name in
      let made = try Python.run(
        """
        import mmap, os, posix_ipc
        m = posix_ipc.SharedMemory("\(name)", posix_ipc.O_CREX, mode=0o600, size=4096)
        with mmap.mmap(m.fd, m.size) as b:
            b[100:112] = b"from Python\\0"
        os.close(m.fd)
        """)
      #expect(made.exitStatus == 0, "\(made.standardError)")
      #expect(try Tools.ipc("shm", "read", name, "--offset", "100").standardOutput == "from Python\n")
      #expect(try Tools.ipc("shm", "write", name, "--offset", "4000", "from ipc").exitStatus == 0)
      let read = try Python.run(
        """
        import mmap, os, posix_ipc
        m = posix_ipc.SharedMemory("\(name)")
        with mmap.mmap(m.fd, m.size) as b:
            print(m.size, bytes(b[4000:4009]))
        os.close(m.fd)
        """)
      #expect(read.standardOutput == "4096 b'from ipc\\x00'\n", "\(read.standardError)")
    }
    try await withSharedMemoryName { name in
      #expect(try Tools.ipc("shm", "create", name, "--size", "10").exitStatus == 0)
      #expect(try Tools.ipc("shm", "write", name, "ping").exitStatus == 0)
      let python = try Python.run(
        """
        import mmap, os, posix_ipc
        m = posix_ipc.SharedMemory("\(name)")
        with mmap.mmap(m.fd, m.size) as b:
            print(m.size, bytes(b[0:5]))
            b[5:10] = b"pong\\0"
        os.close(m.fd)
        """)
      #expect(python.standardOutput == "10 b'ping\\x00'\n", "\(python.standardError)")
      #expect(try Tools.ipc("shm", "read", name, "--offset", "5").standardOutput == "pong\n")
    }
  }

  // MARK: ipc list

  @Test(.prompt) func listShowsSegmentsAndPOSIXObjectsButNotSemaphores() async throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(
      key: key, size: 333, permissions: Permissions(octal: "0640")!)
    defer { try? memory.remove() }
    let attached = try memory.attach()
    let other = try SystemV.SharedMemory.create(size: 77)
    defer { try? other.remove() }
    let held = try other.attach()
    try other.remove()  // removed while attached: "dest", key cleared
    try await withSharedMemoryName { name in
      let object = try POSIX.SharedMemory.create(name, size: 4321)
      let semaphoreName = TestNames.next("ipc-psem")
      let semaphore = try POSIX.Semaphore.create(semaphoreName, value: 0)
      defer { try? POSIX.Semaphore.unlink(semaphoreName) }
      let list = try Tools.ipc("list")
      #expect(list.exitStatus == 0, "\(list.standardError)")
      let lines = list.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
      #expect(
        lines.contains(["\(key)", "\(memory.id)", "root", "0640", "333", "1", "\(getpid())", "\(getpid())"]),
        "\(list.standardOutput)")
      #expect(
        lines.contains([
          "0x00000000", "\(other.id)", "root", "0600", "77", "1", "\(getpid())", "\(getpid())", "dest",
        ]))
      let shmSection = try #require(list.standardOutput.range(of: "------ POSIX shared memory"))
      let posixRows = list.standardOutput[shmSection.upperBound...].split(separator: "\n").dropFirst()
        .map { $0.split(separator: " ").map(String.init) }
      #expect(posixRows.contains([name, "root", "0600", "4321"]), "\(list.standardOutput)")
      #expect(
        !posixRows.contains { $0.first == semaphoreName || $0.first == "/sem." + semaphoreName.dropFirst() })
      _ = (object, semaphore, attached, held)
    }
  }

  /// A read larger than one piece (1 MiB) is streamed: the bytes and the hex
  /// offsets come out as from one copy, and nothing of the object's size is allocated.
  @Test func aReadLargerThanOnePieceStreamsTheSameBytes() throws {
    let name = TestNames.next()
    let size = 3 << 20
    let memory = try POSIX.SharedMemory.create(name, size: size)
    defer { try? memory.unlink() }
    let region = try memory.map()
    let marks: [(Int, [UInt8])] = [((1 << 20) - 2, Array("across".utf8)), (size - 3, Array("end".utf8))]
    for (offset, bytes) in marks { try region.write(bytes, at: offset) }
    let raw = try Tools.ipc("shm", "read", name, "--raw", "--length", "\(size)")
    #expect(raw.exitStatus == 0)
    #expect(raw.standardOutputBytes.count == size + 1)
    for (offset, bytes) in marks {
      #expect(Array(raw.standardOutputBytes[offset..<offset + bytes.count]) == bytes)
    }
    let hex = try Tools.ipc("shm", "read", name, "--hex")
    #expect(hex.exitStatus == 0)
    #expect(
      hex.standardOutput.contains("000ffff0  00 00 00 00 00 00 00 00 00 00 00 00 00 00 61 63"),
      "\(hex.standardOutput)")
    #expect(hex.standardOutput.contains("00100000  72 6f 73 73"), "\(hex.standardOutput)")
    #expect(hex.standardOutput.hasSuffix("00300000\n"))
  }

  /// Another process shrinking a POSIX object while `shm read` reads it: the
  /// command fails saying so, never dies of SIGBUS (it reads with pread).
  @Test func anObjectShrunkWhileItIsReadIsAFailureNotSIGBUS() throws {
    let name = TestNames.next()
    let memory = try POSIX.SharedMemory.create(name, size: 64 << 20)
    defer { try? memory.unlink() }
    let files = OutputFile()
    // The reader of the pipe waits, so the command stops after the first pieces.
    let script =
      "'\(Tools.ipc)' shm read '\(name)' --raw --length \(64 << 20) 2>'\(files.path).err';"
      + " echo $? > '\(files.path)' ) | (sleep 1; cat > /dev/null"
    let run = try SpawnedProcess("/bin/sh", ["-c", "( " + script + " )"])
    usleep(300_000)
    try memory.resize(to: 1 << 20)
    run.wait(timeout: .seconds(30))
    defer { unlink(files.path + ".err") }
    #expect(files.text == "1\n")
    let errors = (try? String(contentsOfFile: files.path + ".err", encoding: .utf8)) ?? ""
    #expect(errors.contains("shrank while it was read"), "\(errors)")
  }
}

/// The mode of POSIX shared memory object files in /dev/shm.
enum ShmFileMode {
  /// The mode bits of `name`'s file, or nil if there is none.
  static func of(_ name: String) -> mode_t? {
    var info = stat()
    guard lstat("/dev/shm" + name, &info) == 0 else { return nil }
    return info.st_mode & 0o777
  }

}
