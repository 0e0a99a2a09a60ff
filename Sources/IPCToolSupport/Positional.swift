/// A word a command takes by position, such as `TEXT` or `NAME`.
public struct Positional: Sendable {
  /// How the help and errors name it (`TEXT`).
  public var name: String
  /// What it is, for the help.
  public var help: String
  /// Whether the command runs without it.
  public var isOptional: Bool
  /// Whether it takes every remaining word (the last positional only).
  public var isRepeating: Bool

  /// Declares the positional `name`.
  public init(_ name: String, help: String, optional: Bool = false, repeating: Bool = false) {
    self.name = name
    self.help = help
    isOptional = optional
    isRepeating = repeating
  }
}
