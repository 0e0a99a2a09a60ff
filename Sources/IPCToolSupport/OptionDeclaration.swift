/// One option as the parser and the generated help see it, whatever the type
/// of its value: its names, its help, and how a value is checked.
public struct OptionDeclaration: Sendable {
  /// The long name, such as `--type`: the key the parsed value is kept under.
  public var name: String
  /// A one-letter name, such as `-q`, if any.
  public var shortName: String?
  /// Other spellings accepted for the same option (old names kept for scripts).
  public var aliases: [String]
  /// The placeholder of the value in the help (`N`, `SECONDS`); nil for a flag.
  public var valueName: String?
  /// What the option does, for the help.
  public var help: String
  /// Whether the command cannot run without it.
  public var isRequired: Bool
  /// The flag that makes it unneeded (`--open-existing` for `--size`), if any:
  /// without that flag the command cannot run without it.
  public var requiredUnless: String? = nil
  /// What a value must be, for the error on a bad one ("a message type from 1 to 9").
  public var expectation: String
  /// Whether `value` is acceptable: the same conversion the command reads it with.
  let accepts: @Sendable (String) -> Bool

  /// Whether this is a flag (an option without a value).
  public var isFlag: Bool { valueName == nil }

  /// Every name the option is recognised by.
  var allNames: [String] { [name] + aliases + (shortName.map { [$0] } ?? []) }

  /// `--size N`: the option as a usage line shows it.
  var usage: String { ([name] + (valueName.map { [$0] } ?? [])).joined(separator: " ") }

  /// `-q, --sysv-queues` or `--type N`: how the help names the option.
  var signature: String {
    let names = (shortName.map { ["\($0),"] } ?? []) + [name]
    return (names + (valueName.map { [$0] } ?? [])).joined(separator: " ")
  }
}
