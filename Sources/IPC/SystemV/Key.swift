import Glibc

extension SystemV {
  /// The number that names a System V object, as `msgget`, `semget` and
  /// `shmget` take it.
  ///
  /// Use ``private`` for an object only its creator (and the processes it hands
  /// the id to) can find, ``init(path:projectID:)`` to derive a key from a file
  /// as `ftok` does, or a raw value agreed between programs.
  public struct Key: RawRepresentable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
  {
    /// The `key_t` value.
    public var rawValue: Int32

    /// Wraps a raw `key_t` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Wraps a key written as an unsigned literal, such as `0x1234` or
    /// `0xdeadbeef`, the way `ipcs` prints keys.
    public init(integerLiteral value: UInt32) { self.rawValue = Int32(bitPattern: value) }

    /// `IPC_PRIVATE`: every create with this key makes a new object.
    public static let `private` = Key(rawValue: IPC_PRIVATE)

    /// Whether this is `IPC_PRIVATE`.
    public var isPrivate: Bool { rawValue == IPC_PRIVATE }

    /// Derives a key from an existing file and a project number, as `ftok` does.
    ///
    /// Two programs that agree on a path and a project number get the same key.
    /// The key depends on the file's inode and device, so a file that is
    /// deleted and recreated usually yields a different key.
    ///
    /// The corresponding C function is `ftok`.
    ///
    /// - Parameters:
    ///   - path: an existing file or directory.
    ///   - projectID: 1 to 255; `ftok` uses its low eight bits, which must not be zero.
    /// - Throws: `IPCError` with `.notFound` if the path does not exist, or
    ///   `.invalidArgument` for a project number outside 1...255.
    public init(path: String, projectID: Int) throws(IPCError) {
      guard (1...255).contains(projectID) else {
        throw IPCError(
          code: .invalidArgument, operation: "ftok", object: "path \(path)",
          reason: "project id \(projectID) is outside 1...255 (ftok uses its low 8 bits, which must not be 0)"
        )
      }
      let key = ftok(path, Int32(projectID))
      guard key != -1 else {
        let code = IPCError.Code(rawValue: errno)
        let reason =
          code == .notFound
          ? "no file or directory at \(path); ftok derives the key from an existing file's inode"
          : nil
        throw IPCError(code: code, operation: "ftok", object: "path \(path)", reason: reason)
      }
      self.rawValue = key
    }

    /// Parses `IPC_PRIVATE`, a decimal number, or a `0x` hexadecimal number.
    public init?(parsing text: String) {
      if text == "IPC_PRIVATE" || text == "private" {
        self = .private
        return
      }
      // One optional leading '-', then hex after "0x" or decimal digits: no
      // '+', and no sign after "0x" (Int64(_:radix:) alone accepts "0x-1").
      var digits = Substring(text.lowercased())
      let negative = digits.first == "-"
      if negative { digits = digits.dropFirst() }
      let hex = digits.hasPrefix("0x")
      if hex { digits = digits.dropFirst(2) }
      guard !digits.isEmpty, digits.allSatisfy({ hex ? $0.isHexDigit : $0.isASCII && $0.isNumber }),
        let magnitude = Int64(digits, radix: hex ? 16 : 10)
      else { return nil }
      let parsed: Int64? = negative ? -magnitude : magnitude
      // key_t is signed 32-bit, but keys are usually written as unsigned hex.
      guard let value = parsed, value >= Int64(Int32.min), value <= Int64(UInt32.max) else {
        return nil
      }
      self.rawValue = Int32(truncatingIfNeeded: value)
    }

    /// `IPC_PRIVATE`, or the key in hexadecimal as `ipcs` prints it: `0x0000abcd`.
    public var description: String {
      if isPrivate { return "IPC_PRIVATE" }
      let hex = String(UInt32(bitPattern: rawValue), radix: 16)
      return "0x" + String(repeating: "0", count: 8 - hex.count) + hex
    }
  }
}
