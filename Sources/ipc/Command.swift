import IPC
import IPCToolSupport

/// One `ipc` command: its grammar, declared once, and what it does.
struct Command: Sendable {
  var spec: CommandSpec
  /// Old spellings of its name that scripts may still use (`unlink` for `remove`).
  var aliases: [String] = []
  /// What this command's help says in place of its group's discussion
  /// (`create` takes a key where the others also take an id).
  var groupDiscussion: String? = nil
  var body: @Sendable (ParsedArguments) throws -> Void

  /// The last word of its path, such as `send`.
  var name: String { String(spec.path.split(separator: " ").last ?? "") }

  /// Prints the help for `--help`; otherwise parses `words` and runs the body,
  /// turning its errors into one line and an exit status.
  func run(_ words: [String]) -> Int32 {
    if CommandSpec.wantsHelp(words) {
      Output.line(spec.help)
      return ExitStatus.success
    }
    return reportingErrors(path: spec.path) { () throws in
      let parsed: ParsedArguments
      do { parsed = try spec.parse(words) } catch { throw error }
      try body(parsed)
    }
  }
}

extension Command {
  /// Declares a command in one call: the arguments of its `CommandSpec`, then its old spellings and body.
  init(
    _ path: String, abstract: String, options: [any DeclaredOption] = [], positionals: [Positional] = [],
    exclusive: [[any DeclaredOption]] = [], discussion: String = "", aliases: [String] = [],
    groupDiscussion: String? = nil, body: @escaping @Sendable (ParsedArguments) throws -> Void
  ) {
    let spec = CommandSpec(
      path, abstract: abstract, options: options, positionals: positionals, exclusive: exclusive,
      discussion: discussion)
    self.init(spec: spec, aliases: aliases, groupDiscussion: groupDiscussion, body: body)
  }
}

/// A group of commands such as `ipc msg`: the first word picks the command.
struct CommandGroup: Sendable {
  var path: String
  var abstract: String
  var discussion: String
  var commands: [Command]

  /// Declares a group: every command's help ends with the group's
  /// `discussion`, after the command's own paragraph where it has one.
  init(path: String, abstract: String, discussion: String, commands: [Command]) {
    self.path = path
    self.abstract = abstract
    self.discussion = discussion
    self.commands = commands.map { command in
      var command = command
      let own = command.spec.discussion
      let group = command.groupDiscussion ?? discussion
      command.spec.discussion = own.isEmpty ? group : own + "\n\n" + group
      return command
    }
  }

  /// The help: every command's usage line and abstract, made from their declarations.
  var help: String {
    var lines = ["usage: \(path) <subcommand> [options]", ""]
    lines += HelpText.wrap(abstract, indent: 2)
    lines += ["", "subcommands:"]
    lines += HelpText.table(
      commands.map { command in
        let aliases =
          command.aliases.isEmpty ? "" : " (also spelled \(command.aliases.joined(separator: ", ")))"
        return (command.name, command.spec.abstract + aliases)
      })
    if !discussion.isEmpty { lines += [""] + HelpText.wrap(discussion, indent: 0) }
    lines += ["", "Run '\(path) <subcommand> --help' for its options."]
    return lines.joined(separator: "\n")
  }

  func run(_ words: [String]) -> Int32 {
    guard let first = words.first, !first.hasPrefix("-") else {
      if CommandSpec.wantsHelp(words) {
        Output.line(help)
        return ExitStatus.success
      }
      let problem = words.first.map { "unknown option \(UsageError.shown($0))" } ?? "missing subcommand"
      Output.error(UsageError(problem).line(in: path))
      return ExitStatus.usage
    }
    guard let command = commands.first(where: { $0.name == first || $0.aliases.contains(first) }) else {
      Output.error(UsageError("unknown subcommand '\(UsageError.shown(first))'").line(in: path))
      return ExitStatus.usage
    }
    return command.run(Array(words.dropFirst()))
  }
}

/// Runs `body`, printing any error as one line that starts with `path`:
/// exit status 2 for a usage error, 1 for any other.
func reportingErrors(path: String, _ body: () throws -> Void) -> Int32 {
  do {
    try body()
    return ExitStatus.success
  } catch let error as UsageError {
    Output.error(error.line(in: path))
    return ExitStatus.usage
  } catch let error as IPCError {
    // Names as typed can hold control characters: shown escaped, the line stays
    // one line; a huge argument quoted back is shortened.
    Output.error("\(path): \(UsageError.shortened(UsageError.shown(ErrorText.describe(error))))")
    return ExitStatus.failure
  } catch let error as CommandFailure {
    Output.error("\(path): \(UsageError.shortened(UsageError.shown(error.message)))")
    return ExitStatus.failure
  } catch {
    Output.error("\(path): \(UsageError.shortened(UsageError.shown("\(error)")))")
    return ExitStatus.failure
  }
}
