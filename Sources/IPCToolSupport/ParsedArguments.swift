/// What a ``CommandSpec`` parsed: every value already checked against its declaration.
public struct ParsedArguments: Sendable {
  /// The values by the option's long name; a given flag has an empty value.
  var values: [String: String]
  /// How the user spelled each given option (`--raw` for `--no-nul`), by its long name.
  var spellings: [String: String] = [:]
  /// The positional words, in order.
  public var positionals: [String]
  /// How many positional words came before `--`, if it was given: the rest came after it.
  var positionalsBeforeDoubleDash: Int? = nil

  /// Whether `flag` was given.
  public subscript(_ flag: Flag) -> Bool { values[flag.declaration.name] != nil }

  /// The value of `option`, or nil if it was not given.
  public subscript<Value>(_ option: Option<Value>) -> Value? {
    values[option.declaration.name].flatMap(option.convert)
  }

  /// Whether `option` was given.
  public func has(_ option: some DeclaredOption) -> Bool { values[option.declaration.name] != nil }
}
