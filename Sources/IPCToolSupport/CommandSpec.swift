/// A command's grammar, declared once: its options and positional words with
/// their help. Parsing and the help are both made from it, so they agree.
public struct CommandSpec: Sendable {
  /// The command as typed, such as `ipc msg send`: the prefix of its errors.
  public var path: String
  /// One line on what it does, for the help and for its group's list.
  public var abstract: String
  /// Paragraphs after the option list (exit status, formats, examples).
  public var discussion: String
  /// The options, in the order the help lists them.
  public var options: [OptionDeclaration]
  /// The positional words, in order.
  public var positionals: [Positional]
  /// Sets of options of which at most one may be given.
  public var exclusive: [[String]]

  /// Declares a command; `exclusive` lists options of which at most one may be given.
  public init(
    _ path: String, abstract: String, options: [any DeclaredOption] = [], positionals: [Positional] = [],
    exclusive: [[any DeclaredOption]] = [], discussion: String = ""
  ) {
    self.path = path
    self.abstract = abstract
    self.options = options.map(\.declaration)
    self.positionals = positionals
    self.exclusive = exclusive.map { $0.map(\.declaration.name) }
    self.discussion = discussion
  }

  /// Whether `words` ask for the help (`--help` or `-h` before any `--`).
  public static func wantsHelp(_ words: [String]) -> Bool {
    for word in words {
      if word == "--" { return false }
      if word == "--help" || word == "-h" { return true }
    }
    return false
  }

  /// Parses `words` (the words after the command's path); a usage error names
  /// the first unknown, repeated, missing or malformed option or argument.
  public func parse(_ words: [String]) throws(UsageError) -> ParsedArguments {
    var byName: [String: OptionDeclaration] = [:]
    for option in options { for name in option.allNames { byName[name] = option } }
    var parsed = ParsedArguments(values: [:], positionals: [])
    var index = 0
    var literal = false

    func take(_ option: OptionDeclaration, spelled: String, inline: String?) throws(UsageError) {
      // A flag given again changes nothing (ipc list -qq); a value given twice is ambiguous.
      if option.isFlag, inline == nil, parsed.values[option.name] != nil { return }
      guard parsed.values[option.name] == nil else {
        throw UsageError("\(UsageError.shown(spelled)): given more than once")
      }
      if option.isFlag {
        if let inline {
          throw UsageError("\(UsageError.shown(spelled)): takes no value, got '\(UsageError.shown(inline))'")
        }
        parsed.values[option.name] = ""
        parsed.spellings[option.name] = spelled
        return
      }
      let value: String
      if let inline {
        value = inline
      } else if index < words.count, !isOptionName(words[index], byName) {
        value = words[index]
        index += 1
      } else {
        throw UsageError("\(spelled): missing value (expected \(option.expectation))")
      }
      guard option.accepts(value) else {
        throw UsageError("\(spelled): expected \(option.expectation), got '\(UsageError.shown(value))'")
      }
      parsed.values[option.name] = value
      parsed.spellings[option.name] = spelled
    }

    while index < words.count {
      let word = words[index]
      index += 1
      if literal || !word.hasPrefix("-") || word == "-" || Int(word) != nil {
        // A negative number (a semaphore delta, -1) is a word, never an option.
        parsed.positionals.append(word)
      } else if word == "--" {
        literal = true
        parsed.positionalsBeforeDoubleDash = parsed.positionals.count
      } else if word.hasPrefix("--") {
        let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard let option = byName[name] else { throw Self.unknown(name, in: word) }
        try take(option, spelled: name, inline: parts.count > 1 ? String(parts[1]) : nil)
      } else {
        // One-letter names, combinable as ipcs takes them: -qs is -q -s; -tVALUE is -t VALUE.
        var letters = Substring(word.dropFirst())
        while let letter = letters.popFirst() {
          let name = "-\(letter)"
          guard let option = byName[name] else {
            throw Self.unknown(name, in: word)
          }
          if option.isFlag {
            try take(option, spelled: name, inline: nil)
          } else {
            try take(option, spelled: name, inline: letters.isEmpty ? nil : String(letters))
            break
          }
        }
      }
    }
    try check(parsed)
    return parsed
  }

  /// An unknown option `name` in `word`: often a word meant as an argument (-1:1, -hello).
  private static func unknown(_ name: String, in word: String) -> UsageError {
    UsageError(
      "unknown option \(UsageError.shown(name))" + (name == word ? "" : " in \(UsageError.shown(word))")
        + " (a word starting with '-' goes after --)")
  }

  private func isOptionName(_ word: String, _ byName: [String: OptionDeclaration]) -> Bool {
    word == "--" || byName[String(word.split(separator: "=", maxSplits: 1).first ?? "")] != nil
  }

  /// Required options, exclusive sets and the number of positional words.
  private func check(_ parsed: ParsedArguments) throws(UsageError) {
    for option in options where option.isRequired && parsed.values[option.name] == nil {
      throw UsageError("missing \(option.usage) (\(option.expectation))")
    }
    for option in options where option.requiredUnless != nil && parsed.values[option.name] == nil {
      if let flag = option.requiredUnless, parsed.values[flag] == nil {
        throw UsageError("missing \(option.usage) (\(option.expectation); required unless \(flag) is given)")
      }
    }
    for set in exclusive {
      let given = set.filter { parsed.values[$0] != nil }
      // Named as typed: --raw, not the --no-nul it stands for.
      let typed = given.map { UsageError.shown(parsed.spellings[$0] ?? $0) }
      if typed.count > 1 { throw UsageError("\(typed[0]) and \(typed[1]) exclude each other") }
    }
    let needed = positionals.filter { !$0.isOptional }
    let allowed = positionals.last?.isRepeating == true ? Int.max : positionals.count
    if parsed.positionals.count < needed.count {
      throw UsageError("missing \(needed[parsed.positionals.count].name)")
    }
    if parsed.positionals.count > allowed {
      let extra = parsed.positionals[allowed]
      // A word after `--` was meant as an argument: never advise to put it after `--`.
      let afterDoubleDash = parsed.positionalsBeforeDoubleDash.map { allowed >= $0 } ?? false
      throw UsageError(
        extra.hasPrefix("-") && Int(extra) == nil && !afterDoubleDash
          ? Self.unknown(extra, in: extra).message : "unexpected argument '\(UsageError.shown(extra))'")
    }
  }

  /// The usage line: required options, `[options]`, the positional words.
  public var usageLine: String {
    var parts = ["usage:", path]
    for option in options where option.isRequired { parts.append(option.usage) }
    // `{--size N | --open-existing}`: one of them is needed.
    for option in options {
      if let flag = option.requiredUnless { parts.append("{\(option.usage) | \(flag)}") }
    }
    if options.contains(where: { !$0.isRequired && $0.requiredUnless == nil }) { parts.append("[options]") }
    for positional in positionals {
      let name = positional.name + (positional.isRepeating ? "..." : "")
      parts.append(positional.isOptional ? "[\(name)]" : name)
    }
    return parts.joined(separator: " ")
  }

  /// The whole help, made from the declarations.
  public var help: String {
    var lines = [usageLine, ""]
    lines += HelpText.wrap(abstract, indent: 2)
    if !positionals.isEmpty {
      lines += ["", "arguments:"]
      lines += HelpText.table(positionals.map { ($0.name, $0.help) })
    }
    lines += ["", "options:"]
    let described = options.map { option in
      let notes =
        (option.isRequired ? " (required)" : "")
        + (option.requiredUnless.map { " (required unless \($0) is given)" } ?? "")
        + (option.aliases.isEmpty ? "" : " (also spelled \(option.aliases.joined(separator: ", ")))")
      return (option.signature, option.help + notes)
    }
    lines += HelpText.table(described + [("-h, --help", "show this help")])
    if !discussion.isEmpty {
      lines.append("")
      for paragraph in discussion.split(separator: "\n\n", omittingEmptySubsequences: false) {
        lines += HelpText.wrap(String(paragraph), indent: 0)
      }
    }
    return lines.joined(separator: "\n")
  }
}
