/// An option with a value, such as `--type N`, declared once with its help and
/// the conversion that both checks it while parsing and reads it afterwards.
public struct Option<Value>: DeclaredOption {
  /// The option as the parser and the help see it.
  public var declaration: OptionDeclaration
  let convert: @Sendable (String) -> Value?

  /// Declares the option `name` whose value, shown as `valueName` in the help,
  /// is what `convert` makes of it; a value it rejects is a usage error that
  /// says the value should be `expectation`.
  public init(
    _ name: String, short: String? = nil, aliases: [String] = [], valueName: String,
    expecting expectation: String,
    help: String, convert: @escaping @Sendable (String) -> Value?
  ) {
    self.convert = convert
    declaration = OptionDeclaration(
      name: name, shortName: short, aliases: aliases, valueName: valueName, help: help, isRequired: false,
      expectation: expectation, accepts: { convert($0) != nil })
  }

  /// The same option, which the command cannot run without.
  public func required() -> Option {
    var copy = self
    copy.declaration.isRequired = true
    return copy
  }

  /// The same option, which the command cannot run without unless `flag` is given
  /// (`--size`, not needed to open an existing object with `--open-existing`).
  public func required(unless flag: Flag) -> Option {
    var copy = self
    copy.declaration.requiredUnless = flag.declaration.name
    return copy
  }

  /// The same option with other help (the same option means different things to different commands).
  public func help(_ text: String) -> Option {
    var copy = self
    copy.declaration.help = text
    return copy
  }
}

extension Option where Value == Int {
  /// A whole number in `range`; `what` names it in errors ("a message type").
  public static func integer(
    _ name: String, valueName: String = "N", _ range: ClosedRange<Int>, what: String, help: String
  ) -> Option {
    Option(
      name, valueName: valueName,
      expecting: "\(what) from \(range.lowerBound) to \(range.upperBound)", help: help
    ) { text in
      wholeNumber(text, as: Int.self).flatMap { range.contains($0) ? $0 : nil }
    }
  }
}

extension Option where Value == String {
  /// Any text that is not empty.
  public static func text(_ name: String, valueName: String, what: String = "a value", help: String) -> Option
  {
    Option(name, valueName: valueName, expecting: what, help: help) { $0.isEmpty ? nil : $0 }
  }
}

extension Option where Value == Duration {
  /// The longest duration accepted: about 31 years, which keeps the
  /// conversion to nanoseconds from overflowing.
  public static var maxSeconds: Int { 1_000_000_000 }

  /// A number of seconds, decimals allowed, from 0 to ``maxSeconds``.
  public static func seconds(_ name: String, help: String) -> Option {
    Option(
      name, valueName: "SECONDS", expecting: "a number of seconds from 0 to \(maxSeconds)", help: help
    ) { text in
      guard let value = Double(text), value >= 0, value <= Double(maxSeconds) else { return nil }
      return .nanoseconds(Int64(value * 1e9))
    }
  }
}

extension Option where Value: RawRepresentable<String> & CaseIterable & Sendable {
  /// One of the cases of `Value`, by raw value.
  public static func choice(_ name: String, valueName: String = "MODE", help: String) -> Option {
    let names = Value.allCases.map(\.rawValue)
    let listed =
      names.dropLast().joined(separator: ", ") + (names.count > 1 ? " or " : "") + (names.last ?? "")
    let cases = Dictionary(Value.allCases.map { ($0.rawValue, $0) }, uniquingKeysWith: { first, _ in first })
    return Option(name, valueName: valueName, expecting: listed, help: help) { cases[$0] }
  }
}

/// `text` as a whole number of type `T`, in decimal with at most a leading
/// minus; nil otherwise. (`Int("+3")` is 3: a plus sign on a count or an id is
/// a slip, refused as a usage error like any other stray character.)
public func wholeNumber<T: FixedWidthInteger>(_ text: String, as type: T.Type) -> T? {
  text.hasPrefix("+") ? nil : T(text)
}
