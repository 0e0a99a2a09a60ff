/// A mistake in how a tool was called: one line, exit status 2, nothing done.
public struct UsageError: Error, Sendable, Equatable {
  /// What was wrong, naming the option or argument: `--type: expected ..., got 'x'`.
  public var message: String

  /// A usage error saying `message`.
  public init(_ message: String) { self.message = message }

  /// The one line a tool prints for this error in the command `path`
  /// (`ipc msg send`): the mistake and where to read the help.
  public func line(in path: String) -> String {
    "\(path): \(message) (see '\(path) --help')"
  }
}
