import Glibc

/// Access permissions of a kernel object, the low nine bits of its mode.
///
/// The toolkit creates objects with ``ownerReadWrite`` (0600) unless told
/// otherwise, and never makes an object world-writable unless asked.
///
///     let mode: Permissions = [.ownerRead, .ownerWrite, .groupRead]   // 0640
///     let same = Permissions(rawValue: 0o640)
public struct Permissions: OptionSet, Hashable, Sendable, CustomStringConvertible {
  /// The mode bits (only the low nine are used).
  public var rawValue: UInt32

  /// Creates permissions from mode bits; bits above 0o777 are dropped.
  public init(rawValue: UInt32) { self.rawValue = rawValue & 0o777 }

  /// Read by the owner (0400).
  public static let ownerRead = Permissions(rawValue: 0o400)
  /// Write by the owner (0200).
  public static let ownerWrite = Permissions(rawValue: 0o200)
  /// Execute by the owner (0100); meaningless for IPC objects, kept for completeness.
  public static let ownerExecute = Permissions(rawValue: 0o100)
  /// Read by the group (0040).
  public static let groupRead = Permissions(rawValue: 0o040)
  /// Write by the group (0020).
  public static let groupWrite = Permissions(rawValue: 0o020)
  /// Execute by the group (0010).
  public static let groupExecute = Permissions(rawValue: 0o010)
  /// Read by others (0004).
  public static let otherRead = Permissions(rawValue: 0o004)
  /// Write by others (0002).
  public static let otherWrite = Permissions(rawValue: 0o002)
  /// Execute by others (0001).
  public static let otherExecute = Permissions(rawValue: 0o001)

  /// Read and write by the owner only (0600): the toolkit's default.
  public static let ownerReadWrite: Permissions = [.ownerRead, .ownerWrite]

  /// Parses an octal mode such as `"600"` or `"0640"`; nil if it is not octal or above 0777.
  public init?(octal text: String) {
    guard !text.isEmpty, text.count <= 4, let value = UInt32(text, radix: 8), value <= 0o777
    else { return nil }
    self.init(rawValue: value)
  }

  /// The mode as `ls -l` shows it, then in octal: `rw-r----- (0640)`.
  public var description: String {
    let letters: [(Permissions, Character)] = [
      (.ownerRead, "r"), (.ownerWrite, "w"), (.ownerExecute, "x"),
      (.groupRead, "r"), (.groupWrite, "w"), (.groupExecute, "x"),
      (.otherRead, "r"), (.otherWrite, "w"), (.otherExecute, "x"),
    ]
    let symbolic = String(letters.map { contains($0.0) ? $0.1 : "-" })
    return "\(symbolic) (\(octal))"
  }

  /// The mode in four octal digits, such as `0640`.
  public var octal: String {
    let digits = String(rawValue, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
  }
}
