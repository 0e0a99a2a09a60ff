import Foundation
import IPCToolSupport

/// The fuzz test's generator: a round can be replayed from its seed.
typealias SeededGenerator = SplitMix64

/// One run of `ipc` the fuzz makes, and how long it may take.
struct CLIFuzzRound {
  /// The arguments after `ipc`.
  var words: [String]
  /// The command they call, nil for a group or no command at all.
  var command: CLIGrammar.Command?
  /// How long the run may take before it is stopped.
  var limit: Duration
  /// Whether being stopped at `limit` is what the command is for (it waits
  /// for something, or runs as long as asked); otherwise it is a failure.
  var mayWait: Bool
  /// The long names of the options given (for the coverage count).
  var options: [String] = []

  /// The words as a failure message shows them: long ones abbreviated, control characters escaped.
  var shown: String {
    let shortened = words.map { word in
      word.count > 80 ? "\(word.prefix(30))…<\(word.utf8.count) bytes>" : word
    }
    return "ipc " + shortened.map { "'\($0.debugDescription.dropFirst().dropLast())'" }.joined(separator: " ")
  }
}

extension CLIFuzzRound {
  /// The longest line a command may print on standard error: a message is
  /// shortened to `UsageError.longestMessage` characters, plus the command's
  /// path and the pointer to its help.
  static let longestErrorLine = UsageError.longestMessage + 200

  /// What is wrong with a finished (or stopped) run, nil if nothing.
  func problem(with run: SpawnedProcess, ended: Bool) -> String? {
    guard ended else {
      return mayWait
        ? nil
        : "did not end within \(limit) (a command whose job is to run long belongs in CLIFuzzer.slow,"
          + " .waitsByDesign or .excluded with its reason)"
    }
    let error = run.standardError
    let excerpt = String(error.prefix(300))
    if let signal = run.terminatingSignal { return "killed by signal \(signal): \(excerpt)" }
    guard let status = run.exitStatus, [0, 1, 2].contains(status) else {
      return "exit status \(String(describing: run.exitStatus)): \(excerpt)"
    }
    let lines = error.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    if status == 2 && (lines.count != 1 || !error.hasSuffix("\n")) {
      return "a usage error in \(lines.count) lines: \(excerpt)"
    }
    if status != 0 && error.isEmpty { return "exit status \(status) and nothing on standard error" }
    if let long = lines.first(where: { $0.count > Self.longestErrorLine }) {
      return "a line of \(long.count) characters on standard error: \(long.prefix(200))…"
    }
    return nil
  }
}

/// Makes fuzz rounds for every command of the grammar: its own options and
/// positional words with values from ``CLIFuzzValues``, then mutations
/// (repeated options, `--opt=value`, odd words, missing values).
///
/// Commands are classified by the tables below, each entry with its reason; a
/// command in none of them must end within ``strictLimit`` or the round fails.
/// So a new command whose normal job is to run long fails the fuzz until it
/// is listed here, and one that waits is bounded by `--nowait`/`--timeout`.
struct CLIFuzzer {
  let grammar: CLIGrammar
  let values: CLIFuzzValues

  /// Commands not fuzzed at all.
  static let excluded: [String: String] = [
    "stress":
      "runs producers and consumers for a long time by design, kills its own children and makes objects"
      + " under names the sandbox does not control; its own suite runs it short",
    "help": "prints the help only",
  ]

  /// Options never given to a command: they would act outside the sandbox.
  static let forbidden: [String: (options: Set<String>, reason: String)] = [
    "clean": (
      ["--yes", "-y", "--all-users"],
      "removes every stale object of this user (or all users), including those of tests running alongside;"
        + " without them it only lists"
    )
  ]

  /// Commands whose normal job is to wait with no option to bound it: being
  /// stopped at ``waitLimit`` is not a failure.
  static let waitsByDesign: [String: String] = [
    "fifo receive": "reads until every writer has closed the FIFO; it has no --timeout",
    "fifo send": "waits in open(2) for a reader unless --nowait is given",
  ]

  /// Commands that run for a while by default: words that keep a run short
  /// are given first (unless the round gives those options itself), and the
  /// run may take up to the limit (then it is stopped, not failed).
  static let slow: [String: (words: [String], limit: Duration, reason: String)] = [
    "demo": (
      ["--count", "2", "--interval", "0"], .seconds(5),
      "three processes send 20 messages 0.05 s apart by default; a fuzzed --count or --interval may"
        + " ask for hours"
    ),
    "demo signals": (
      ["--workers", "1", "--jobs", "2"], .seconds(5),
      "starts 3 workers for 10 jobs by default; fuzzed counts may ask for 32 workers and 10,000 jobs"
    ),
    "demo bounded-buffer": (
      ["--items", "3", "--producers", "1", "--consumers", "1"], .seconds(5),
      "starts 3 producers and 2 consumers moving 3000 items by default; fuzzed counts may ask for 200 processes"
    ),
  ]

  /// How long a command that may wait runs before it is stopped (not a failure).
  static let waitLimit: Duration = .seconds(1)
  /// How long any other command may take: they end in milliseconds, so
  /// reaching this is a hang (or a new long-running command to list above).
  static let strictLimit: Duration = .seconds(10)

  /// The commands fuzzed: the grammar's, less the excluded.
  var commands: [CLIGrammar.Command] {
    grammar.commands.filter { Self.excluded[$0.path[0]] == nil && Self.excluded[$0.name] == nil }
  }

  /// Every command once with each of its options (and once as it comes):
  /// the first rounds walk this list, so each is fuzzed whatever the seed.
  var coverage: [(command: CLIGrammar.Command, option: CLIGrammar.Option?)] {
    commands.flatMap { command in
      [(command, nil)]
        + command.options.filter { option in
          (Self.forbidden[command.name]?.options ?? []).isDisjoint(with: option.names)
        }.map { (command, $0) }
    }
  }

  /// Round `number`: one of ``coverage`` while they last, then any command, a group, or none.
  func round(_ number: Int, using generator: inout some RandomNumberGenerator) -> CLIFuzzRound {
    let coverage = coverage
    if number >= 0 && number < coverage.count {
      return round(of: coverage[number].command, with: coverage[number].option, using: &generator)
    }
    func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < probability }
    let roll = Double.random(in: 0..<1, using: &generator)
    if roll < 0.02 {
      // No command, or a word that is none.
      let words = [[], ["nosuch"], ["--bogus"], ["-h"], ["help"], [""], ["msg\u{1b}"], ["--"]]
      return CLIFuzzRound(
        words: words.randomElement(using: &generator) ?? [], command: nil, limit: Self.strictLimit,
        mayWait: false)
    }
    if roll < 0.06, let group = grammar.groups.randomElement(using: &generator) {
      let tail =
        chance(0.5)
        ? [] : [(CLIFuzzValues.odd + ["nosuch", "remov", "--help"]).randomElement(using: &generator) ?? ""]
      return CLIFuzzRound(words: group + tail, command: nil, limit: Self.strictLimit, mayWait: false)
    }
    guard let command = commands.randomElement(using: &generator) else {
      return CLIFuzzRound(words: [], command: nil, limit: Self.strictLimit, mayWait: false)
    }
    return round(of: command, using: &generator)
  }

  /// A round of `command`, given `option` for sure if there is one.
  func round(
    of command: CLIGrammar.Command, with option: CLIGrammar.Option? = nil,
    using generator: inout some RandomNumberGenerator
  ) -> CLIFuzzRound {
    let forced = option
    func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < probability }
    // Half the rounds tame: values the command likely accepts and no mutations, to reach the kernel.
    let tame = chance(0.5)
    func value(_ placeholder: String) -> String {
      values.value(for: placeholder, in: command, tame: tame, using: &generator)
    }
    let forbidden = Self.forbidden[command.name]?.options ?? []
    let options = command.options.filter { forbidden.isDisjoint(with: $0.names) }

    // Each unit keeps an option and its value together, so mutations never split them.
    var units: [[String]] = []
    var given: [(option: CLIGrammar.Option, value: String?)] = []
    func spell(_ option: CLIGrammar.Option, _ value: String?) -> [String] {
      let name = option.names.randomElement(using: &generator) ?? option.name
      given.append((option, value))
      guard let value else {
        // A flag with a value is a usage error.
        return [
          chance(0.03) ? name + "=" + (CLIFuzzValues.numbers.randomElement(using: &generator) ?? "") : name
        ]
      }
      // One word if it fits in argv's 128 KiB per string.
      if chance(0.25) && name.utf8.count + 1 + value.utf8.count <= CLIFuzzValues.longest {
        return [name.hasPrefix("--") ? name + "=" + value : name + value]
      }
      return [name, value]
    }

    // Object names: usually exactly one way of naming a System V object.
    var named: Set<String> = []
    let naming = options.filter { ["K", "I", "P"].contains($0.placeholder ?? "") }
    let namer = forced.flatMap { naming.contains($0) ? $0 : nil } ?? naming.randomElement(using: &generator)
    if let option = namer, forced == option || chance(tame ? 1 : 0.8) {
      named.insert(option.name)
      units.append(spell(option, value(option.placeholder ?? "")))
      if option.placeholder == "P", let project = command.option("--project"), chance(0.9) {
        named.insert(project.name)
        units.append(
          spell(
            project,
            chance(0.7) ? ["1", "7", "255", "65"].randomElement(using: &generator) ?? "1" : value("N")))
      }
    }
    for option in options where !named.contains(option.name) {
      let isNaming = naming.contains(option)
      guard option == forced || chance(isNaming ? (tame ? 0 : 0.05) : (tame ? 0.2 : 0.3)) else { continue }
      units.append(spell(option, option.placeholder.map { value($0) }))
    }

    // Positional words in their order, at random places among the options.
    var positionals: [String] = []
    for positional in command.positionals {
      guard chance(positional.isOptional ? 0.6 : (tame ? 1 : 0.93)) else { continue }
      let count = positional.isRepeating ? Int.random(in: 1...3, using: &generator) : 1
      for _ in 0..<count { positionals.append(value(positional.name)) }
    }
    var literal = false
    if positionals.contains(where: { $0.hasPrefix("-") }) && chance(0.5) || chance(0.03) {
      // After `--` every word is a positional one (the way to pass "-x" as TEXT).
      literal = true
    }

    // Mutations (not in a tame round).
    if !tame && !units.isEmpty && chance(0.08), let unit = units.randomElement(using: &generator) {
      units.append(unit)
    }
    if !tame && chance(0.12) {
      units.insert(
        [CLIFuzzValues.odd.randomElement(using: &generator) ?? ""],
        at: Int.random(in: 0...units.count, using: &generator))
    }
    var missing: [String] = []
    if !tame && chance(0.04),
      let option = options.filter({ $0.placeholder != nil }).randomElement(using: &generator)
    {
      // A value missing: at the very end, where no later word can become its value.
      given.append((option, nil))
      missing = [option.names.randomElement(using: &generator) ?? option.name]
    }
    units.shuffle(using: &generator)

    // Bounds first, so neither `--` nor a missing value can swallow them.
    var prefix: [String] = []
    if let slow = Self.slow[command.name] {
      var index = 0
      while index + 1 < slow.words.count {
        let name = slow.words[index]
        if !given.contains(where: { $0.option.names.contains(name) }) {
          prefix += [name, slow.words[index + 1]]
        }
        index += 2
      }
    }
    let nowait = options.first { $0.name == "--nowait" }
    let timeout = options.first { $0.name == "--timeout" }
    let bounded = given.contains { item in
      item.option.name == "--nowait" || (item.option.name == "--timeout" && Self.seconds(item.value) <= 0.5)
    }
    if !bounded && (nowait != nil || timeout != nil) && chance(0.95) {
      if let timeout, nowait == nil || chance(0.5) {
        let short = ["0.1", "0", "0.05", "1e-9"].randomElement(using: &generator) ?? "0"
        prefix += chance(0.2) ? ["\(timeout.name)=\(short)"] : [timeout.name, short]
        given.append((timeout, short))
      } else if let nowait {
        prefix.append(nowait.name)
        given.append((nowait, nil))
      }
    }

    var words = command.path
    if let alias = command.aliases.randomElement(using: &generator), chance(0.3) {
      // The old spelling of the command (`unlink` for `remove`).
      words[words.count - 1] = alias
    }
    words += prefix
    if literal {
      units += [["--"]] + positionals.map { [$0] }
    } else {
      // In order, each anywhere after the one before.
      var place = 0
      for positional in positionals {
        place = Int.random(in: place...units.count, using: &generator)
        units.insert([positional], at: place)
        place += 1
      }
    }
    words += units.flatMap { $0 } + missing

    let waits =
      (nowait != nil || timeout != nil)
      && !given.contains { item in
        item.option.name == "--nowait" || (item.option.name == "--timeout" && Self.seconds(item.value) <= 0.5)
      }
    let long = given.contains { $0.option.placeholder == "SECONDS" && Self.seconds($0.value) > 0.5 }
    let slow = Self.slow[command.name]
    let mayWait = Self.waitsByDesign[command.name] != nil || slow != nil || waits || long
    return CLIFuzzRound(
      words: words, command: command,
      limit: slow?.limit ?? (mayWait ? Self.waitLimit : Self.strictLimit), mayWait: mayWait,
      options: given.map(\.option.name))
  }

  /// The seconds a value asks for, as the CLI reads it (0 if it does not parse: the run then fails at once).
  static func seconds(_ value: String?) -> Double {
    guard let value, let seconds = Double(value), seconds.isFinite else { return 0 }
    return seconds
  }
}
