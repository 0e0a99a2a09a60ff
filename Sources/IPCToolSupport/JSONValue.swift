/// A JSON value the tools print (`ipc list --json`, `ipc limits --json`):
/// objects keep the order they are built in, numbers stay numbers.
public enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Int)
  /// A whole number above `Int.max` too, such as a kernel's unsigned long.
  case unsigned(UInt64)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  /// A whole number, or null if `text` is not one (a /proc field that could not be read).
  public static func number(parsing text: String?) -> JSONValue {
    text.flatMap { Int($0) }.map(JSONValue.number) ?? .null
  }

  /// The value as JSON text, indented by two spaces a level.
  public func rendered(indent: Int = 0) -> String {
    let inner = String(repeating: "  ", count: indent + 1)
    let outer = String(repeating: "  ", count: indent)
    switch self {
    case .null: return "null"
    case .bool(let value): return value ? "true" : "false"
    case .number(let value): return "\(value)"
    case .unsigned(let value): return "\(value)"
    case .string(let value): return Self.quoted(value)
    case .array(let values):
      guard !values.isEmpty else { return "[]" }
      let items = values.map { inner + $0.rendered(indent: indent + 1) }
      return "[\n" + items.joined(separator: ",\n") + "\n" + outer + "]"
    case .object(let members):
      guard !members.isEmpty else { return "{}" }
      let items = members.map { inner + Self.quoted($0.0) + ": " + $0.1.rendered(indent: indent + 1) }
      return "{\n" + items.joined(separator: ",\n") + "\n" + outer + "}"
    }
  }

  /// `text` as a JSON string: quotes, backslashes and control characters escaped.
  static func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }

  /// Whether both render as the same JSON text.
  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.rendered() == rhs.rendered() }
}
