import Foundation
import IPC
import Testing

/// A usage error is one line however the user's words are made: control
/// characters in a quoted word are shown as escapes.
@Suite("CLI one-line usage errors")
struct CLIOneLineTests {
  @Test(arguments: [
    ["msg", "send", "--key", "1", "--type", "1\n2", "x"],
    ["ms\ng"],
    ["msg", "se\nnd"],
    ["-\u{1B}[2J"],
    ["msg", "send", "--key", "1", "--ty\tpe=3", "x"],
    ["sem", "op", "--key", "1", "0:\r1"],
  ])
  func controlCharactersInAWordAreEscaped(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments)
    #expect(!run.standardError.dropLast().contains { $0.isNewline }, "\(run.standardError)")
    #expect(!run.standardError.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\t" || $0 == "\r" })
  }

  /// A 128 KiB argument is never quoted back whole: the line keeps its start
  /// and end and says how much was left out.
  @Test(arguments: [["msg", "send", "--type", "HUGE", "x"], ["mq", "send", "/HUGE", "x"]])
  func aHugeArgumentIsNotRepeatedBackWhole(arguments: [String]) throws {
    let huge = String(repeating: "a", count: 131_000)
    let run = try SpawnedProcess.run(Tools.ipc, arguments.map { $0.replacing("HUGE", with: huge) })
    #expect(run.exitStatus != 0)
    #expect(run.standardError.utf8.count < 1024, "\(run.standardError.utf8.count) bytes")
    #expect(run.standardError.split(separator: "\n").count == 1)
    #expect(run.standardError.contains("characters left out"))
  }

  /// Another user's POSIX object may be named with terminal escape sequences:
  /// `ipc list` and `stat` show them escaped, never raw.
  @Test func namesWithControlCharactersAreListedEscaped() throws {
    let name = "/ipc-test-\(getpid())-\u{1B}[2J\u{7}"
    let memory = try POSIX.SharedMemory.create(name, size: 64)
    defer { try? memory.unlink() }
    let queue = try POSIX.MessageQueue.create(name, maxMessages: 1, messageSize: 8)
    defer { try? queue.unlink() }
    for arguments in [
      ["list", "--posix-shm"], ["list", "--posix-queues"], ["mq", "stat", name], ["shm", "stat", name],
    ] {
      let run = try SpawnedProcess.run(Tools.ipc, arguments)
      #expect(run.exitStatus == 0, "\(arguments): \(run.standardError)")
      #expect(run.standardOutput.contains("-\\u{1B}[2J\\u{7}"), "\(arguments): \(run.standardOutput)")
      #expect(!run.standardOutput.contains("\u{1B}"), "\(arguments): a raw escape")
    }
  }

  @Test func theEscapeNamesTheCharacter() throws {
    let run = try SpawnedProcess.run(Tools.ipc, ["ms\ng\u{1B}"])
    #expect(run.standardError.contains("'ms\\ng\\u{1B}'"), "\(run.standardError)")
  }
}

/// `--size` (shm) and `--count`/`--values` (sem) describe a new object: with
/// `--open-existing` an existing one is opened without them.
@Suite("CLI create requirements")
struct CLICreateRequirementTests {
  @Test func anExistingSegmentOpensWithoutSize() throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(key: key, size: 64)
    defer { try? memory.remove() }
    let run = try SpawnedProcess.run(Tools.ipc, ["shm", "create", "--key", "\(key)", "--open-existing"])
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(run.standardOutput == "\(memory.id)\n")
  }

  @Test func anExistingSetOpensWithoutCountOrValues() throws {
    let key = TestKeys.next()
    let set = try SystemV.SemaphoreSet.create(key: key, values: [1, 0])
    defer { try? set.remove() }
    let run = try SpawnedProcess.run(Tools.ipc, ["sem", "create", "--key", "\(key)", "--open-existing"])
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(run.standardOutput == "\(set.id)\n")
    #expect(try set.value(at: 0) == 1, "the values were changed")
  }

  @Test(arguments: [
    (["shm", "create"], "--size"), (["sem", "create"], "--count"),
  ])
  func creatingStillNeedsThem(command: [String], option: String) throws {
    let key = TestKeys.next()
    defer {
      try? SystemV.SharedMemory.open(key: key).remove()
      try? SystemV.SemaphoreSet.open(key: key).remove()
    }
    for arguments in [command + ["--key", "\(key)"], command, command + ["--open-existing"]] {
      let run = try SpawnedProcess.run(Tools.ipc, arguments)
      expectUsageError(run, arguments, mentioning: option)
      #expect(run.standardError.contains("--open-existing"), "\(run.standardError)")
    }
    #expect((try? SystemV.SharedMemory.open(key: key)) == nil)
    #expect((try? SystemV.SemaphoreSet.open(key: key)) == nil)
  }

  @Test func theUsageLineSaysWhenSizeIsRequired() throws {
    let run = try SpawnedProcess.run(Tools.ipc, ["shm", "create", "--help"])
    #expect(run.standardOutput.contains("{--size N | --open-existing}"), "\(run.standardOutput)")
    #expect(run.standardOutput.contains("(required unless --open-existing is given)"))
  }
}

/// `create` prints the new object's id; when that write fails nobody saw the
/// id, so the object this run made is removed (exit 1, one line saying so).
@Suite("CLI create with a failed write")
struct CLICreateFailedWriteTests {
  static func toFull(_ arguments: [String]) throws -> SpawnedProcess {
    let quoted = ([Tools.ipc] + arguments).map { "'\($0)'" }.joined(separator: " ")
    return try SpawnedProcess.run("/bin/sh", ["-c", "exec \(quoted) > /dev/full"])
  }

  /// The keys in /proc/sysvipc/`kind` (first column, decimal).
  static func keys(_ kind: String) -> Set<Int> {
    let table = (try? procText("/proc/sysvipc/\(kind)")) ?? ""
    return Set(
      table.split(separator: "\n").dropFirst().compactMap {
        $0.split(separator: " ").first.flatMap { Int($0) }
      })
  }

  @Test(arguments: [
    ("msg", ["msg", "create"]), ("sem", ["sem", "create", "--count", "2"]),
    ("shm", ["shm", "create", "--size", "64"]),
  ])
  func aNewObjectWhoseIdCannotBeWrittenIsRemoved(kind: String, command: [String]) throws {
    let key = TestKeys.next()
    defer {
      try? SystemV.MessageQueue.open(key: key).remove()
      try? SystemV.SemaphoreSet.open(key: key).remove()
      try? SystemV.SharedMemory.open(key: key).remove()
    }
    let run = try Self.toFull(command + ["--key", "\(key)"])
    #expect(run.exitStatus == 1, "\(run.standardError)")
    #expect(run.standardError.split(separator: "\n").count == 1, "\(run.standardError)")
    #expect(run.standardError.contains("standard output"), "\(run.standardError)")
    #expect(run.standardError.contains("was removed"), "\(run.standardError)")
    #expect(!Self.keys(kind).contains(Int(key.rawValue)), "the object of key \(key) is left")
  }

  /// A private segment records the pid that made it: none is left by that pid.
  @Test func aNewPrivateSegmentWhoseIdCannotBeWrittenIsRemoved() throws {
    let run = try Self.toFull(["shm", "create", "--size", "64"])
    #expect(run.exitStatus == 1, "\(run.standardError)")
    #expect(run.standardError.contains("was removed"), "\(run.standardError)")
    let table = try procText("/proc/sysvipc/shm")
    let byThatRun = table.split(separator: "\n").dropFirst().filter { row in
      let columns = row.split(separator: " ")
      return columns.count > 4 && columns[4] == "\(run.pid)"
    }
    for row in byThatRun {
      try? SystemV.SharedMemory.open(id: Int32(row.split(separator: " ")[1]) ?? -1).remove()
    }
    #expect(byThatRun.isEmpty, "left: \(byThatRun)")
  }

  /// An object that existed before is not this run's to remove.
  @Test func anOpenedObjectIsLeftAlone() throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(key: key, size: 64)
    defer { try? memory.remove() }
    let run = try Self.toFull(["shm", "create", "--key", "\(key)", "--open-existing"])
    #expect(run.exitStatus == 1, "\(run.standardError)")
    #expect(run.standardError.split(separator: "\n").count == 1, "\(run.standardError)")
    #expect((try? SystemV.SharedMemory.open(key: key)) != nil, "the existing segment was removed")
  }
}

/// Usage errors name what the user typed and only what is wrong.
@Suite("CLI usage error wording")
struct CLIUsageWordingTests {
  @Test(arguments: [
    (["shm", "write", "/x"], "ipc shm write: missing TEXT (see"),
    (
      ["shm", "write", "hello"],
      "ipc shm write: missing SHM (--key K, --id I, or a POSIX NAME such as /frames) (see"
    ),
    (["shm", "read", "/x", "/y"], "ipc shm read: unexpected argument '/y'"),
    (["shm", "write", "/x", "--raw", "--hex", "00"], "--raw and --hex exclude each other"),
    (["shm", "write", "/x", "--no-nul", "--hex", "00"], "--no-nul and --hex exclude each other"),
    (
      ["sem", "op", "--key", "1", "-1:1"],
      "unknown option -1 in -1:1 (a word starting with '-' goes after --)"
    ),
    (
      ["msg", "send", "--key", "1", "-hello"],
      "unknown option -h in -hello (a word starting with '-' goes after --)"
    ),
    (["msg", "send", "--key", "1", "x", "-y"], "unknown option -y (a word starting with '-' goes after --)"),
    // Already after `--`: an extra word, not advice to do what was done (found by the CLI fuzz test).
    (["msg", "stat", "--key", "1", "--", "--path=x"], "ipc msg stat: unexpected argument '--path=x' (see"),
    (["msg", "send", "--key", "1", "--", "x", "-y"], "ipc msg send: unexpected argument '-y' (see"),
  ])
  func theErrorNamesWhatWasTyped(arguments: [String], message: String) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: message)
    #expect(!run.standardError.contains("and TEXT"), "\(run.standardError)")
    #expect(!(arguments.contains("--raw") && run.standardError.contains("--no-nul")), "\(run.standardError)")
  }

  /// The advice works: after `--` the same word is an argument.
  @Test func aWordAfterDoubleDashIsAnArgument() throws {
    let key = TestKeys.next()  // no set has it: the op fails (1), it is not a usage error (2)
    let run = try SpawnedProcess.run(Tools.ipc, ["sem", "op", "--key", "\(key)", "--", "-1:1"])
    #expect(run.exitStatus == 1, "\(run.standardError)")
  }
}

/// A failure (exit 1) that names the user's object as typed is one line too.
@Suite("CLI one-line failures")
struct CLIOneLineFailureTests {
  @Test(arguments: [
    ["shm", "stat", "/ipc-test-no\nsuch"], ["mq", "stat", "/ipc-test-no\nsuch"],
    ["psem", "value", "/ipc-test-no\u{1B}such"], ["fifo", "create", "/tmp/ipc-test-no\nsuch/fifo"],
  ])
  func aNameWithControlCharactersIsEscaped(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    #expect(run.exitStatus == 1, "\(run.standardError)")
    #expect(
      run.standardError.split(separator: "\n", omittingEmptySubsequences: false).count == 2,
      "\(run.standardError)")
    #expect(!run.standardError.unicodeScalars.contains("\u{1B}"), "\(run.standardError)")
    #expect(run.standardError.contains("no\\nsuch") || run.standardError.contains("no\\u{1B}such"))
  }
}
