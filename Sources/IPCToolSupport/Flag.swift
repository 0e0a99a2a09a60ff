/// An option without a value, such as `--nowait`: given or not.
public struct Flag: DeclaredOption {
  /// The option as the parser and the help see it.
  public var declaration: OptionDeclaration

  /// Declares the flag `name` (`--raw`), with a one-letter `short` name
  /// (`-q`) and old spellings (`aliases`) if any, and its help.
  public init(_ name: String, short: String? = nil, aliases: [String] = [], help: String) {
    declaration = OptionDeclaration(
      name: name, shortName: short, aliases: aliases, valueName: nil, help: help, isRequired: false,
      expectation: "no value", accepts: { _ in false })
  }
}
