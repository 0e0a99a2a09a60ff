import Foundation
import IPC
import Testing

/// A seeded fuzz test of the `ipc` command line: every command and option the
/// help lists, with edge numbers, odd names and long strings, in a sandbox of
/// keys and names of its own. No run may die of a signal; each ends in exit
/// status 0, 1 or 2, says why on standard error when it fails, in lines of
/// bounded length, and a usage error is exactly one line.
///
/// - Vocabulary: ``CLIGrammar`` reads it from `ipc --help` and each command's
///   help, so a new command or option is fuzzed without editing this test;
///   the first rounds give every command each of its options once.
/// - Sandbox: ``CLIFuzzSandbox`` holds fixtures of every kind under keys and
///   names of this test only; values that name objects come only from it
///   (``CLIFuzzValues``), the commands run in its directory, and every round
///   ends with a sweep of whatever it made (by key, name, printed id, creator pid).
/// - Time: a command that can wait gets `--nowait` or a short `--timeout`
///   (unless the round gives one); the FIFO commands get a peer (``FIFOPeer``),
///   `ipc socket send` a server (``SocketPeer``).
///   A run still going at its limit is stopped (SIGTERM, then SIGKILL): that
///   fails the round unless the command may wait by design; ``CLIFuzzer``
///   lists those, the slow ones (bounded) and the excluded, each with its reason.
///
/// The suite runs ``rounds`` rounds from ``seed``; a long run sets
/// `IPC_FUZZ_ROUNDS` (and `IPC_FUZZ_SEED`, in hex). Each round has a generator
/// of its own, so `IPC_FUZZ_FIRST=R IPC_FUZZ_ROUNDS=1` replays round R alone.
@Suite("ipc command-line fuzzing")
struct CLIFuzzTests {
  static let environment = ProcessInfo.processInfo.environment
  static let rounds = environment["IPC_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 800
  static let seed = environment["IPC_FUZZ_SEED"].flatMap { UInt64($0, radix: 16) } ?? 0x1_2345
  static let first = environment["IPC_FUZZ_FIRST"].flatMap { Int($0) } ?? 0
  /// The `ipc` fuzzed: the one built with the tests, or `IPC_FUZZ_IPC` (a release build for a long run).
  static let ipc = environment["IPC_FUZZ_IPC"] ?? Tools.ipc
  /// `IPC_FUZZ_VERBOSE=1` prints every round: its words, how it ended, its first line on standard error.
  static let verbose = environment["IPC_FUZZ_VERBOSE"] == "1"

  @Test func vocabularyComesFromTheHelp() throws {
    let grammar = try CLIGrammar.derive(ipc: Tools.ipc)
    let names = Set(grammar.commands.map(\.name))
    #expect(grammar.commands.count >= 30, "\(names.sorted())")
    for name in [
      "list", "limits", "msg create", "msg send", "msg receive", "msg remove", "mq send", "sem op", "sem set",
      "psem wait", "shm write", "shm read", "fifo receive", "demo", "demo bounded-buffer", "socket listen",
      "socket send",
    ] {
      #expect(names.contains(name), "\(name) missing from \(names.sorted())")
    }
    let receive = try #require(grammar.command("msg receive"))
    #expect(receive.option("--timeout")?.placeholder == "SECONDS")
    #expect(receive.option("--nowait") != nil && receive.option("--nowait")?.placeholder == nil)
    #expect(receive.option("--key")?.placeholder == "K")
    #expect(grammar.command("shm write")?.option("--no-nul")?.names == ["--no-nul", "--raw"])
    #expect(grammar.command("list")?.option("-q")?.names == ["-q", "--sysv-queues"])
    #expect(
      grammar.command("sem op")?.positionals == [.init(name: "OP", isOptional: false, isRepeating: true)])
    #expect(grammar.command("shm read")?.positionals.first?.isOptional == true)
    #expect(grammar.command("mq remove")?.aliases == ["unlink"])
    #expect(grammar.groups.contains(["msg"]) && grammar.groups.contains(["fifo"]))
    #expect(grammar.command("socket listen")?.positionals.first?.name == "PATH|@NAME")
    #expect(grammar.command("socket listen")?.option("--kind")?.placeholder == "KIND")
    // Every command has options or positional words to fuzz, and none is lost to a misread table.
    for command in grammar.commands {
      #expect(!command.options.isEmpty || !command.positionals.isEmpty, "\(command.name)")
      for option in command.options { #expect(option.names.allSatisfy { $0.hasPrefix("-") }, "\(option)") }
    }
  }

  /// The values that name objects name only the sandbox's: a fuzzed command
  /// can never reach an object of another test or user.
  @Test func valuesNameOnlyTheSandbox() throws {
    let sandbox = try CLIFuzzSandbox()
    defer { sandbox.sweep(keepingFixtures: false) }
    try sandbox.prepare()
    let grammar = try CLIGrammar.derive(ipc: Tools.ipc)
    let values = CLIFuzzValues(sandbox: sandbox)
    let keys = sandbox.allKeys.union([SystemV.Key.private.rawValue])
    let ids = Set(sandbox.fixtureIDs.values)
    var generator = SeededGenerator(state: 7)
    for command in grammar.commands {
      for _ in 0..<200 {
        let key = values.value(for: "K", in: command, using: &generator)
        if let parsed = SystemV.Key(parsing: key) { #expect(keys.contains(parsed.rawValue), "\(key)") }
        let id = values.value(for: "I", in: command, using: &generator)
        if let parsed = Int32(id), parsed >= 0 { #expect(ids.contains(parsed) || parsed == .max, "\(id)") }
        let name = values.value(for: "NAME", in: command, using: &generator)
        #expect(!CLIFuzzValues.isPOSIXName(name) || name.hasPrefix("/" + sandbox.namePrefix), "\(name)")
        let path = values.value(for: "PATH", in: command, using: &generator)
        #expect(
          !path.hasPrefix("/") || path.hasPrefix(sandbox.directory) || ["/", "//"].contains(path), "\(path)")
        let socket = values.value(for: "PATH|@NAME", in: command, using: &generator)
        #expect(
          socket.hasPrefix(sandbox.directory) || socket.hasPrefix("@" + sandbox.namePrefix)
            || ["@", "@@"].contains(socket) || !socket.hasPrefix("/") && !socket.hasPrefix("@"), "\(socket)")
      }
    }
    // Any other word may land where a name goes (a positional word left out): none is a valid POSIX name.
    let others =
      CLIFuzzValues.numbers + CLIFuzzValues.texts + CLIFuzzValues.odd + CLIFuzzValues.durations
      + CLIFuzzValues.modes + CLIFuzzValues.operations + CLIFuzzValues.lists + CLIFuzzValues.long
    #expect(others.filter(CLIFuzzValues.isPOSIXName).isEmpty)
  }

  @Test func everyCommandAndOptionWithHostileValues() throws {
    let grammar = try CLIGrammar.derive(ipc: Self.ipc)
    let sandbox = try CLIFuzzSandbox()
    defer { sandbox.sweep(keepingFixtures: false) }
    let fuzzer = CLIFuzzer(grammar: grammar, values: CLIFuzzValues(sandbox: sandbox))
    let clock = ContinuousClock()
    let start = clock.now
    var statuses: [String: Int] = [:]
    var commands: Set<String> = []
    var options: Set<String> = []
    var demos: [pid_t] = []
    var failures = 0
    for round in Self.first..<(Self.first + Self.rounds) {
      var generator = SeededGenerator(state: Self.seed ^ (UInt64(round) &* 0xD1B5_4A32_D192_ED03))
      try sandbox.prepare()
      let plan = fuzzer.round(round, using: &generator)
      // The other end for the FIFO commands, which wait for one by design.
      let peer: FIFOPeer? =
        switch plan.command?.name {
        case "fifo receive": FIFOPeer(path: sandbox.fifo, writing: true)
        case "fifo send": FIFOPeer(path: sandbox.fifo, writing: false)
        default: nil
        }
      // A server for `ipc socket send`, which otherwise fails at connect.
      let server =
        plan.command?.name == "socket send"
        ? SocketPeer(
          addresses: [sandbox.socketPath, sandbox.abstractName], kind: SocketPeer.kind(in: plan.words)) : nil
      let run = try SpawnedProcess(Self.ipc, plan.words, workingDirectory: sandbox.directory)
      let ended = run.wait(upTo: plan.limit)
      peer?.finish()
      server?.finish()
      if let command = plan.command {
        commands.insert(command.name)
        options.formUnion(plan.options.map { "\(command.name) \($0)" })
        if command.path.first == "demo" { demos.append(run.pid) }
      }
      let problem = plan.problem(with: run, ended: ended)
      if Self.verbose {
        let outcome =
          ended ? run.exitStatus.map { "exit \($0)" } ?? "signal \(run.terminatingSignal ?? 0)" : "stopped"
        print(
          "round \(round): \(plan.shown) -> \(outcome): \(run.standardError.prefix { $0 != "\n" }.prefix(160))"
        )
      }
      statuses[ended ? run.exitStatus.map { "exit \($0)" } ?? "signal" : "stopped", default: 0] += 1
      if let problem {
        failures += 1
        Issue.record(
          "round \(round) (IPC_FUZZ_SEED=\(String(Self.seed, radix: 16)) IPC_FUZZ_FIRST=\(round)): \(plan.shown): \(problem)"
        )
      }
      var made: [(CLIFuzzSandbox.SystemVKind, Int32)] = []
      if let command = plan.command, command.path.last == "create", run.exitStatus == 0,
        let kind = CLIFuzzValues.kind(of: command), let id = Int32(run.standardOutput.prefix { $0 != "\n" })
      {
        made.append((kind, id))
      }
      sandbox.sweep(keepingFixtures: true, creators: [run.pid], made: made)
      if failures >= 20 {
        Issue.record("stopped after 20 failing rounds")
        break
      }
    }
    let seconds = (clock.now - start).components.seconds
    print(
      "CLI fuzz: \(Self.rounds) rounds from seed \(String(Self.seed, radix: 16)) (first \(Self.first)) in"
        + " \(seconds) s: \(statuses.sorted { $0.key < $1.key }), \(failures) failing;"
        + " commands \(commands.count)/\(fuzzer.commands.count), options \(options.count)")

    // Every command and option was fuzzed (the first rounds walk them all).
    if Self.first == 0 && Self.rounds >= fuzzer.coverage.count {
      let missed = fuzzer.commands.map(\.name).filter { !commands.contains($0) }
      #expect(missed.isEmpty, "never fuzzed: \(missed)")
      let allOptions = fuzzer.commands.flatMap { command in
        command.options.map { "\(command.name) \($0.name)" }
      }
      let forbidden = CLIFuzzer.forbidden.flatMap { name, entry in entry.options.map { "\(name) \($0)" } }
      let unused = allOptions.filter { !options.contains($0) && !forbidden.contains($0) }
      #expect(unused.isEmpty, "options never given: \(unused)")
    }
    sandbox.sweep(keepingFixtures: false)
    #expect(sandbox.leftovers().isEmpty, "left behind: \(sandbox.leftovers())")
    // The demos remove what they make, also when stopped by SIGTERM.
    for pid in demos {
      for path in ["/dev/mqueue/ipc-demo-\(pid)", "/tmp/ipc-demo-\(pid).fifo"] where access(path, F_OK) == 0 {
        Issue.record("ipc demo (pid \(pid)) left \(path) behind")
        unlink(path)
      }
    }
  }
}
