import Foundation
import IPC
import Testing

/// The grammar every `ipc` command shares, checked on the real binary against
/// real kernel objects: one rule for create, one verb for removal, `list`
/// filters and JSON, `limits`, one-line usage errors that change nothing,
/// errors in the command's own words, and binary shown as hex on a terminal.
@Suite("One CLI grammar")
struct CLIGrammarTests {
  // MARK: create: fails on an existing object unless --open-existing

  /// One kind of object, made by `ipc ... create` and removed by `remove`.
  struct Kind: CustomTestStringConvertible, Sendable {
    var group: String
    /// The words that name a new object of this kind (`--key K` or `NAME`).
    var name: @Sendable () -> [String]
    /// What `create` needs besides the name.
    var createOptions: [String] = []
    /// Removes the object whatever the test did (also when it failed).
    var cleanUp: @Sendable ([String]) -> Void
    /// Whether the object exists.
    var exists: @Sendable ([String]) -> Bool
    var testDescription: String { group }
  }

  static let kinds: [Kind] = [
    Kind(
      group: "msg", name: { ["--key", "\(TestKeys.next())"] },
      cleanUp: { try? SystemV.MessageQueue.open(key: key($0)).remove() },
      exists: { (try? SystemV.MessageQueue.open(key: key($0))) != nil }),
    Kind(
      group: "sem", name: { ["--key", "\(TestKeys.next())"] }, createOptions: ["--values", "2,0"],
      cleanUp: { try? SystemV.SemaphoreSet.open(key: key($0)).remove() },
      exists: { (try? SystemV.SemaphoreSet.open(key: key($0))) != nil }),
    Kind(
      group: "shm", name: { ["--key", "\(TestKeys.next())"] }, createOptions: ["--size", "64"],
      cleanUp: { try? SystemV.SharedMemory.open(key: key($0)).remove() },
      exists: { (try? SystemV.SharedMemory.open(key: key($0))) != nil }),
    Kind(
      group: "shm", name: { [TestNames.next()] }, createOptions: ["--size", "64"],
      cleanUp: { try? POSIX.SharedMemory.unlink($0[0]) },
      exists: { (try? POSIX.SharedMemory.open($0[0])) != nil }),
    Kind(
      group: "mq", name: { [TestNames.next()] }, cleanUp: { try? POSIX.MessageQueue.unlink($0[0]) },
      exists: { (try? POSIX.MessageQueue.open($0[0])) != nil }),
    Kind(
      group: "psem", name: { [TestNames.next()] }, createOptions: ["--value", "3"],
      cleanUp: { try? POSIX.Semaphore.unlink($0[0]) }, exists: { (try? POSIX.Semaphore.open($0[0])) != nil }),
    Kind(
      group: "fifo", name: { [TestPaths.nextFIFO()] }, cleanUp: { _ = unlink($0[0]) },
      exists: { access($0[0], F_OK) == 0 }),
  ]

  private static func key(_ words: [String]) -> SystemV.Key {
    SystemV.Key(parsing: words[1]) ?? .private
  }

  @Test(arguments: kinds)
  func createFailsOnAnExistingObjectUnlessAskedToOpenIt(kind: Kind) throws {
    let name = kind.name()
    defer { kind.cleanUp(name) }
    let create = [kind.group, "create"] + name + kind.createOptions
    let first = try SpawnedProcess.run(Tools.ipc, create)
    #expect(first.exitStatus == 0, "\(create): \(first.standardError)")
    #expect(kind.exists(name))
    let again = try SpawnedProcess.run(Tools.ipc, create)
    #expect(again.exitStatus == 1, "\(create): \(again.standardError)")
    #expect(again.standardOutput.isEmpty)
    #expect(again.standardError.split(separator: "\n").count == 1, "\(again.standardError)")
    #expect(again.standardError.hasPrefix("ipc \(kind.group) create: "), "\(again.standardError)")
    #expect(again.standardError.contains("already exists"), "\(again.standardError)")
    #expect(again.standardError.contains("give --open-existing to open it"), "\(again.standardError)")
    // The advice is rewritten once, not again inside its own rewrite.
    #expect(!again.standardError.contains("to give"), "\(again.standardError)")
    #expect(again.standardError.contains("[EEXIST]"))
    let open = try SpawnedProcess.run(Tools.ipc, create + ["--open-existing"])
    #expect(open.exitStatus == 0, "\(open.standardError)")
    // A System V create prints the id: the same object both times.
    #expect(open.standardOutput == first.standardOutput)
    #expect(kind.exists(name))
  }

  @Test func openExistingLeavesTheObjectAsItWas() throws {
    let key = TestKeys.next()
    defer { try? SystemV.SemaphoreSet.open(key: key).remove() }
    let made = try Tools.ipc("sem", "create", "--key", "\(key)", "--values", "2,0")
    #expect(made.exitStatus == 0)
    let set = try SystemV.SemaphoreSet.open(key: key)
    try set.setValue(7, at: 1)
    let open = try Tools.ipc("sem", "create", "--key", "\(key)", "--values", "0,0", "--open-existing")
    #expect(open.exitStatus == 0, "\(open.standardError)")
    #expect(try set.values() == [2, 7])

    let name = TestNames.next()
    defer { try? POSIX.Semaphore.unlink(name) }
    #expect(try Tools.ipc("psem", "create", name, "--value", "3").exitStatus == 0)
    #expect(try Tools.ipc("psem", "create", name, "--value", "9", "--open-existing").exitStatus == 0)
    #expect(try POSIX.Semaphore.open(name).value() == 3)
  }

  @Test func openExistingNeverTakesAFileThatIsNotAFIFO() throws {
    let path = TestPaths.nextFIFO()
    defer { unlink(path) }
    #expect(FileManager.default.createFile(atPath: path, contents: Data("precious".utf8)))
    let run = try Tools.ipc("fifo", "create", path, "--open-existing")
    #expect(run.exitStatus == 1)
    #expect(run.standardError.contains("not a FIFO"), "\(run.standardError)")
    #expect(FileManager.default.contents(atPath: path) == Data("precious".utf8))
  }

  // MARK: remove, with unlink as another spelling

  @Test(arguments: kinds)
  func removeRemovesEveryKindAndUnlinkIsTheSame(kind: Kind) throws {
    for verb in ["remove", "unlink"] {
      // `ipc --help` promises `unlink` for every kind, System V ones too.
      let name = kind.name()
      defer { kind.cleanUp(name) }
      let create = try SpawnedProcess.run(Tools.ipc, [kind.group, "create"] + name + kind.createOptions)
      #expect(create.exitStatus == 0, "\(create.standardError)")
      let remove = try SpawnedProcess.run(Tools.ipc, [kind.group, verb] + name)
      #expect(remove.exitStatus == 0, "\(kind.group) \(verb): \(remove.standardError)")
      #expect(!kind.exists(name), "\(kind.group) \(verb) left it")
    }
  }

  @Test func theHelpListsRemoveAndSaysUnlinkIsAnotherSpelling() throws {
    for group in ["msg", "mq", "sem", "psem", "shm", "fifo"] {
      let help = try Tools.ipc(group, "--help")
      #expect(help.exitStatus == 0)
      // Words only: the help wraps long lines.
      let words = help.standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
      #expect(words.contains("(also spelled unlink)"), "\(help.standardOutput)")
      #expect(help.standardOutput.contains("  remove "))
    }
  }

  // MARK: usage errors: one line, exit 2, nothing changed

  @Test(arguments: [
    (["msg", "send", "--type", "x", "t"], "ipc msg send: --type: expected a message type from 1 to"),
    (["msg", "send", "--bogus", "t"], "ipc msg send: unknown option --bogus"),
    (["msg", "send", "t", "--type"], "ipc msg send: --type: missing value"),
    (["msg", "send", "--type", "2", "--type", "3", "t"], "ipc msg send: --type: given more than once"),
    (
      ["msg", "receive", "--nowait", "--timeout", "1"],
      "ipc msg receive: --nowait and --timeout exclude each other"
    ),
    (["msg", "receive", "--type=0"], "ipc msg receive: --type: expected a message type from 1 to"),
    (["msg", "receive", "--truncate=yes"], "ipc msg receive: --truncate: takes no value, got 'yes'"),
    (["msg", "receive", "extra"], "ipc msg receive: unexpected argument 'extra'"),
    (["msg", "remove"], "ipc msg remove: missing the queue: name it with --key K, --id I"),
    (
      ["msg", "peek", "--index", "-1"],
      "ipc msg peek: --index: expected a position (0 is the oldest) from 0 to"
    ),
  ])
  func usageErrorsAreOneLineAndChangeNothing(arguments: [String], message: String) throws {
    try withQueue { queue in
      try queue.send("kept".utf8, type: 2)
      // Name the queue unless the case is about naming it.
      let named = arguments == ["msg", "remove"] ? arguments : arguments + ["--id", "\(queue.id)"]
      let run = try SpawnedProcess.run(Tools.ipc, named)
      expectUsageError(run, named, mentioning: message)
      #expect(try drain(queue) == [SystemV.Message(2, "kept")])
    }
  }

  @Test(arguments: [
    ["shm", "create"], ["sem", "create", "--key", "1"], ["mq", "send", "/x"], ["list", "-z"],
    ["limits", "x"],
    ["demo", "--count", "-1"], ["msg"], ["msg", "frob"], ["frob"], [], ["--bogus"],
    ["mq", "create", "/x", "--max-messages"],
  ])
  func everyUsageErrorIsOneLine(arguments: [String]) throws {
    expectUsageError(try SpawnedProcess.run(Tools.ipc, arguments), arguments)
  }

  @Test func aMissingRequiredOptionIsNamed() throws {
    let run = try Tools.ipc("shm", "create")
    expectUsageError(
      run, ["shm", "create"],
      mentioning:
        "ipc shm create: missing --size N (a whole number, 0 or more; required unless --open-existing"
        + " is given) (see 'ipc shm create --help')"
    )
  }

  // MARK: help made from the declarations

  @Test func theHelpListsEveryOptionWithItsHelp() throws {
    let help = try Tools.ipc("msg", "receive", "--help")
    #expect(help.exitStatus == 0)
    #expect(help.standardOutput.hasPrefix("usage: ipc msg receive [options]"))
    for option in [
      "--key K", "--id I", "--path P", "--project N", "--type N", "--up-to N", "--except N", "--nowait",
      "--timeout SECONDS", "--truncate", "--show-type", "--raw", "-h, --help",
    ] {
      #expect(help.standardOutput.contains("  \(option) "), "\(option) missing from \(help.standardOutput)")
    }
    #expect(help.standardOutput.split(separator: "\n").allSatisfy { $0.count <= 80 })
  }

  /// Every option a shell line of README.md or Docs/*.md gives an `ipc`
  /// command is one that command declares: the docs cannot drift from the parser.
  @Test func everyOptionTheDocsShowIsDeclared() throws {
    let files =
      ["README.md"]
      + (try FileManager.default.contentsOfDirectory(atPath: Tools.packageRoot + "/Docs"))
      .filter { $0.hasSuffix(".md") }.map { "Docs/" + $0 }
    var checked = 0
    var helps: [String: String] = [:]
    for file in files {
      let text = try String(contentsOfFile: Tools.packageRoot + "/" + file, encoding: .utf8)
      var inBlock = false
      var inShell = false
      for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("```") {
          // Shell blocks, and blocks without a language (command synopses).
          inShell = !inBlock && ["```", "```sh", "```console", "```shell"].contains(line)
          inBlock.toggle()
          continue
        }
        guard inShell else { continue }
        var words =
          line.split(separator: "#", maxSplits: 1).first?.split(separator: " ").map(String.init) ?? []
        while let first = words.first, first != "ipc" { words.removeFirst() }
        // Output lines ("ipc msg send: ...", an error) are not commands.
        guard words.count > 1, !words[1].hasPrefix("-"),
          !words.prefix(3).contains(where: { $0.hasSuffix(":") })
        else { continue }
        let groups: Set = ["msg", "mq", "sem", "psem", "shm", "fifo", "signal", "socket"]
        var path = Array(words.prefix(2))
        if groups.contains(words[1]), words.count > 2, !words[2].hasPrefix("-") { path.append(words[2]) }
        if words[1] == "demo", words.count > 2, ["bounded-buffer", "signals"].contains(words[2]) {
          path.append(words[2])
        }
        let help: String
        if let known = helps[path.joined(separator: " ")] {
          help = known
        } else {
          let run = try SpawnedProcess.run(Tools.ipc, Array(path.dropFirst()) + ["--help"])
          #expect(run.exitStatus == 0, "\(file): \(line): \(run.standardError)")
          help = run.standardOutput
          helps[path.joined(separator: " ")] = help
        }
        for word in words.dropFirst(path.count) {
          let option = word.drop { $0 == "[" || $0 == "(" }.prefix { $0 == "-" || $0.isLetter }
          guard option.hasPrefix("--") else { continue }
          #expect(
            help.contains("  \(option) ") || help.contains(" \(option),"), "\(file): '\(line)': \(option)")
          checked += 1
        }
      }
    }
    #expect(checked > 40)
  }

  // MARK: list filters and JSON

  @Test func listFiltersByKind() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.create(key: key)
    defer { try? queue.remove() }
    let titles = [
      ("-q", "System V message queues"), ("--sysv-queues", "System V message queues"),
      ("-s", "System V semaphore sets"), ("-m", "System V shared memory segments"),
      ("--posix-queues", "POSIX message queues"), ("--posix-semaphores", "POSIX semaphores"),
      ("--sysv-semaphores", "System V semaphore sets"), ("--sysv-shm", "System V shared memory segments"),
      ("--posix-shm", "POSIX shared memory"), ("--sockets", "Unix sockets"),
    ]
    for (option, title) in titles {
      let run = try Tools.ipc("list", option)
      #expect(run.exitStatus == 0, "\(run.standardError)")
      let sections = run.standardOutput.split(separator: "\n").filter { $0.hasPrefix("------") }
      #expect(sections.count == 1 && sections[0].contains(title), "\(option): \(sections)")
    }
    let both = try Tools.ipc("list", "-qs")
    let sections = both.standardOutput.split(separator: "\n").filter { $0.hasPrefix("------") }
    #expect(sections.count == 2)
    #expect(both.standardOutput.split(separator: "\n").contains { $0.hasPrefix("\(key) \(queue.id) ") })
    // Separate letters list the same kinds (other tests make and remove objects
    // meanwhile, so the rows may differ; the sections and this queue may not).
    let separate = try Tools.ipc("list", "-q", "-s").standardOutput.split(separator: "\n")
    // Without the counts, which those other tests change.
    let headings = { (lines: [Substring]) in
      lines.filter { $0.hasPrefix("------") }.map { $0.replacing(/\(\d+\)/, with: "") }
    }
    #expect(headings(separate) == headings(sections))
    #expect(separate.contains { $0.hasPrefix("\(key) \(queue.id) ") })
    let all = try Tools.ipc("list")
    #expect(all.standardOutput.split(separator: "\n").filter { $0.hasPrefix("------") }.count == 7)
  }

  @Test func listJSONParsesWithNumbersAsNumbers() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.create(key: key)
    defer { try? queue.remove() }
    try queue.send("12345".utf8, type: 1)
    try withSemaphoreSet([3, 0, 1]) { set in
      let run = try Tools.ipc("list", "--json")
      #expect(run.exitStatus == 0, "\(run.standardError)")
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
      #expect(
        Set(object.keys)
          == [
            "sysv_queues", "posix_queues", "sysv_semaphores", "posix_semaphores", "sysv_shm", "posix_shm",
            "unix_sockets",
          ])
      let queues = try #require(object["sysv_queues"] as? [[String: Any]])
      let row = try #require(queues.first { ($0["id"] as? Int) == Int(queue.id) })
      #expect(row["key"] as? String == "\(key)")
      #expect(row["messages"] as? Int == 1)
      #expect(row["bytes"] as? Int == 5)
      #expect(row["lspid"] as? Int == Int(getpid()))
      #expect(row["perms"] as? String == "0600")
      let sets = try #require(object["sysv_semaphores"] as? [[String: Any]])
      let setRow = try #require(sets.first { ($0["id"] as? Int) == Int(set.id) })
      #expect(setRow["values"] as? [Int] == [3, 0, 1])
      #expect(setRow["nsems"] as? Int == 3)
    }
    let filtered = try Tools.ipc("list", "-m", "--json")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(filtered.standardOutput.utf8)) as? [String: Any])
    #expect(Array(object.keys) == ["sysv_shm"])
  }

  // MARK: limits

  @Test func limitsShowsEveryLimitWithItsFile() throws {
    let run = try Tools.ipc("limits")
    #expect(run.exitStatus == 0, "\(run.standardError)")
    let message = SystemV.MessageQueue.Limits.current()
    let rows = run.standardOutput.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    #expect(
      rows.contains { $0.prefix(3) == ["msgmax", "\(message.maxMessageSize)", "/proc/sys/kernel/msgmax"] })
    for name in [
      "msgmax", "msgmnb", "msgmni", "semmsl", "semmns", "semopm", "semmni", "semvmx", "shmmax", "shmall",
      "shmmni",
      "shmmin", "msg_max", "msgsize_max", "msg_default", "msgsize_default", "queues_max", "mq_prio_max",
    ] {
      #expect(rows.contains { $0.first == name }, "\(name) missing")
    }

    let json = try Tools.ipc("limits", "--json")
    let limits = try #require(
      try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]])
    let byName = Dictionary(limits.compactMap { row in (row["name"] as? String).map { ($0, row) } }) { a, _ in
      a
    }
    let semaphores = SystemV.SemaphoreSet.Limits.current()
    #expect(byName["semmsl"]?["value"] as? Int == semaphores.maxPerSet)
    #expect(byName["semmsl"]?["file"] as? String == "/proc/sys/kernel/sem (field 1)")
    let queues = POSIX.MessageQueue.Limits.current()
    #expect(byName["msg_max"]?["value"] as? Int == queues.maxMessages)
    #expect(byName["msg_max"]?["file"] as? String == "/proc/sys/fs/mqueue/msg_max")
    #expect(byName["shmmni"]?["value"] as? Int == SystemV.SharedMemory.Limits.current().maxSegments)
  }

  // MARK: errors in the command's own words

  @Test func errorsSpeakOfCommandsNotOfTheLibrary() throws {
    let key = TestKeys.next()
    let missing = try Tools.ipc("msg", "receive", "--key", "\(key)", "--nowait")
    #expect(missing.exitStatus == 1)
    #expect(
      missing.standardError.contains("create it first (ipc msg create --key \(key))"),
      "\(missing.standardError)")

    let name = TestNames.next()
    let noQueue = try Tools.ipc("mq", "receive", name)
    #expect(
      noQueue.standardError.contains("create it first (ipc mq create \(name))"), "\(noQueue.standardError)")
    let noSemaphore = try Tools.ipc("psem", "post", name)
    #expect(noSemaphore.standardError.contains("create it first (ipc psem create \(name))"))

    let path = TestPaths.nextFIFO()
    let noFIFO = try Tools.ipc("fifo", "send", path, "x")
    #expect(noFIFO.exitStatus == 1)
    #expect(
      noFIFO.standardError.contains("create the FIFO first (ipc fifo create \(path))"),
      "\(noFIFO.standardError)")
    #expect(!noFIFO.standardError.contains("NamedPipe"))

    try withFIFO { fifo in
      let noReader = try Tools.ipc("fifo", "send", "--nowait", fifo.path, "x")
      #expect(noReader.exitStatus == 1)
      #expect(!noReader.standardError.contains("nonBlocking"), "\(noReader.standardError)")
      #expect(noReader.standardError.contains("send without --nowait to wait for one"))
    }
    let small = try withQueue { queue in
      try queue.setMaxBytes(100)
      return try Tools.ipc("msg", "send", "--id", "\(queue.id)", String(repeating: "x", count: 200))
    }
    #expect(small.exitStatus == 1)
    #expect(
      small.standardError.contains("(it is set when the queue is made: ipc msg create --max-bytes N)"),
      "\(small.standardError)")
    for run in [missing, noQueue, noSemaphore, noFIFO, small] {
      #expect(run.standardError.split(separator: "\n").count == 1)
      #expect(!run.standardError.contains(".create("))
    }
  }

  // MARK: binary to a terminal is shown as hex

  /// Runs `ipc ARGUMENTS` with its standard output on a pseudo-terminal (util-linux `script`).
  private func onTerminal(_ arguments: [String]) throws -> SpawnedProcess {
    let command = ([Tools.ipc] + arguments).map { "'\($0)'" }.joined(separator: " ")
    return try SpawnedProcess.run("/usr/bin/script", ["-qec", command, "/dev/null"])
  }

  @Test(.prompt) func binaryToATerminalIsHexUnlessRaw() async throws {
    try await withSegment(size: 32) { memory in
      try memory.attach().write([0xde, 0xad, 0x00, 0x01, 0x41], at: 0)
      let id = "\(memory.id)"
      let terminal = try onTerminal(["shm", "read", "--id", id, "--length", "5"])
      #expect(terminal.exitStatus == 0, "\(terminal.standardError)")
      #expect(terminal.standardOutput.contains("00000000  de ad 00 01 41"), "\(terminal.standardOutput)")
      #expect(terminal.standardOutput.hasPrefix(Self.note(5)), "\(terminal.standardOutput)")
      let raw = try onTerminal(["shm", "read", "--id", id, "--length", "5", "--raw"])
      #expect(!raw.standardOutput.contains("de ad"))
      #expect(
        raw.standardOutputBytes.starts(with: [0xde, 0xad, 0x00, 0x01, 0x41]), "\(raw.standardOutputBytes)")
      // To a file: the bytes as they are, and a newline.
      let file = try Tools.ipc("shm", "read", "--id", id, "--length", "5")
      #expect(file.standardOutputBytes == [0xde, 0xad, 0x00, 0x01, 0x41, 0x0a])
      // Text stays text on a terminal.
      try memory.attach().write(Array("hello\0".utf8), at: 0)
      let text = try onTerminal(["shm", "read", "--id", id])
      #expect(text.standardOutput.hasPrefix("hello"), "\(text.standardOutput)")
    }
    try await withQueue { queue in
      try queue.send([0x00, 0xff, 0x10], type: 1)
      try queue.send("plain".utf8, type: 1)
      let binary = try onTerminal(["msg", "receive", "--id", "\(queue.id)"])
      #expect(binary.standardOutput.contains("00 ff 10"), "\(binary.standardOutput)")
      #expect(binary.standardOutput.hasPrefix(Self.note(3)), "\(binary.standardOutput)")
      let text = try onTerminal(["msg", "receive", "--id", "\(queue.id)"])
      #expect(text.standardOutput.hasPrefix("plain"), "\(text.standardOutput)")
    }
    let name = TestNames.next()
    let queue = try POSIX.MessageQueue.create(name)
    defer { try? POSIX.MessageQueue.unlink(name) }
    try await queue.send([0x01, 0x02, 0xfe], priority: 0)
    try await queue.send([0x01, 0x02, 0xfe], priority: 0)
    let hex = try onTerminal(["mq", "receive", name])
    #expect(hex.standardOutput.contains("01 02 fe"), "\(hex.standardOutput)")
    #expect(hex.standardOutput.hasPrefix(Self.note(3)), "\(hex.standardOutput)")
    let raw = try onTerminal(["mq", "receive", name, "--raw"])
    #expect(raw.standardOutputBytes.starts(with: [0x01, 0x02, 0xfe]), "\(raw.standardOutputBytes)")

    // A FIFO's binary line, written by a shell once the reader has it open.
    let path = TestPaths.nextFIFO()
    defer { unlink(path) }
    #expect(mkfifo(path, 0o600) == 0)
    let script =
      "(printf '\\001\\002\\376\\n' > '\(path)' &); '\(Tools.ipc)' fifo receive '\(path)' --count 1"
    let fifo = try SpawnedProcess.run("/usr/bin/script", ["-qec", script, "/dev/null"])
    #expect(fifo.standardOutput.hasPrefix(Self.note(4)), "\(fifo.standardOutput)")
    #expect(fifo.standardOutput.contains("01 02 fe 0a"), "\(fifo.standardOutput)")
  }

  /// The line before binary shown as hex, the same for every command.
  private static func note(_ count: Int) -> String {
    "(\(count) bytes of binary shown as hex; --raw writes them as they are)"
  }
}
