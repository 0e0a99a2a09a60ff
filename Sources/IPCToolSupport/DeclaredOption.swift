/// Anything a command declares as an option: a ``Flag`` or an ``Option``.
public protocol DeclaredOption: Sendable {
  /// The option as the parser and the help see it.
  var declaration: OptionDeclaration { get }
}
