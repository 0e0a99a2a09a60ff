import Foundation
import Testing

@testable import IPC

/// `ipc sem` and `ipc psem` as real processes on real semaphores: every
/// subcommand checked through the library, atomic batches, waits ended by a
/// V, a removal or a timeout, a holder killed under `--undo`, sets and
/// semaphores shared with ipcmk and Python, bad input, and `ipc list`.
@Suite("ipc sem and ipc psem")
struct SemaphoreCommandTests {
  // MARK: System V sets

  @Test func createOpGetSetStatRemoveRoundTrip() throws {
    let key = TestKeys.next()
    let create = try Tools.ipc("sem", "create", "--key", "\(key)", "--values", "1,0,2", "--mode", "0640")
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    #expect(create.exitStatus == 0, "\(create.standardError)")
    let id = try #require(Int32(create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let set = try SystemV.SemaphoreSet.open(id: id)
    #expect(set.count == 3)
    #expect(try set.values() == [1, 0, 2])
    #expect(try set.stat().permissions.octal == "0640")
    #expect(try set.stat().key == key)

    let again = try Tools.ipc("sem", "create", "--key", "\(key)", "--count", "3")
    #expect(again.exitStatus == 1)
    #expect(again.standardError.contains("already exists for key \(key) (id \(id))"))
    #expect(try set.values() == [1, 0, 2])

    let op = try Tools.ipc("sem", "op", "--key", "\(key)", "0:-1", "1:+2", "2:-2")
    #expect(op.exitStatus == 0, "\(op.standardError)")
    #expect(op.standardOutput.isEmpty)
    #expect(try set.values() == [0, 2, 0])
    #expect(try Tools.ipc("sem", "op", "--id", "\(id)", "2:0", "--nowait").exitStatus == 0)

    #expect(try Tools.ipc("sem", "get", "--id", "\(id)").standardOutput == "0\t0\n1\t2\n2\t0\n")
    #expect(try Tools.ipc("sem", "get", "--key", "\(key)", "1").standardOutput == "2\n")

    let setValue = try Tools.ipc("sem", "set", "--id", "\(id)", "2", "7")
    #expect(setValue.exitStatus == 0, "\(setValue.standardError)")
    #expect(try set.values() == [0, 2, 7])

    let lines = try Tools.ipcLines("sem", "stat", "--key", "\(key)")
    #expect(lines.contains("semaphores  3"), "\(lines)")
    #expect(lines.contains("permissions rw-r----- (0640)"))
    #expect(lines.contains("key         \(key)"))
    #expect(!lines.contains { $0.hasPrefix("last semop  never") })
    let header = try #require(lines.firstIndex { $0.hasPrefix("INDEX") })
    #expect(
      lines[header].split(separator: " ")
        == ["INDEX", "VALUE", "WAITING-TO-DECREASE", "WAITING-FOR-ZERO", "LAST-PID"])
    let rows = lines[(header + 1)...].map { $0.split(separator: " ").map(String.init) }
    #expect(
      rows.map { Array($0.prefix(4)) } == [
        ["0", "0", "0", "0"], ["1", "2", "0", "0"], ["2", "7", "0", "0"],
      ])
    #expect(rows.allSatisfy { $0.count == 5 && Int32($0[4]) != nil })

    #expect(try Tools.ipc("sem", "remove", "--key", "\(key)").exitStatus == 0)
    #expect(throws: IPCError.self) { try set.values() }
    let gone = try Tools.ipc("sem", "get", "--key", "\(key)")
    #expect(gone.exitStatus == 1)
    #expect(gone.standardError.contains("no semaphore set exists for key \(key)"))
  }

  @Test func createWithACountAloneMakesAPrivateSetOfZeros() throws {
    let create = try Tools.ipc("sem", "create", "--count", "4")
    #expect(create.exitStatus == 0, "\(create.standardError)")
    let id = try #require(Int32(create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let set = try SystemV.SemaphoreSet.open(id: id)
    defer { try? set.remove() }
    #expect(try set.values() == [0, 0, 0, 0])
    #expect(try set.stat().key == .private)
    #expect(try set.stat().permissions.octal == "0600")
  }

  /// A delta of Int.min or Int.max is refused in one line, never a trap (it was exit 132).
  @Test(arguments: ["0:-9223372036854775808", "0:+9223372036854775807", "0:9223372036854775807"])
  func anExtremeDeltaIsAnErrorNotATrap(operation: String) throws {
    try withSemaphoreSet(values: [1, 0]) { set in
      let run = try Tools.ipc("sem", "op", "--id", "\(set.id)", operation, "--nowait")
      #expect(run.exitStatus == 1 || run.exitStatus == 2, "\(operation): \(run.standardError)")
      #expect(run.standardError.split(separator: "\n").count == 1, "\(run.standardError)")
      #expect(run.standardError.contains("SEMVMX") || run.standardError.contains("expected"))
      #expect(try set.values() == [1, 0])
    }
  }

  @Test func aBatchThatCannotCompleteNowChangesNothingAndExits1() throws {
    try withSemaphoreSet(values: [1, 0, 3]) { set in
      // 0 and 2 could be taken, 1 cannot: the batch must not take 0 or 2 either.
      let run = try Tools.ipc("sem", "op", "--id", "\(set.id)", "0:-1", "2:-1", "1:-1", "--nowait")
      #expect(run.exitStatus == 1)
      #expect(
        run.standardError.contains(
          "\(set): 0:-1 2:-1 1:-1 could not all be done now; nothing changed"
            + " (now semaphore 0 is 1, semaphore 1 is 0, semaphore 2 is 3)"), "\(run.standardError)")
      #expect(try set.values() == [1, 0, 3])
      // Not even the last pid changed: it is still this process's, from create.
      #expect(try (0..<3).map { try set.lastPID(at: $0) } == [getpid(), getpid(), getpid()])
    }
  }

  @Test func aTimeoutThatExpiresChangesNothingAndExits1() throws {
    try withSemaphoreSet(values: [2, 1]) { set in
      let start = ContinuousClock.now
      let run = try Tools.ipc("sem", "op", "--id", "\(set.id)", "0:-1", "1:0", "--timeout", "0.2")
      let elapsed = ContinuousClock.now - start
      #expect(run.exitStatus == 1)
      #expect(run.standardError.contains("could not all be done within 0.2 seconds; nothing changed"))
      #expect(elapsed >= .milliseconds(200))
      #expect(try set.values() == [2, 1])
      // The same batch within a timeout once it can be done.
      try set.setValue(0, at: 1)
      #expect(
        try Tools.ipc("sem", "op", "--id", "\(set.id)", "0:-1", "1:0", "--timeout", "5").exitStatus == 0)
      #expect(try set.values() == [1, 0])
    }
  }

  @Test func aBlockingOpIsReleasedByASignalFromTheLibrary() throws {
    try withSemaphoreSet(values: [0, 0]) { set in
      let op = try SpawnedProcess(Tools.ipc, ["sem", "op", "--id", "\(set.id)", "0:-1", "1:+1"])
      #expect(op.waitUntilBlocked(inAnyOf: Self.semopWaitChannels), "never blocked in semop")
      #expect(try set.waitingToDecrease(at: 0) == 1)
      #expect(try set.values() == [0, 0])
      try set.signal(0)
      #expect(op.wait(timeout: .seconds(10)))
      #expect(op.exitStatus == 0, "\(op.standardError)")
      #expect(try set.values() == [0, 1])
      #expect(try set.lastPID(at: 1) == op.pid)
    }
  }

  @Test func stopAndContinueNeitherEndTheWaitNorRestartItsTimeout() throws {
    try withSemaphoreSet(values: [0]) { set in
      // After SIGSTOP and SIGCONT, Linux ends a semop with EINTR even without a handler.
      let start = ContinuousClock.now
      let timed = try SpawnedProcess(Tools.ipc, ["sem", "op", "--id", "\(set.id)", "0:-1", "--timeout", "2"])
      let waiter = try SpawnedProcess(Tools.ipc, ["sem", "op", "--id", "\(set.id)", "0:-1"])
      #expect(timed.waitUntilBlocked(inAnyOf: Self.semopWaitChannels), "never blocked in semtimedop")
      #expect(waiter.waitUntilBlocked(inAnyOf: Self.semopWaitChannels), "never blocked in semop")
      usleep(800_000)
      for process in [timed, waiter] { kill(process.pid, SIGSTOP) }
      usleep(200_000)
      for process in [timed, waiter] { kill(process.pid, SIGCONT) }
      #expect(timed.wait(timeout: .seconds(10)))
      let elapsed = ContinuousClock.now - start
      #expect(timed.exitStatus == 1)
      #expect(timed.standardError.contains("within 2.0 seconds; nothing changed"))
      // A timeout restarted after the signal would end 3 s or more after the start.
      #expect(elapsed >= .seconds(2) && elapsed < .milliseconds(2900), "\(elapsed)")
      #expect(waiter.waitUntilBlocked(inAnyOf: Self.semopWaitChannels), "the wait ended after SIGCONT")
      try set.signal(0)
      #expect(waiter.wait(timeout: .seconds(10)))
      #expect(waiter.exitStatus == 0, "\(waiter.standardError)")
      #expect(try set.value(at: 0) == 0)
    }
  }

  @Test func removingTheSetWhileOpWaitsEndsItWithARemovedError() throws {
    let set = try SystemV.SemaphoreSet.create(values: [1])
    defer { try? set.remove() }
    let op = try SpawnedProcess(Tools.ipc, ["sem", "op", "--id", "\(set.id)", "0:0"])
    #expect(op.waitUntilBlocked(inAnyOf: Self.semopWaitChannels), "never blocked in semop")
    #expect(try set.waitingForZero(at: 0) == 1)
    try set.remove()
    #expect(op.wait(timeout: .seconds(10)))
    #expect(op.exitStatus == 1)
    #expect(op.standardError.contains("the semaphore set was removed while this process waited on it"))
    #expect(op.standardError.contains("[EIDRM]"))
  }

  @Test func aHolderKilledUnderUndoGivesTheLockBack() throws {
    try withSemaphoreSet(values: [1]) { set in
      let holder = try SpawnedProcess(
        Tools.ipc, ["sem", "op", "--id", "\(set.id)", "0:-1", "--undo", "--hold", "60"])
      #expect(try pollUntil { try set.value(at: 0) == 0 }, "the holder never took the lock")
      let busy = try Tools.ipc("sem", "op", "--id", "\(set.id)", "0:-1", "--nowait")
      #expect(busy.exitStatus == 1)
      #expect(busy.standardError.contains("(now semaphore 0 is 0)"))
      kill(holder.pid, SIGKILL)
      #expect(holder.wait(timeout: .seconds(10)))
      #expect(holder.terminatingSignal == SIGKILL)
      #expect(try set.value(at: 0) == 1)
    }
  }

  @Test func withoutUndoAKilledHolderKeepsWhatItTook() throws {
    try withSemaphoreSet(values: [1]) { set in
      let holder = try SpawnedProcess(Tools.ipc, ["sem", "op", "--id", "\(set.id)", "0:-1", "--hold", "60"])
      #expect(try pollUntil { try set.value(at: 0) == 0 }, "the holder never took the lock")
      kill(holder.pid, SIGKILL)
      #expect(holder.wait(timeout: .seconds(10)))
      #expect(try set.value(at: 0) == 0)
    }
  }

  @Test func undoReversesTheOperationsWhenTheCommandEnds() throws {
    try withSemaphoreSet(values: [1, 0]) { set in
      let held = try Tools.ipc("sem", "op", "--id", "\(set.id)", "0:-1", "1:+3", "--undo", "--hold", "0.05")
      #expect(held.exitStatus == 0, "\(held.standardError)")
      #expect(try set.values() == [1, 0])
      let alone = try Tools.ipc("sem", "op", "--id", "\(set.id)", "0:-1", "--undo", "--timeout", "5")
      #expect(alone.exitStatus == 0, "\(alone.standardError)")
      #expect(try set.values() == [1, 0])
    }
  }

  @Test func aSetMadeByIpcmkIsUsedByKeyAndId() throws {
    let id = try Tools.ipcmk("-S", "3")
    let set = try SystemV.SemaphoreSet.open(id: id)
    defer { try? set.remove() }
    let key = try set.stat().key
    #expect(try Tools.ipc("sem", "stat", "--id", "\(id)").standardOutput.contains("last semop  never"))
    #expect(try Tools.ipc("sem", "set", "--key", "\(key)", "1", "5").exitStatus == 0)
    let op = try Tools.ipc("sem", "op", "--key", "\(key)", "1:-2", "2:+1")
    #expect(op.exitStatus == 0, "\(op.standardError)")
    #expect(try Tools.ipc("sem", "get", "--key", "\(key)").standardOutput == "0\t0\n1\t3\n2\t1\n")
    #expect(try set.values() == [0, 3, 1])
    let ipcs = try SpawnedProcess.run("/usr/bin/env", ["ipcs", "-s", "-i", "\(id)"])
    #expect(ipcs.standardOutput.contains("nsems = 3"), "\(ipcs.standardOutput)")
    #expect(try Tools.ipc("sem", "remove", "--id", "\(id)").exitStatus == 0)
    #expect(throws: IPCError.self) { try set.values() }
  }

  @Test(.enabled(if: Python.sysvIPC))
  func aSetMadeByPythonIsUsedByTheCommand() throws {
    let key = TestKeys.next()
    let create = "import sysv_ipc; sysv_ipc.Semaphore(\(key.rawValue), sysv_ipc.IPC_CREX, initial_value=2)"
    let python = try Python.run(create)
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(try Tools.ipc("sem", "get", "--key", "\(key)").standardOutput == "0\t2\n")
    #expect(try Tools.ipc("sem", "op", "--key", "\(key)", "0:-2", "--nowait").exitStatus == 0)
    let value = try Python.run("import sysv_ipc; print(sysv_ipc.Semaphore(\(key.rawValue)).value)")
    #expect(value.standardOutput == "0\n", "\(value.standardError)")
    // Python waits in acquire (semop); the command's V lets it through.
    let waiter = try SpawnedProcess(
      "/usr/bin/env",
      ["python3", "-c", "import sysv_ipc; sysv_ipc.Semaphore(\(key.rawValue)).acquire(); print('got it')"])
    #expect(waiter.waitUntilBlocked(inAnyOf: Self.semopWaitChannels), "python never blocked in semop")
    #expect(try Tools.ipc("sem", "op", "--key", "\(key)", "0:+1").exitStatus == 0)
    #expect(waiter.wait(timeout: .seconds(10)))
    #expect(waiter.standardOutput == "got it\n", "\(waiter.standardError)")
    #expect(try SystemV.SemaphoreSet.open(key: key).value(at: 0) == 0)
  }

  @Test(.enabled(if: Python.sysvIPC))
  func aSetMadeByTheCommandIsUsedByPython() throws {
    let key = TestKeys.next()
    let create = try Tools.ipc("sem", "create", "--key", "\(key)", "--values", "3")
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    #expect(create.exitStatus == 0, "\(create.standardError)")
    let script = """
      import sysv_ipc
      s = sysv_ipc.Semaphore(\(key.rawValue))
      s.acquire(timeout=0)
      s.acquire(timeout=0)
      print(s.id, s.value)
      """
    let python = try Python.run(script)
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(python.standardOutput == "\(create.standardOutput.dropLast()) 1\n")
    #expect(try Tools.ipc("sem", "get", "--key", "\(key)", "0").standardOutput == "1\n")
  }

  // MARK: POSIX semaphores

  @Test func posixSemaphoreCreatePostValueWaitUnlink() throws {
    let name = TestNames.next("ipc-psem")
    defer { try? POSIX.Semaphore.unlink(name) }
    let create = try Tools.ipc("psem", "create", name, "--value", "2", "--mode", "0640")
    #expect(create.exitStatus == 0, "\(create.standardError)")
    #expect(Self.fileMode(of: name) == 0o640)
    let semaphore = try POSIX.Semaphore.open(name)
    #expect(try semaphore.value() == 2)
    let again = try Tools.ipc("psem", "create", name, "--value", "9")
    #expect(again.exitStatus == 1)
    #expect(again.standardError.contains("a semaphore named \(name) already exists"))
    #expect(try semaphore.value() == 2)

    #expect(try Tools.ipc("psem", "value", name).standardOutput == "2\n")
    #expect(try Tools.ipc("psem", "wait", name).exitStatus == 0)
    #expect(try Tools.ipc("psem", "wait", name, "--nowait").exitStatus == 0)
    #expect(try semaphore.value() == 0)
    let empty = try Tools.ipc("psem", "wait", name, "--nowait")
    #expect(empty.exitStatus == 1)
    #expect(empty.standardError.contains("semaphore \(name) is 0; nothing was taken"))
    let timedOut = try Tools.ipc("psem", "wait", name, "--timeout", "0.1")
    #expect(timedOut.exitStatus == 1)
    #expect(timedOut.standardError.contains("stayed 0 for 0.1 seconds; nothing was taken"))
    #expect(try semaphore.value() == 0)
    #expect(try Tools.ipc("psem", "post", name).exitStatus == 0)
    #expect(try semaphore.value() == 1)

    // A blocked wait ends with a post from the library.
    #expect(try semaphore.tryWait())
    let waiter = try SpawnedProcess(Tools.ipc, ["psem", "wait", name])
    #expect(waiter.waitUntilBlocked(inAnyOf: Self.futexWaitChannels), "never blocked in sem_wait")
    try semaphore.post()
    #expect(waiter.wait(timeout: .seconds(10)))
    #expect(waiter.exitStatus == 0, "\(waiter.standardError)")
    #expect(try semaphore.value() == 0)

    #expect(try Tools.ipc("psem", "unlink", name).exitStatus == 0)
    #expect(Self.fileMode(of: name) == nil)
    let gone = try Tools.ipc("psem", "value", name)
    #expect(gone.exitStatus == 1)
    #expect(gone.standardError.contains("no semaphore is named \(name)"))
  }

  @Test(.enabled(if: Python.posixIPC))
  func aPOSIXSemaphoreIsSharedWithPythonBothWays() throws {
    let fromPython = TestNames.next("ipc-psem")
    let fromCommand = TestNames.next("ipc-psem")
    defer {
      try? POSIX.Semaphore.unlink(fromPython)
      try? POSIX.Semaphore.unlink(fromCommand)
    }
    let create = try Python.run(
      "import posix_ipc; posix_ipc.Semaphore('\(fromPython)', posix_ipc.O_CREX, mode=0o600, initial_value=3)")
    #expect(create.exitStatus == 0, "\(create.standardError)")
    #expect(try Tools.ipc("psem", "wait", fromPython, "--nowait").exitStatus == 0)
    #expect(try Tools.ipc("psem", "value", fromPython).standardOutput == "2\n")
    let read = try Python.run("import posix_ipc; print(posix_ipc.Semaphore('\(fromPython)').value)")
    #expect(read.standardOutput == "2\n", "\(read.standardError)")

    #expect(try Tools.ipc("psem", "create", fromCommand, "--value", "1").exitStatus == 0)
    let script = """
      import posix_ipc
      s = posix_ipc.Semaphore('\(fromCommand)')
      s.acquire(0)
      print(s.value, flush=True)
      s.acquire()
      print("got it")
      """
    let python = try SpawnedProcess("/usr/bin/env", ["python3", "-c", script])
    #expect(python.waitUntilBlocked(inAnyOf: Self.futexWaitChannels), "python never blocked in sem_wait")
    #expect(try Tools.ipc("psem", "post", fromCommand).exitStatus == 0)
    #expect(python.wait(timeout: .seconds(10)))
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(python.standardOutput == "0\ngot it\n")
    #expect(try Tools.ipc("psem", "value", fromCommand).standardOutput == "0\n")
    let unlink = try Python.run("import posix_ipc; posix_ipc.unlink_semaphore('\(fromCommand)')")
    #expect(unlink.exitStatus == 0, "\(unlink.standardError)")
    #expect(try Tools.ipc("psem", "value", fromCommand).exitStatus == 1)
  }

  // MARK: Bad input

  @Test func badSetInputIsRefusedWithItsLimitAndChangesNothing() throws {
    try withSemaphoreSet(values: [1, 2, 3]) { set in
      let id = "\(set.id)"
      let index = try Tools.ipc("sem", "op", "--id", id, "0:-1", "5:-1")
      #expect(index.exitStatus == 1)
      #expect(
        index.standardError.contains("semaphore index 5 is out of range: the set has 3 semaphores (0 to 2)"))
      let getIndex = try Tools.ipc("sem", "get", "--id", id, "3")
      #expect(getIndex.exitStatus == 1)
      #expect(getIndex.standardError.contains("semaphore index 3 is out of range"))
      // A value outside 0...SEMVMX is a usage error, before the set is touched.
      let big = try Tools.ipc("sem", "set", "--id", id, "2", "40000")
      #expect(big.exitStatus == 2)
      #expect(big.standardError.contains("VALUE: expected a value from 0 to 32767 (SEMVMX), got '40000'"))
      let negative = try Tools.ipc("sem", "set", "--id", id, "1", "-1")
      #expect(negative.exitStatus == 2)
      #expect(negative.standardError.contains("got '-1'"))
      let both = try Tools.ipc("sem", "set", "--id", id, "3", "40000")
      #expect(both.exitStatus == 2)
      let index3 = try Tools.ipc("sem", "set", "--id", id, "3", "1")
      #expect(index3.exitStatus == 1)
      #expect(index3.standardError.contains("semaphore index 3 is out of range"))
      let amount = try Tools.ipc("sem", "op", "--id", id, "1:+40000")
      #expect(amount.exitStatus == 1)
      #expect(amount.standardError.contains("above SEMVMX 32767"))
      let malformed = try Tools.ipc("sem", "op", "--id", id, "0:-1", "0:x")
      #expect(malformed.exitStatus == 2)
      #expect(
        malformed.standardError.contains("an operation is INDEX:DELTA, such as 0:-1, 1:+1 or 2:0, not '0:x'"))
      #expect(try set.values() == [1, 2, 3])

      // The kernel's own range check: a V past SEMVMX fails the whole batch.
      try set.setValue(32767, at: 0)
      let overflow = try Tools.ipc("sem", "op", "--id", id, "1:-1", "0:+1")
      #expect(overflow.exitStatus == 1)
      #expect(overflow.standardError.contains("would pass SEMVMX 32767"), "\(overflow.standardError)")
      #expect(try set.values() == [32767, 2, 3])
    }
  }

  @Test func createAboveSEMVMXOrSEMMSLMakesNoSet() throws {
    let key = TestKeys.next()
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    let run = try Tools.ipc("sem", "create", "--key", "\(key)", "--values", "1,40000")
    #expect(run.exitStatus == 2)
    #expect(run.standardError.contains("--values: expected whole numbers from 0 to 32767 (SEMVMX)"))
    let huge = try Tools.ipc("sem", "create", "--key", "\(key)", "--count", "99999999999")
    #expect(huge.exitStatus == 2)
    let semmsl = SystemV.SemaphoreSet.Limits.current().maxPerSet
    #expect(
      huge.standardError.contains("--count: expected a number of semaphores (SEMMSL) from 1 to \(semmsl)"))
    let error = #expect(throws: IPCError.self) { try SystemV.SemaphoreSet.open(key: key) }
    #expect(error?.code == .notFound)
  }

  @Test func badPOSIXInputIsRefusedWithTheRuleAndMakesNothing() throws {
    let noSlash = try Tools.ipc("psem", "create", "tickets")
    #expect(noSlash.exitStatus == 1)
    #expect(noSlash.standardError.contains("the name does not start with '/'"))
    #expect(noSlash.standardError.contains("1 to 251 bytes"))
    let long = "/" + String(repeating: "x", count: 252)
    let tooLong = try Tools.ipc("psem", "create", long)
    #expect(tooLong.exitStatus == 1)
    #expect(tooLong.standardError.contains("more than the 251 allowed"))
    try withSemaphoreName { name in
      let big = try Tools.ipc("psem", "create", name, "--value", "3000000000")
      #expect(big.exitStatus == 2)
      #expect(big.standardError.contains("--value: expected a value (SEM_VALUE_MAX) from 0 to 2147483647"))
      #expect(Self.fileMode(of: name) == nil)
    }
  }

  @Test func aFileTooShortForASemaphoreIsRefusedNotMapped() throws {
    try withSemaphoreName { name in
      // Not made by sem_open: glibc would map it, and reading it would raise SIGBUS.
      let path = "/dev/shm/sem." + name.dropFirst()
      #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
      #expect(chmod(path, 0o640) == 0)
      for subcommand in ["value", "wait", "post"] {
        let run = try Tools.ipc("psem", subcommand, name)
        #expect(run.exitStatus == 1, "\(subcommand): \(run.standardError)")
        #expect(run.standardError.contains("\(path) is 3 bytes, too short for a semaphore"))
      }
      let list = try Tools.ipc("list")
      #expect(list.exitStatus == 0, "\(list.standardError)")
      let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "\(geteuid())"
      let rows = list.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
      #expect(rows.contains([name, user, "0640", "-"]), "\(list.standardOutput)")
      #expect(try Tools.ipc("psem", "unlink", name).exitStatus == 0)
      #expect(Self.fileMode(of: name) == nil)
    }
  }

  @Test(arguments: [
    ["sem"], ["sem", "frobnicate"], ["sem", "create"], ["sem", "create", "--count", "0"],
    ["sem", "create", "--count", "3", "--values", "1,0"], ["sem", "create", "--values", "1,x"],
    ["sem", "create", "--count", "1", "--mode", "999"], ["sem", "op", "0:-1"], ["sem", "op", "--id", "1"],
    ["sem", "op", "--id", "1", "0:x"], ["sem", "op", "--id", "1", "0-1"], ["sem", "op", "--id", "1", ":1"],
    ["sem", "op", "--id", "1", "0:-1", "--nowait", "--timeout", "1"],
    ["sem", "op", "--id", "1", "0:-1", "--hold", "-1"], ["sem", "op", "--id", "1", "--key", "1", "0:1"],
    ["sem", "get", "--id", "1", "x"], ["sem", "get", "--id", "1", "0", "1"],
    ["sem", "set", "--id", "1", "0"],
    ["sem", "stat", "--id", "x"], ["sem", "remove"], ["psem"], ["psem", "wait"],
    ["psem", "create", "/x", "--value", "many"], ["psem", "value", "/x", "/y"],
    ["psem", "wait", "/x", "--nowait", "--timeout", "1"], ["psem", "post", "/x", "--bogus"],
  ])
  func usageErrorsExitWith2(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: "ipc \(arguments[0])")
  }

  @Test(arguments: [["sem", "--help"], ["sem", "op", "--help"], ["psem", "--help"], ["--help"]])
  func helpExitsWith0(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    #expect(run.exitStatus == 0)
    let expected =
      arguments == ["--help"] ? "psem    POSIX named semaphores" : "usage: ipc \(arguments[0])"
    #expect(run.standardOutput.contains(expected))
  }

  // MARK: ipc list

  @Test func listShowsOurSetsAndPOSIXSemaphore() throws {
    let key = TestKeys.next()
    try withSemaphoreSet(key: key, values: [3, 0, 1]) { set in
      try withSemaphoreSet(values: Array(0..<10)) { large in
        try withSemaphoreName { name in
          _ = try POSIX.Semaphore.create(name, value: 4)
          let list = try Tools.ipc("list")
          #expect(list.exitStatus == 0, "\(list.standardError)")
          let rows = list.standardOutput.split(separator: "\n").map {
            $0.split(separator: " ").map(String.init)
          }
          let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "\(geteuid())"
          #expect(list.standardOutput.contains("------ System V semaphore sets ("))
          #expect(list.standardOutput.contains("------ POSIX semaphores ("))
          #expect(
            rows.contains(["\(key)", "\(set.id)", user, "0600", "3", "3,0,1"]), "\(list.standardOutput)")
          #expect(rows.contains(["0x00000000", "\(large.id)", user, "0600", "10", "0,1,2,3,4,5,6,7,…"]))
          #expect(rows.contains([name, user, "0600", "4"]), "\(list.standardOutput)")
        }
      }
    }
  }

  // MARK: Helpers

  /// The kernel functions a process blocked in `semop` shows in
  /// /proc/PID/wchan (6.x: `__do_semtimedop`; older kernels differ).
  static let semopWaitChannels: Set<String> = [
    "__do_semtimedop", "do_semtimedop", "SYSC_semtimedop", "sys_semtimedop",
  ]

  /// The same for a futex wait, where `sem_wait` sleeps (6.16+: `futex_do_wait`).
  static let futexWaitChannels: Set<String> = [
    "futex_do_wait", "futex_wait_queue", "futex_wait_queue_me", "futex_wait",
  ]

  /// The mode bits of the POSIX semaphore `name`'s file, or nil if there is none.
  private static func fileMode(of name: String) -> mode_t? {
    var info = stat()
    guard stat("/dev/shm/sem." + name.dropFirst(), &info) == 0 else { return nil }
    return info.st_mode & 0o777
  }

  /// Runs `body` with a new set holding `values`, removed afterwards, also
  /// when the body fails.
  private func withSemaphoreSet(
    key: SystemV.Key = .private, values: [Int], _ body: (SystemV.SemaphoreSet) throws -> Void
  ) throws {
    let set = try SystemV.SemaphoreSet.create(key: key, values: values)
    defer { try? set.remove() }
    try body(set)
  }

  /// Runs `body` with a fresh POSIX semaphore name; whatever has that name
  /// afterwards is unlinked, also when the body fails.
  private func withSemaphoreName(_ body: (String) throws -> Void) throws {
    let name = TestNames.next("ipc-psem")
    defer { try? POSIX.Semaphore.unlink(name) }
    try body(name)
  }

  /// Polls `condition` until it holds or `timeout` passes; whether it held.
  private func pollUntil(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if try condition() { return true }
      usleep(2_000)
    }
    return try condition()
  }
}
