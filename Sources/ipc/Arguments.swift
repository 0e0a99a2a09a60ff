/// Hand-parsed command-line arguments: options are taken out by name, and
/// whatever is left must be the expected positional words.
struct Arguments {
  private(set) var words: [String]
  /// Words after a bare `--`: always positional, even if they start with `-`.
  private var literal: [String] = []

  init(_ words: some Sequence<String>) {
    var all = Array(words)
    if let dashes = all.firstIndex(of: "--") {
      literal = Array(all[(dashes + 1)...])
      all = Array(all[..<dashes])
    }
    self.words = all
  }

  /// Whether `--help` or `-h` was given.
  var wantsHelp: Bool { words.contains("--help") || words.contains("-h") }

  /// Takes the first word if it is a subcommand name (not an option).
  mutating func subcommand() -> String? {
    guard let first = words.first, !first.hasPrefix("-") else { return nil }
    words.removeFirst()
    return first
  }

  /// Takes `name` if present.
  mutating func flag(_ name: String) -> Bool {
    guard let index = words.firstIndex(of: name) else { return false }
    words.remove(at: index)
    return true
  }

  /// Takes `name VALUE` or `name=VALUE` if present.
  mutating func option(_ name: String) throws(UsageError) -> String? {
    if let index = words.firstIndex(where: { $0.hasPrefix(name + "=") }) {
      let value = String(words[index].dropFirst(name.count + 1))
      words.remove(at: index)
      return value
    }
    guard let index = words.firstIndex(of: name) else { return nil }
    guard index + 1 < words.count else { throw UsageError("\(name) needs a value") }
    let value = words[index + 1]
    words.removeSubrange(index...(index + 1))
    return value
  }

  /// Takes `name N` as an integer if present.
  mutating func integer(_ name: String) throws(UsageError) -> Int? {
    guard let text = try option(name) else { return nil }
    guard let value = Int(text) else { throw UsageError("\(name) needs a whole number, not '\(text)'") }
    return value
  }

  /// The longest duration accepted on the command line: about 31 years.
  static let maxSeconds = 1e9

  /// Takes `name SECONDS` (decimal allowed) as a `Duration` if present.
  mutating func seconds(_ name: String) throws(UsageError) -> Duration? {
    guard let text = try option(name) else { return nil }
    // A bound keeps the conversion to nanoseconds from overflowing.
    guard let value = Double(text), value >= 0, value <= Self.maxSeconds else {
      throw UsageError("\(name) needs a number of seconds from 0 to \(Int(Self.maxSeconds)), not '\(text)'")
    }
    return .nanoseconds(Int64(value * 1e9))
  }

  /// Takes `--nowait` or `--timeout SECONDS` (not both): how long a send or
  /// receive may wait.
  mutating func wait() throws(UsageError) -> Wait {
    let nowait = flag("--nowait")
    let timeout = try seconds("--timeout")
    switch (nowait, timeout) {
    case (true, nil): return .no
    case (false, let timeout?): return .upTo(timeout)
    case (false, nil): return .asLongAsNeeded
    case (true, _?): throw UsageError("--nowait and --timeout exclude each other")
    }
  }

  /// Returns the remaining words, which must number between `min` and `max`
  /// and must not be unknown options.
  mutating func positionals(min: Int, max: Int, names: String) throws(UsageError) -> [String] {
    // A negative number (a semaphore value, -1) is a word, never an option.
    if let unknown = words.first(where: { $0.hasPrefix("-") && $0.count > 1 && Int($0) == nil }) {
      throw UsageError("unknown option \(unknown)")
    }
    let all = words + literal
    words = []
    literal = []
    guard all.count >= min else { throw UsageError("missing \(names)") }
    guard all.count <= max else {
      throw UsageError("unexpected argument '\(all[Swift.min(max, all.count - 1)])'")
    }
    return all
  }

  /// Fails if anything is left over.
  mutating func finish() throws(UsageError) {
    _ = try positionals(min: 0, max: 0, names: "")
  }
}

/// How long a send or receive may wait, from `--nowait` and `--timeout`.
enum Wait {
  /// Neither option: block until it can be done.
  case asLongAsNeeded
  /// `--nowait`: only if it can be done now.
  case no
  /// `--timeout SECONDS`.
  case upTo(Duration)
}

/// A mistake in how the command was called: reported with usage, exit status 2.
struct UsageError: Error {
  var message: String
  init(_ message: String) { self.message = message }
}
