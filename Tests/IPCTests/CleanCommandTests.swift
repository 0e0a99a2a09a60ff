import Foundation
import Testing

@testable import IPC

/// `ipc clean` and the owner records behind it, against real objects left by
/// SIGKILLed processes. Other tests run at the same time and their objects'
/// creators live, but some kill creators too: every `--yes` here is limited
/// with `--creator` to the process this test made and killed.
///
/// Serialized: three tests need nobody's directory of records in a given state.
@Suite("The ipc clean command", .serialized)
struct CleanCommandTests {
  @Test func objectsOfAKilledCreatorAreListedThenRemovedWithYes() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    #expect(objects.records.count == 6, "every object the library made has its owner record")
    objects.killCreator()

    let listed = try Tools.ipc("clean", "--creator", "\(objects.pid)")
    #expect(listed.exitStatus == 0, "\(listed.standardError)")
    let stale = section("stale objects", of: listed.standardOutput)
    for shown in objects.shownNames {
      #expect(
        line(showing: shown, in: stale).contains("creator \(objects.pid) exited"), "\(listed.standardOutput)")
    }
    #expect(objects.existing.count == 6, "without --yes nothing is removed")

    let removed = try Tools.ipc("clean", "--yes", "--creator", "\(objects.pid)")
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    let said = section("removed", of: removed.standardOutput)
    for shown in objects.shownNames { #expect(said.contains(shown), "\(removed.standardOutput)") }
    #expect(objects.existing.isEmpty)
    #expect(objects.records.isEmpty, "the records go with the objects")
  }

  @Test func namesAreShownWithTheirControlCharactersEscaped() throws {
    let objects = try LeftObjects(nameEnding: "\u{1B}[2J\n")
    defer { objects.removeAll() }
    objects.killCreator()
    let run = try Tools.ipc("clean", "--yes", "--creator", "\(objects.pid)")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(!run.standardOutput.contains("\u{1B}"), "no terminal escape reaches the terminal")
    let shown = objects.queueName.replacing("\u{1B}", with: "\\u{1B}").replacing("\n", with: "\\n")
    #expect(line(showing: shown, in: section("removed", of: run.standardOutput)).hasPrefix("posix-mq "))
    #expect(objects.existing.isEmpty)
  }

  @Test func objectsOfALiveCreatorAreKept() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    let run = try Tools.ipc("clean", "--yes", "--verbose", "--creator", "\(objects.pid)")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(objects.existing.count == 6)
    let kept = section("objects kept", of: run.standardOutput)
    for shown in objects.shownNames {
      #expect(line(showing: shown, in: kept).contains("creator \(objects.pid) runs"), "\(run.standardOutput)")
    }
    #expect(section("removed", of: run.standardOutput).isEmpty)
  }

  @Test func objectsInUseAreKeptAfterTheirCreatorDied() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    objects.killCreator()
    // This process uses each: sends, changes a semaphore, attaches, holds
    // the POSIX queue and shared memory open, has the semaphore mapped.
    try SystemV.MessageQueue.open(id: objects.queue).send([1], type: 1)
    try SystemV.SemaphoreSet.open(id: objects.set).signal(1)
    let region = try SystemV.SharedMemory.open(id: objects.segment).attach()
    let queue = try POSIX.MessageQueue.open(objects.queueName)
    let semaphore = try POSIX.Semaphore.open(objects.semaphoreName)
    let memory = try POSIX.SharedMemory.open(objects.sharedMemoryName)

    let run = try Tools.ipc("clean", "--yes", "--verbose", "--creator", "\(objects.pid)")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(objects.existing.count == 6, "\(run.standardOutput)")
    let kept = section("objects kept", of: run.standardOutput)
    let me = getpid()
    // The message sent is data: "holds" is said before who sent it.
    #expect(line(showing: objects.shownNames[0], in: kept).contains("holds 1 message"))
    #expect(
      line(showing: objects.shownNames[1], in: kept).contains("process \(me), the last to change semaphore 1")
    )
    #expect(line(showing: objects.shownNames[2], in: kept).contains("attached 1 times"))
    for shown in objects.shownNames[3...] {
      #expect(
        line(showing: shown, in: kept).contains("open or mapped in process \(me)"), "\(run.standardOutput)")
    }
    withExtendedLifetime((region, queue, semaphore, memory)) {}
  }

  /// Messages nobody read are data: a queue holding them is kept though its
  /// creator and their sender have exited; emptied, it goes.
  @Test func aQueueHoldingMessagesIsKeptUntilTheyAreRead() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    objects.killCreator()
    // Sent by processes that have exited since: only the messages are left.
    #expect(try Tools.ipc("msg", "send", "--id", "\(objects.queue)", "important job").exitStatus == 0)
    #expect(try Tools.ipc("mq", "send", objects.queueName, "important job").exitStatus == 0)
    let run = try Tools.ipc("clean", "--yes", "--verbose", "--creator", "\(objects.pid)")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    let kept = section("objects kept", of: run.standardOutput)
    #expect(
      line(showing: objects.shownNames[0], in: kept).contains("holds 1 message"), "\(run.standardOutput)")
    #expect(
      line(showing: objects.shownNames[3], in: kept).contains("holds 13 bytes"), "\(run.standardOutput)")
    #expect(
      objects.existing.contains(objects.shownNames[0]) && objects.existing.contains(objects.shownNames[3]))
    // Read by processes that exit too (a live last receiver keeps a queue).
    #expect(try Tools.ipc("msg", "receive", "--id", "\(objects.queue)").exitStatus == 0)
    #expect(try Tools.ipc("mq", "receive", objects.queueName).exitStatus == 0)
    #expect(try Tools.ipc("clean", "--yes", "--creator", "\(objects.pid)").exitStatus == 0)
    #expect(
      !objects.existing.contains(objects.shownNames[0]) && !objects.existing.contains(objects.shownNames[3]))
  }

  @Test func aMappedPOSIXObjectWithoutADescriptorIsInUse() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    objects.killCreator()
    // Mapped, its descriptor closed: only /proc/PID/maps shows it.
    let memory = try POSIX.SharedMemory.open(objects.sharedMemoryName)
    let region = try memory.map()
    try memory.close()
    let run = try Tools.ipc("clean", "--yes", "--verbose", "--creator", "\(objects.pid)")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(objects.existing.contains(objects.shownNames[5]), "\(run.standardOutput)")
    #expect(
      line(showing: objects.shownNames[5], in: run.standardOutput).contains(
        "open or mapped in process \(getpid())"))
    withExtendedLifetime(region) {}
  }

  @Test(.enabled(if: Python.sysvIPC && Python.posixIPC))
  func objectsWithoutAnOwnerRecordAreNeverStale() throws {
    let name = TestNames.next("ipc-test-clean")
    let script = """
      import posix_ipc, sysv_ipc
      q = sysv_ipc.MessageQueue(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX)
      s = sysv_ipc.Semaphore(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX)
      m = sysv_ipc.SharedMemory(sysv_ipc.IPC_PRIVATE, sysv_ipc.IPC_CREX, size=4096)
      m.detach()
      posix_ipc.MessageQueue('\(name)-mq', posix_ipc.O_CREX).close()
      posix_ipc.Semaphore('\(name)-sem', posix_ipc.O_CREX).close()
      posix_ipc.SharedMemory('\(name)-shm', posix_ipc.O_CREX, size=4096).close_fd()
      print(q.id, s.id, m.id)
      """
    let python = try Python.run(script)
    let ids = python.standardOutput.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    // And one made by `ipc` itself, which like ipcmk makes objects to outlive it.
    let command = try Tools.ipc("msg", "create")
    let commandQueue = firstNumber(in: command.standardOutput)
    defer {
      if ids.count == 3 {
        try? SystemV.MessageQueue(validatedID: ids[0]).remove()
        try? SystemV.SemaphoreSet(id: ids[1], count: 0).remove()
        try? SystemV.SharedMemory(id: ids[2], size: 0).remove()
      }
      if let commandQueue { try? SystemV.MessageQueue(validatedID: commandQueue).remove() }
      try? POSIX.MessageQueue.unlink(name + "-mq")
      try? POSIX.Semaphore.unlink(name + "-sem")
      try? POSIX.SharedMemory.unlink(name + "-shm")
    }
    try #require(ids.count == 3, "\(python.standardError)")
    let commandID = try #require(commandQueue, "\(command.standardError)")
    let shown =
      ids.map { "id \($0) key" } + ["id \(commandID) key", name + "-mq ", name + "-sem ", name + "-shm "]

    // Every creator has exited and nothing uses them, yet none is stale: only
    // objects whose record names a creator are ever removed.
    let run = try Tools.ipc("clean", "--verbose")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    let stale = section("stale objects", of: run.standardOutput)
    let kept = section("objects kept", of: run.standardOutput)
    for object in shown {
      #expect(!stale.contains(object), "\(run.standardOutput)")
      #expect(line(showing: object, in: kept).contains("creator unknown"), "\(object): \(run.standardOutput)")
    }
  }

  @Test func aRecordWhoseObjectWasRemovedOtherwiseIsStaleAndOnlyTheRecordGoes() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    objects.killCreator()
    // Removed behind the library's back, as ipcrm, rm or Python would.
    for (option, id) in [("-q", objects.queue), ("-s", objects.set), ("-m", objects.segment)] {
      #expect(try SpawnedProcess.run("/usr/bin/env", ["ipcrm", option, "\(id)"]).exitStatus == 0)
    }
    #expect(unlink("/dev/mqueue" + objects.queueName) == 0)
    #expect(unlink("/dev/shm/sem." + objects.semaphoreName.dropFirst()) == 0)
    #expect(unlink("/dev/shm" + objects.sharedMemoryName) == 0)
    // A new object by the same name, made without the library: not the one recorded.
    let fd = shm_open(objects.sharedMemoryName, O_RDWR | O_CREAT | O_EXCL, 0o600)
    try #require(fd >= 0)
    close(fd)
    #expect(objects.records.count == 6)

    let listed = try Tools.ipc("clean", "--creator", "\(objects.pid)")
    #expect(listed.exitStatus == 0, "\(listed.standardError)")
    for kind in ["sysv-msg", "sysv-sem", "sysv-shm", "posix-mq", "posix-sem", "posix-shm"] {
      let rows = listed.standardOutput.split(separator: "\n").filter { $0.hasPrefix(kind + " ") }
      #expect(rows.count == 1 && rows[0].contains("object already removed"), "\(listed.standardOutput)")
    }
    let removed = try Tools.ipc("clean", "--yes", "--creator", "\(objects.pid)")
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    #expect(objects.records.isEmpty, "\(removed.standardOutput)")
    #expect(objects.existing == [objects.shownNames[5]], "the object that took the name is not the record's")
  }

  @Test func aCreatorWhosePIDNowNamesALaterProcessIsDead() throws {
    // A shared memory object made without the library, then recorded as made
    // by this process's pid but at another start time: a process long gone
    // whose pid this one got.
    let name = TestNames.next("ipc-test-clean")
    let fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600)
    try #require(fd >= 0)
    var info = stat()
    fstat(fd, &info)
    close(fd)
    defer { try? POSIX.SharedMemory.unlink(name) }
    let start = try #require(ProcessFacts.ownStartTime)
    // First the truth: this process made it, and runs.
    OwnerRecords.record(kind: "posix-shm", identity: String(name.dropFirst()), instance: UInt64(info.st_ino))
    let alive = try Tools.ipc("clean", "--yes", "--verbose", "--creator", "\(getpid())")
    #expect(line(showing: name + " ", in: alive.standardOutput).contains("creator \(getpid()) runs"))
    #expect(access("/dev/shm" + name, F_OK) == 0)

    let path = OwnerRecords.directory(of: geteuid()) + "/posix-shm." + name.dropFirst()
    let record = "pid \(getpid())\nstart \(start + 1)\ncreated \(time(nil))\ninstance \(info.st_ino)\n"
    #expect(FileManager.default.createFile(atPath: path, contents: Data(record.utf8)))
    let run = try Tools.ipc("clean", "--yes", "--creator", "\(getpid())")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(line(showing: name + " ", in: run.standardOutput).contains("pid reused"), "\(run.standardOutput)")
    #expect(access("/dev/shm" + name, F_OK) != 0, "removed")
    #expect(OwnerRecords.record(kind: "posix-shm", identity: String(name.dropFirst()), of: geteuid()) == nil)
  }

  @Test func aRecordOfAnotherIPCNamespaceNeverNamesAnObjectHere() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    objects.killCreator()
    // The queue's record as a process in another IPC namespace would have
    // written it: its id there names some other queue, or none, here.
    let path = OwnerRecords.directory(of: geteuid()) + "/sysv-msg.\(objects.queue)"
    let own = try #require(ProcessFacts.ipcNamespace)
    let text = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text.contains("ipcns \(own)\n"))
    try text.replacing("ipcns \(own)\n", with: "ipcns \(own + 1)\n").write(
      toFile: path, atomically: false, encoding: .utf8)

    let run = try Tools.ipc("clean", "--yes", "--verbose", "--creator", "\(objects.pid)")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(objects.existing == [objects.shownNames[0]], "\(run.standardOutput)")
    #expect(objects.records.isEmpty, "the foreign record is deleted, its creator being dead")
    let removed = section("removed", of: run.standardOutput)
    #expect(
      removed.split(separator: "\n").contains {
        $0.hasPrefix("sysv-msg ") && $0.contains("object already removed")
      },
      "\(run.standardOutput)")
  }

  @Test func anotherUsersObjectsAreLeftAloneUnlessRootAsksForAllUsers() throws {
    let objects = try LeftObjects(asNobody: true)
    defer { objects.removeAll() }
    objects.killCreator()
    #expect(objects.records.count == 6, "nobody's records, in nobody's directory")

    let mine = try Tools.ipc("clean", "--yes", "--verbose", "--creator", "\(objects.pid)")
    #expect(mine.exitStatus == 0, "\(mine.standardError)")
    #expect(objects.existing.count == 6, "\(mine.standardOutput)")
    for shown in objects.shownNames { #expect(!mine.standardOutput.contains(shown)) }

    let listed = try Tools.ipc("clean", "--all-users", "--creator", "\(objects.pid)")
    let stale = section("stale objects", of: listed.standardOutput)
    for shown in objects.shownNames {
      #expect(line(showing: shown, in: stale).contains(" nobody "), "\(listed.standardOutput)")
    }
    let removed = try Tools.ipc("clean", "--all-users", "--yes", "--creator", "\(objects.pid)")
    #expect(removed.exitStatus == 0, "\(removed.standardError)")
    #expect(objects.existing.isEmpty, "\(removed.standardOutput)")
    #expect(objects.records.isEmpty)
  }

  @Test func aUserOtherThanRootRemovesItsSystemVObjectsButKeepsPOSIXOnesItCannotProveUnused() throws {
    let objects = try LeftObjects(asNobody: true)
    defer { objects.removeAll() }
    objects.killCreator()
    // nobody may not read root's processes' descriptors and mappings: any of
    // them might hold a POSIX object. The kernel counts System V users itself.
    let run = try SpawnedProcess.run(
      "/usr/bin/setpriv",
      [
        "--reuid=65534", "--regid=65534", "--clear-groups", Tools.ipc, "clean", "--yes", "--verbose",
        "--creator", "\(objects.pid)",
      ])
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(objects.existing == Array(objects.shownNames[3...]), "\(run.standardOutput)")
    let kept = section("objects kept", of: run.standardOutput)
    for shown in objects.shownNames[3...] {
      #expect(line(showing: shown, in: kept).contains("maybe in use"), "\(run.standardOutput)")
    }
    #expect(objects.records.count == 3)
  }

  /// /proc mounted with hidepid (as systemd's ProtectProc=invisible does)
  /// lists only this user's processes: another user's that runs was taken for
  /// one that exited, and one it cannot see was not counted as a possible user.
  @Test(.enabled(if: geteuid() == 0 && access("/usr/bin/unshare", X_OK) == 0))
  func aProcessHiddenByHidepidIsNeitherExitedNorUninspectable() throws {
    let objects = try LeftObjects(asNobody: true)
    defer { objects.removeAll() }
    objects.killCreator()
    // This process (root) becomes the queue's last sender and receiver (the
    // queue left empty: a message would keep it anyway) and holds the POSIX segment open.
    let queue = SystemV.MessageQueue(validatedID: objects.queue)
    try queue.send(Array("job".utf8), type: 1)
    _ = try queue.receive()
    let memory = try POSIX.SharedMemory.open(objects.sharedMemoryName)
    defer { try? memory.close() }
    let run = try SpawnedProcess.run(
      "/usr/bin/unshare",
      [
        "--mount", "/bin/sh", "-c", "mount -t proc -o hidepid=2 proc /proc && exec \"$0\" \"$@\"",
        "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Tools.ipc, "clean", "--yes",
        "--verbose", "--creator", "\(objects.pid)",
      ])
    #expect(run.exitStatus == 0, "\(run.standardError)")
    let kept = section("objects kept", of: run.standardOutput)
    #expect(
      line(showing: objects.shownNames[0], in: kept).contains("in use: process \(getpid())"),
      "\(run.standardOutput)")
    #expect(line(showing: objects.shownNames[5], in: kept).contains("maybe in use"), "\(run.standardOutput)")
    #expect(
      objects.existing.contains(objects.shownNames[0]) && objects.existing.contains(objects.shownNames[5]))
  }

  @Test func aDirectoryOfRecordsAnotherUserMadeIsNotUsedAndCreatingStillWorks() throws {
    // /dev/shm is writable by all: another user (here root) may make nobody's
    // directory first, or a symlink by its name to a directory nobody owns.
    let directory = OwnerRecords.directory(of: 65534)
    let target = "/tmp/ipc-test-\(getpid())-records"
    defer {
      unlink(directory)
      rmdir(directory)
      rmdir(target)
    }
    try #require(mkdir(target, 0o700) == 0 && chown(target, 65534, 65534) == 0)
    for planted in ["a directory", "a symlink"] {
      if planted == "a directory" {
        try #require(mkdir(directory, 0o700) == 0, "nobody's directory of records exists already")
      } else {
        try #require(rmdir(directory) == 0 && symlink(target, directory) == 0)
      }
      let objects = try LeftObjects(asNobody: true)
      defer { objects.removeAll() }
      #expect(objects.existing.count == 6, "\(planted): creating never fails for want of a record")
      #expect(objects.records.isEmpty, "\(planted)")
      #expect((try? FileManager.default.contentsOfDirectory(atPath: target)) == [], "\(planted)")
      objects.killCreator()
      if planted == "a directory" {
        // A record planted there for nobody's object, which root must not believe.
        let path = directory + "/posix-shm." + objects.sharedMemoryName.dropFirst()
        let record = "pid \(objects.pid)\nstart 1\ncreated \(time(nil))\n"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(record.utf8)))
        #expect(chown(path, 65534, 65534) == 0)
      }
      defer { _ = unlink(directory + "/posix-shm." + objects.sharedMemoryName.dropFirst()) }
      let run = try Tools.ipc("clean", "--all-users", "--creator", "\(objects.pid)")
      #expect(section("stale objects", of: run.standardOutput).isEmpty, "\(planted): \(run.standardOutput)")
    }
  }

  @Test(arguments: [
    ["--creator", "0"], ["--creator", "-1"], ["--creator", "x"], ["--creator", "2147483648"], ["--creator"],
    ["stray"], ["--bogus"], ["--all-users=1"],
  ])
  func badArgumentsAreOneLineUsageErrors(arguments: [String]) throws {
    // Never with --yes: this test must not remove other tests' objects if a case were accepted.
    let run = try SpawnedProcess.run(Tools.ipc, ["clean"] + arguments)
    #expect(run.exitStatus == 2, "\(arguments): \(run.standardError)")
    #expect(run.standardOutput.isEmpty)
    let lines = run.standardError.split(separator: "\n")
    #expect(lines.count == 1 && lines[0].hasPrefix("ipc clean: "), "\(run.standardError)")
  }

  @Test func allUsersIsForRootOnly() throws {
    let run = try SpawnedProcess.run(
      "/usr/bin/setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", Tools.ipc, "clean", "--all-users"])
    #expect(run.exitStatus == 2)
    #expect(run.standardOutput.isEmpty)
    let lines = run.standardError.split(separator: "\n")
    #expect(lines.count == 1 && lines[0].hasPrefix("ipc clean: --all-users:"), "\(run.standardError)")
  }

  @Test func anObjectThatCameIntoUseSinceTheSurveyIsKept() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    objects.killCreator()
    let candidates = try CleanupCandidate.survey().filter { $0.creator == objects.pid }
    #expect(candidates.count == 6 && candidates.allSatisfy(\.verdict.isStale))
    // Used between the survey and the removal: the last check sees it.
    let region = try SystemV.SharedMemory.open(id: objects.segment).attach()
    let memory = try POSIX.SharedMemory.open(objects.sharedMemoryName)
    for candidate in candidates {
      let verdict = try candidate.remove()
      switch candidate.kind {
      case .systemVSharedMemory: #expect(verdict == .inUse("attached 1 times"))
      case .posixSharedMemory: #expect(verdict == .inUse("open or mapped in process \(getpid())"))
      default: #expect(verdict == .creatorDead(pid: objects.pid))
      }
    }
    #expect(objects.existing == [objects.shownNames[2], objects.shownNames[5]])
    #expect(objects.records.sorted() == ["posix-shm", "sysv-shm"])
    withExtendedLifetime((region, memory)) {}
  }

  @Test func theLibraryFindsThenRemovesAfterCheckingAgain() throws {
    let objects = try LeftObjects()
    defer { objects.removeAll() }
    objects.killCreator()
    let candidates = try CleanupCandidate.survey().filter { $0.creator == objects.pid }
    #expect(candidates.count == 6)
    #expect(candidates.allSatisfy { $0.verdict == .creatorDead(pid: objects.pid) })
    // The library's remove checks again and removes.
    for candidate in candidates { #expect(try candidate.remove() == .creatorDead(pid: objects.pid)) }
    #expect(objects.existing.isEmpty)
    // Removing again finds nothing left to do.
    for candidate in candidates { #expect(try candidate.remove() == .objectGone) }
  }
}
