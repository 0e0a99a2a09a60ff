import Glibc
import Synchronization

/// A ``MessageCoder`` for plain values (`BitwiseCopyable` types: numbers,
/// and structs, tuples and enums of them): each message is the value's bytes
/// as they are in memory, behind a 12-byte fingerprint. No encoding work at
/// all, so a typed message costs what raw bytes cost.
///
///     struct Reading: TypedMessage, BitwiseCopyable {
///       static let messageType = 3
///       var sensor: Int32
///       var celsius: Double
///     }
///     try queue.send(Reading(sensor: 4, celsius: 21.5), coder: BitwiseMessageCoder())
///     let reading = try queue.receive(Reading.self, coder: BitwiseMessageCoder())
///
/// The fingerprint is checked on receive, so a peer that sends another type
/// gets a clear `.badMessage` instead of a misread value:
///
/// | Bytes | Content |
/// |---|---|
/// | 0 | `0xB7`, the format's mark |
/// | 1 | the format's version, 1 |
/// | 2 | log2 of the type's alignment |
/// | 3 | 0 |
/// | 4-7 | the type's size, `UInt32` little-endian |
/// | 8-11 | FNV-1a hash of the type's name as `String(describing:)` gives it (`Reading`, `Pair<Int>`), `UInt32` little-endian |
/// | 12... | the value's bytes |
///
/// Both ends must be on machines of the same byte order and layout (one
/// host, which System V and POSIX IPC imply) and agree on the type's
/// definition: the name, size and alignment are checked, the fields are not.
/// Pointers and descriptors in a value mean nothing in another process, and
/// padding bytes travel as they are. A type that is not bitwise copyable (one
/// holding a `String`, an array or a class) is refused before anything is
/// sent; use ``BinaryMessageCoder`` or ``JSONMessageCoder`` for it.
public struct BitwiseMessageCoder: MessageCoder {
  /// Bytes of the fingerprint before each value.
  public static let headerSize = 12
  static let mark: UInt8 = 0xB7
  static let version: UInt8 = 1

  /// Creates a bitwise coder.
  public init() {}

  /// The value's fingerprint and bytes.
  ///
  /// - Throws: `EncodingError.invalidValue` if `T` is not bitwise copyable.
  public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
    guard _isPOD(T.self) else {
      throw EncodingError.invalidValue(
        value,
        EncodingError.Context(
          codingPath: [],
          debugDescription: "\(T.self) is not bitwise copyable (it holds references or other values that"
            + " own memory); send it with BinaryMessageCoder or JSONMessageCoder"))
    }
    return [UInt8](unsafeUninitializedCapacity: Self.encodedSize(of: T.self)) { buffer, count in
      count = Self.write(value, into: UnsafeMutableRawBufferPointer(buffer))
    }
  }

  /// The value in `bytes`, once its fingerprint matches `T`'s.
  ///
  /// - Throws: `DecodingError.typeMismatch` naming what the message holds and
  ///   what `T` is, if the length or the fingerprint differ.
  public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    try bytes.withUnsafeBytes { raw in
      guard let value = Self.read(T.self, from: raw) else { throw Self.mismatch(T.self, raw) }
      return value
    }
  }

  // MARK: In place, for mechanisms that lend their buffers (SharedChannel)

  /// The bytes a `T` takes as a message: its fingerprint and its size.
  static func encodedSize<T>(of type: T.Type) -> Int { headerSize + MemoryLayout<T>.size }

  /// Writes `value`'s fingerprint and bytes at the start of `buffer` (at
  /// least ``encodedSize(of:)`` bytes, which the caller checked) and returns
  /// their count. The caller checked `_isPOD(T.self)`.
  static func write<T>(
    _ value: T, into buffer: UnsafeMutableRawBufferPointer,
    header: (UInt32, UInt32, UInt32) = header(of: T.self)
  ) -> Int {
    withUnsafeBytes(of: header) { buffer.copyMemory(from: $0) }
    withUnsafeBytes(of: value) { bytes in
      UnsafeMutableRawBufferPointer(rebasing: buffer[headerSize...]).copyMemory(from: bytes)
    }
    return encodedSize(of: T.self)
  }

  /// The `T` in `bytes` if they are a `T`'s fingerprint and bytes, else nil.
  static func read<T>(
    _ type: T.Type, from bytes: UnsafeRawBufferPointer, header: (UInt32, UInt32, UInt32) = header(of: T.self)
  ) -> T? {
    let (first, second, third) = header
    guard _isPOD(T.self), bytes.count == encodedSize(of: T.self),
      bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == first,
      bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == second,
      bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == third
    else { return nil }
    return bytes.loadUnaligned(fromByteOffset: headerSize, as: T.self)
  }

  /// The fingerprint of the type an endpoint sent or received last: one
  /// that carries one type over and over finds it with no lock and no
  /// hashing. It belongs to one endpoint, which is not `Sendable`.
  struct LastFingerprint {
    private var type: ObjectIdentifier?
    private var words: (UInt32, UInt32, UInt32) = (0, 0, 0)

    mutating func of<T>(_ type: T.Type) -> (UInt32, UInt32, UInt32) {
      let key = ObjectIdentifier(type)
      if key != self.type {
        words = BitwiseMessageCoder.header(of: type)
        self.type = key
      }
      return words
    }
  }

  /// The error of bytes that are not a `T`, naming what they hold and what a `T` is.
  static func mismatch<T>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer) -> DecodingError {
    let expected = fingerprint(of: T.self)
    return DecodingError.typeMismatch(
      T.self,
      DecodingError.Context(
        codingPath: [],
        debugDescription: "the message holds \(describe(Array(bytes))); a \(T.self) is"
          + " \(describe(expected).dropFirst("a value of ".count))"))
  }

  /// The 12 bytes that precede a `T`.
  static func fingerprint<T>(of type: T.Type) -> [UInt8] {
    withUnsafeBytes(of: header(of: type)) { Array($0) }
  }

  /// The 12 bytes that precede a `T`, as three little-endian words: written
  /// and compared with no allocation.
  static func header<T>(of type: T.Type) -> (UInt32, UInt32, UInt32) {
    let alignment = UInt32(MemoryLayout<T>.alignment.trailingZeroBitCount)
    let first = UInt32(mark) | UInt32(version) << 8 | alignment << 16
    let size = UInt32(truncatingIfNeeded: MemoryLayout<T>.size)
    return (first.littleEndian, size.littleEndian, nameHash(of: type).littleEndian)
  }

  /// The FNV-1a hash of each type's name, kept once computed: formatting a
  /// type's name costs far more than copying a small value.
  private static let nameHashes = Mutex<[ObjectIdentifier: UInt32]>([:])

  /// The FNV-1a hash of the type's name as `String(describing:)` gives it.
  static func nameHash<T>(of type: T.Type) -> UInt32 {
    let key = ObjectIdentifier(type)
    if let hash = nameHashes.withLock({ $0[key] }) { return hash }
    var hash: UInt32 = 0x811c_9dc5
    for byte in String(describing: type).utf8 {
      hash = (hash ^ UInt32(byte)) &* 0x0100_0193
    }
    nameHashes.withLock { $0[key] = hash }
    return hash
  }

  /// What a message's fingerprint says, for errors.
  static func describe(_ bytes: [UInt8]) -> String {
    guard bytes.count >= headerSize, bytes[0] == mark, bytes[1] == version else {
      return "\(bytes.count) bytes without the bitwise coder's fingerprint"
    }
    func word(at offset: Int) -> UInt32 {
      let word = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
      return UInt32(littleEndian: word)
    }
    let size = word(at: 4)
    let hash = word(at: 8)
    let alignment = bytes[2] < 16 ? 1 << bytes[2] : 0
    return "a value of \(size) bytes, alignment \(alignment), type name hash 0x\(String(hash, radix: 16))"
      + (bytes.count == headerSize + Int(size) ? "" : " (but \(bytes.count - headerSize) bytes follow)")
  }
}
