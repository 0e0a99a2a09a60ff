/// A mistake in how a tool was called: one line, exit status 2, nothing done.
public struct UsageError: Error, Sendable, Equatable {
  /// What was wrong, naming the option or argument: `--type: expected ..., got 'x'`.
  public var message: String

  /// A usage error saying `message`.
  public init(_ message: String) { self.message = message }

  /// The one line a tool prints for this error in the command `path`
  /// (`ipc msg send`): the mistake and where to read the help.
  /// Control characters left in the message are escaped too, so the line stays one line.
  public func line(in path: String) -> String {
    "\(path): \(Self.shortened(Self.shown(message))) (see '\(path) --help')"
  }

  /// The most characters of a message a tool prints in one line.
  public static let longestMessage = 512

  /// `text`, or, if longer than ``longestMessage`` characters (a 128 KiB
  /// argument quoted back), its start and end around a note of how many
  /// characters were left out: an error line stays a line a person reads.
  public static func shortened(_ text: String) -> String {
    guard text.count > longestMessage else { return text }
    let head = longestMessage * 5 / 8
    let tail = longestMessage / 4
    let omitted = text.count - head - tail
    return "\(text.prefix(head)) … (\(omitted) characters left out) … \(text.suffix(tail))"
  }

  /// `word`, as the user typed it, safe to quote in one line: control
  /// characters become escapes (`\n`, `\t`, `\r`, `\0`, `\u{1B}`); all else is unchanged.
  public static func shown(_ word: String) -> String {
    var text = ""
    for scalar in word.unicodeScalars {
      switch scalar {
      case "\n": text += "\\n"
      case "\t": text += "\\t"
      case "\r": text += "\\r"
      case "\0": text += "\\0"
      case _
      where scalar.properties.generalCategory == .control
        || scalar.properties.generalCategory == .lineSeparator
        || scalar.properties.generalCategory == .paragraphSeparator:
        text += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
      default: text.unicodeScalars.append(scalar)
      }
    }
    return text
  }
}
