/// A compact binary ``MessageCoder``: no text, no key quoting, numbers as
/// their bytes. Use it where both ends are Swift programs built on this
/// toolkit and JSON's cost matters; keep ``JSONMessageCoder`` (the default)
/// wherever a Python, C or shell peer reads the messages.
///
///     let coder = BinaryMessageCoder()
///     let bytes = try coder.encode(Order(id: 7, item: "tea"))
///     let order = try coder.decode(Order.self, from: bytes)
///
/// The format, all integers little-endian:
///
/// - a *varint* is LEB128: 7 bits per byte, low bits first, the high bit set
///   on all but the last byte;
/// - a **value**: `Bool` is one byte (0 or 1), `Float` and `Double` their
///   IEEE 754 bits, every integer a varint, signed ones in zigzag form (0, -1,
///   1, -2... as 0, 1, 2, 3...), so small numbers take one byte;
/// - a `String` is a varint byte count, then its UTF-8 bytes;
/// - a **keyed container** (a struct's or class's properties) is a varint
///   count, then per entry its key as a string and its element;
/// - an **unkeyed container** (an array, a set) is a varint count, then its
///   elements; `[UInt8]` is a varint count, then the bytes themselves;
/// - an **element** is a varint of its byte length plus 1, then its bytes;
///   0 is nil;
/// - a **message** is one element: its root value.
///
/// Keys travel by name, so a decoder finds properties in any order and a
/// missing optional property decodes as nil, as in JSON. Types do not travel:
/// decode the type that was encoded (a number read as a narrower integer
/// type than it fits is an error, but a signed number read as unsigned is
/// not detected). Decoding checks
/// every length against the bytes that are there and nests at most 512
/// levels, so no message, however malformed, traps or exhausts the stack:
/// it fails with a `DecodingError` (`.badMessage` from the toolkit's
/// `receive` forms, the bytes kept in the error).
public struct BinaryMessageCoder: MessageCoder {
  /// The deepest nesting of containers a message may have.
  public static let maximumDepth = 512

  /// Creates a binary coder.
  public init() {}

  /// Encodes `value` in the binary format above.
  public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
    let root = BinaryNode()
    try BinaryValueEncoder(node: root, codingPath: []).encodeValue(value)
    var bytes: [UInt8] = []
    root.appendElement(to: &bytes)
    return bytes
  }

  /// Decodes a `T` from bytes in the binary format above.
  public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    var reader = BinaryReader(bytes: bytes, range: 0..<bytes.count, codingPath: [])
    let root = try reader.element()
    guard reader.isAtEnd else {
      throw DecodingError.dataCorrupted(
        DecodingError.Context(
          codingPath: [], debugDescription: "\(bytes.count - reader.offset) bytes follow the message"))
    }
    return try BinaryValueDecoder(bytes: bytes, range: root, codingPath: []).decodeValue(T.self)
  }
}
