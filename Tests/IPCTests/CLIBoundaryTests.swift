import Foundation
import IPC
import Testing

/// Values at the edges of what the kernel holds, checked on the real `ipc`:
/// the boundary passes, one past it is a usage error (exit 2, one line) that
/// changes nothing.
@Suite("CLI boundaries")
struct CLIBoundaryTests {
  // MARK: msg create --max-bytes

  /// IPC_SET keeps only the low 32 bits of msg_qbytes: 4294967296 would make a queue that holds 0 bytes.
  @Test(arguments: ["\(SystemV.MessageQueue.maxBytesCeiling + 1)", "4294967296", "4294967297"])
  func maxBytesTheKernelCannotHoldMakesNoQueue(value: String) throws {
    let key = TestKeys.next()
    defer { try? SystemV.MessageQueue.open(key: key).remove() }
    let arguments = ["msg", "create", "--key", "\(key)", "--max-bytes", value]
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: "--max-bytes")
    #expect(run.standardError.contains("to \(SystemV.MessageQueue.maxBytesCeiling)"), "\(run.standardError)")
    #expect((try? SystemV.MessageQueue.open(key: key)) == nil, "a queue was made")
  }

  @Test func maxBytesTheKernelCannotHoldLeavesAnExistingQueueAsItWas() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.create(key: key)
    defer { try? queue.remove() }
    let before = try queue.stat().maxBytes
    let arguments = ["msg", "create", "--key", "\(key)", "--open-existing", "--max-bytes", "4294967296"]
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: "--max-bytes")
    #expect(try queue.stat().maxBytes == before)
  }
}

/// The declared ranges are the kernel's: the boundary passes, one past it is
/// a usage error (exit 2, one line naming the option and its range).
@Suite("CLI declared ranges")
struct CLIRangeTests {
  /// A sign on a count is a slip (`Int("+3")` would take it): refused as
  /// one line naming the option, as every other stray character is.
  @Test(arguments: [
    ["stress", "--producers", "+3"], ["demo", "--count", "+2"], ["signal", "wait", "USR1", "--count", "+1"],
    ["mq", "send", "/ipc-test-plus", "--priority", "+1", "x"], ["clean", "--creator", "+1"],
    ["msg", "stat", "--id", "+0"], ["shm", "read", "/ipc-test-plus", "--offset", "+0"],
    ["signal", "send", "+1", "USR1"],
  ])
  func aPlusSignOnANumberIsAUsageError(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: arguments.first { $0.hasPrefix("--") } ?? "PID")
  }

  @Test func mqPriorityIsZeroToBelowMQPrioMax() throws {
    let top = POSIX.MessageQueue.Limits.current().priorityLimit - 1
    try withPOSIXQueue(maxMessages: 2, messageSize: 8) { (queue) throws in
      #expect(try Tools.ipc("mq", "send", queue.name, "--priority", "\(top)", "x").exitStatus == 0)
      for bad in ["\(top + 1)", "-1"] {
        let arguments = ["mq", "send", queue.name, "--priority", bad, "y"]
        expectUsageError(try SpawnedProcess.run(Tools.ipc, arguments), arguments, mentioning: "--priority")
      }
      #expect(try queue.attributes().currentMessages == 1)
    }
  }

  @Test func semValuesAreZeroToSEMVMX() throws {
    let top = SystemV.SemaphoreSet.Limits.maxValue
    let key = TestKeys.next()
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    for bad in ["\(top + 1)", "-1"] {
      let arguments = ["sem", "create", "--key", "\(key)", "--values", "0,\(bad)"]
      expectUsageError(try SpawnedProcess.run(Tools.ipc, arguments), arguments, mentioning: "--values")
    }
    #expect((try? SystemV.SemaphoreSet.open(key: key)) == nil)
    #expect(try Tools.ipc("sem", "create", "--key", "\(key)", "--values", "0,\(top)").exitStatus == 0)
    let set = try SystemV.SemaphoreSet.open(key: key)
    #expect(try set.values() == [0, top])
    #expect(try Tools.ipc("sem", "set", "--key", "\(key)", "0", "\(top)").exitStatus == 0)
    for bad in ["\(top + 1)", "-1"] {
      let arguments = ["sem", "set", "--key", "\(key)", "1", bad]
      expectUsageError(try SpawnedProcess.run(Tools.ipc, arguments), arguments, mentioning: "VALUE")
    }
    #expect(try set.values() == [top, top])
  }

  @Test func semCountIsOneToSEMMSL() throws {
    let semmsl = SystemV.SemaphoreSet.Limits.current().maxPerSet
    let key = TestKeys.next()
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    for bad in ["\(semmsl + 1)", "0"] {
      let arguments = ["sem", "create", "--key", "\(key)", "--count", bad]
      expectUsageError(try SpawnedProcess.run(Tools.ipc, arguments), arguments, mentioning: "--count")
    }
    #expect((try? SystemV.SemaphoreSet.open(key: key)) == nil)
    #expect(try Tools.ipc("sem", "create", "--key", "\(key)", "--count", "\(semmsl)").exitStatus == 0)
  }

  @Test func psemValueIsZeroToSEMValueMax() throws {
    let name = TestNames.next()
    defer { try? POSIX.Semaphore.unlink(name) }
    for bad in ["\(POSIX.Semaphore.maxValue + 1)", "-1"] {
      let arguments = ["psem", "create", name, "--value", bad]
      expectUsageError(try SpawnedProcess.run(Tools.ipc, arguments), arguments, mentioning: "--value")
    }
    #expect((try? POSIX.Semaphore.open(name)) == nil)
    #expect(try Tools.ipc("psem", "create", name, "--value", "\(POSIX.Semaphore.maxValue)").exitStatus == 0)
  }

  @Test(arguments: [
    ["mq", "create", "/x", "--max-messages", "0"], ["mq", "create", "/x", "--message-size", "0"],
    ["shm", "create", "/x", "--size", "-1"], ["shm", "write", "/x", "--offset", "-1", "a"],
    ["shm", "read", "/x", "--length", "-1"],
  ])
  func negativeOrZeroSizesAreUsageErrors(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: arguments.first { $0.hasPrefix("--") } ?? "PID")
  }
}

/// `ipc limits` shows shmmax and shmall as the kernel holds them: unsigned
/// longs, above `Int.max` by default.
@Suite("CLI limits as the kernel holds them")
struct CLILimitsValueTests {
  @Test(arguments: ["shmmax", "shmall"])
  func anUnsignedLimitIsShownAsItIs(name: String) throws {
    let file = try String(contentsOfFile: "/proc/sys/kernel/\(name)", encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let table = try Tools.ipcLines("limits")
    let row = try #require(table.first { $0.hasPrefix(name + " ") })
    #expect(row.split(separator: " ")[1] == file, "\(row)")
    let json = try Tools.ipc("limits", "--json").standardOutput
    let compact = json.filter { !$0.isWhitespace }
    #expect(compact.contains("\"name\":\"\(name)\",\"value\":\(file),"), "\(json)")
  }
}

/// Output that cannot be written is a failure: exit 1 and one line on standard error.
@Suite("CLI output failures")
struct CLIOutputFailureTests {
  @Test(arguments: [["limits"], ["list", "--json"], ["--help"], ["msg", "--help"], ["list"]])
  func aFailedWriteToStandardOutputExitsOne(arguments: [String]) throws {
    let quoted = ([Tools.ipc] + arguments).map { "'\($0)'" }.joined(separator: " ")
    let run = try SpawnedProcess.run("/bin/sh", ["-c", "exec \(quoted) > /dev/full"])
    #expect(run.exitStatus == 1, "\(arguments): \(run.standardError)")
    let lines = run.standardError.split(separator: "\n")
    #expect(lines.count == 1, "\(run.standardError)")
    #expect(run.standardError.contains("standard output"), "\(run.standardError)")
  }

  /// A reader that has gone (`| true`) is a failed write too, never a death by SIGPIPE.
  @Test(arguments: [["limits"], ["list", "--json"], ["--help"]])
  func aReaderThatHasGoneIsAFailedWriteNotSIGPIPE(arguments: [String]) throws {
    let quoted = ([Tools.ipc] + arguments).map { "'\($0)'" }.joined(separator: " ")
    // The reader ends first; the command's status goes to standard error.
    let run = try SpawnedProcess.run(
      "/bin/sh", ["-c", "{ sleep 0.3; \(quoted); echo \"status $?\" >&2; } | true"])
    #expect(run.standardError.contains("status 1"), "\(arguments): \(run.standardError)")
    #expect(run.standardError.contains("standard output"), "\(run.standardError)")
  }
}

/// Smaller grammar points: a repeated filter letter, and help that lists only
/// what the command accepts.
@Suite("CLI help and repeats")
struct CLIHelpAndRepeatTests {
  @Test func aRepeatedFilterLetterIsHarmless() throws {
    // The sections shown, without their counts: other tests make and remove queues meanwhile.
    func sections(_ output: String) -> [Substring] {
      output.split(separator: "\n").filter { $0.hasPrefix("------") }.map { $0.prefix { $0 != "(" } }
    }
    let once = try Tools.ipc("list", "-q")
    #expect(sections(once.standardOutput) == ["------ System V message queues "])
    for arguments in [["list", "-qq"], ["list", "-q", "-q"], ["list", "--sysv-queues", "-q"]] {
      let run = try SpawnedProcess.run(Tools.ipc, arguments)
      #expect(run.exitStatus == 0, "\(arguments): \(run.standardError)")
      #expect(sections(run.standardOutput) == sections(once.standardOutput), "\(arguments)")
    }
  }

  /// `create` takes a key, never an id: its help must not offer `--id`.
  @Test(arguments: ["msg", "sem", "shm"])
  func createsHelpOffersNoId(group: String) throws {
    let help = try Tools.ipc(group, "create", "--help")
    #expect(help.exitStatus == 0)
    let words = help.standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    #expect(!words.contains("--id I"), "\(help.standardOutput)")
    let refused = try Tools.ipc(group, "create", "--id", "1")
    #expect(refused.exitStatus == 2)
  }
}
