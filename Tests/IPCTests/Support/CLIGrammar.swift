import Foundation

/// The grammar of the `ipc` command as its own help describes it: every
/// command path (`msg send`, `demo bounded-buffer`), its options with their
/// spellings and value placeholders, and its positional words. Read from
/// `ipc --help`, `ipc CMD --help` and `ipc CMD SUB --help`, so a command or
/// option added to the CLI is known here (and fuzzed) without editing a test.
///
/// The help is made by `CommandSpec.help` and `CommandGroup.help`
/// (Sources/IPCToolSupport/HelpText.swift lays out its tables): a section
/// header (`commands:`, `subcommands:`, `arguments:`, `options:`) is followed
/// by rows that start with two spaces and the name, continuation lines
/// indented further, and a blank line after the last row.
struct CLIGrammar {
  /// One option as the help lists it.
  struct Option: Equatable {
    /// Its spellings: the long name first as the help gives it, then a short
    /// name and the aliases from "(also spelled ...)".
    var names: [String]
    /// The value's placeholder (`N`, `SECONDS`, `K`), nil for a flag.
    var placeholder: String?
    /// The long name, such as `--type`.
    var name: String { names.first(where: { $0.hasPrefix("--") }) ?? names[0] }
  }

  /// One positional word as the help lists it.
  struct Positional: Equatable {
    var name: String
    var isOptional: Bool
    var isRepeating: Bool
  }

  /// A command that runs (not a group): `["msg", "send"]`.
  struct Command {
    var path: [String]
    /// Other spellings of its last word (`unlink` for `remove`).
    var aliases: [String]
    var options: [Option]
    var positionals: [Positional]

    /// The path as one string, `msg send`.
    var name: String { path.joined(separator: " ") }

    func option(_ name: String) -> Option? { options.first { $0.names.contains(name) } }
  }

  /// Every runnable command, in the order the help lists them.
  var commands: [Command]
  /// The command groups (`msg`, `sem`), for rounds that stop at a group.
  var groups: [[String]]

  func command(_ name: String) -> Command? { commands.first { $0.name == name } }

  /// Reads the grammar from the help that `help(words)` returns for `ipc WORDS`.
  static func derive(help: ([String]) throws -> String) throws -> CLIGrammar {
    var grammar = CLIGrammar(commands: [], groups: [])
    let top = try help(["--help"])
    for row in table("commands:", in: top) {
      try grammar.explore([row.name], aliases: [], help: help)
    }
    return grammar
  }

  /// Reads the grammar with the `ipc` built with the tests.
  static func derive(ipc: String) throws -> CLIGrammar {
    try derive { words in
      let run = try SpawnedProcess.run(ipc, words, timeout: .seconds(30))
      guard run.exitStatus == 0 else {
        throw SpawnFailure(message: "ipc \(words) exited with \(String(describing: run.exitStatus))")
      }
      return run.standardOutput
    }
  }

  private mutating func explore(_ path: [String], aliases: [String], help: ([String]) throws -> String)
    throws
  {
    let text = try help(path + ["--help"])
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let usage = "usage: ipc " + path.joined(separator: " ")
    guard let first = lines.first, first.hasPrefix(usage) else {
      throw SpawnFailure(message: "ipc \(path) --help does not start with '\(usage)': \(first(of: text))")
    }
    if first.hasPrefix(usage + " <subcommand>") {
      groups.append(path)
      for row in Self.table("subcommands:", in: text) {
        try explore(path + [row.name], aliases: Self.alsoSpelled(row.text), help: help)
      }
      return
    }
    let options = Self.table("options:", in: text).compactMap { row -> Option? in
      let parts = row.name.split(separator: " ").map(String.init)
      let names = parts.filter { $0.hasPrefix("-") }.map { $0.hasSuffix(",") ? String($0.dropLast()) : $0 }
      guard !names.contains("--help") else { return nil }
      let placeholder = parts.last.flatMap { $0.hasPrefix("-") ? nil : $0 }
      return Option(names: names + Self.alsoSpelled(row.text), placeholder: placeholder)
    }
    let usageWords = first.split(separator: " ").map(String.init)
    let positionals = Self.table("arguments:", in: text).map { row in
      Positional(
        name: row.name,
        isOptional: usageWords.contains { $0.hasPrefix("[\(row.name)") },
        isRepeating: usageWords.contains { $0.contains("\(row.name)...") })
    }
    commands.append(Command(path: path, aliases: aliases, options: options, positionals: positionals))
    // A command whose help names a further command in a usage line of its own
    // (`ipc demo` names `ipc demo bounded-buffer`).
    for line in lines.dropFirst() where line.hasPrefix(usage + " ") {
      let word = line.dropFirst(usage.count + 1).prefix { $0 != " " }
      if let letter = word.first, letter.isLowercase,
        !commands.contains(where: { $0.path == path + [String(word)] })
      {
        try explore(path + [String(word)], aliases: [], help: help)
      }
    }
  }

  private func first(of text: String) -> String { String(text.prefix(200)) }

  /// The rows of the table after the line `header`: each row's name (what
  /// precedes the first run of two spaces) and its whole text, continuation
  /// lines joined.
  static func table(_ header: String, in text: String) -> [(name: String, text: String)] {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let start = lines.firstIndex(where: { $0 == header }) else { return [] }
    var rows: [(name: String, text: String)] = []
    for line in lines[(start + 1)...] {
      if line.isEmpty { break }
      let body = line.drop { $0 == " " }
      if line.hasPrefix("  ") && !line.hasPrefix("   ") {
        let name = body.components(separatedBy: "  ").first ?? String(body)
        rows.append((name, body.dropFirst(name.count).trimmingCharacters(in: .whitespaces)))
      } else if !rows.isEmpty {
        rows[rows.count - 1].text += " " + body
      }
    }
    return rows
  }

  /// The spellings in "(also spelled a, b)" within `text`.
  static func alsoSpelled(_ text: String) -> [String] {
    guard let start = text.range(of: "(also spelled ") else { return [] }
    let rest = text[start.upperBound...].prefix { $0 != ")" }
    return rest.components(separatedBy: ", ").map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
  }
}
