import FoundationEssentials

/// Reads the binary format of ``BinaryMessageCoder`` from a range of a
/// message, checking every length against the bytes that are there.
struct BinaryReader {
  let bytes: [UInt8]
  private(set) var offset: Int
  let end: Int
  let codingPath: [any CodingKey]

  init(bytes: [UInt8], range: Range<Int>, codingPath: [any CodingKey]) {
    self.bytes = bytes
    offset = range.lowerBound
    end = range.upperBound
    self.codingPath = codingPath
  }

  var isAtEnd: Bool { offset >= end }

  func corrupted(_ description: String) -> DecodingError {
    DecodingError.dataCorrupted(DecodingError.Context(codingPath: codingPath, debugDescription: description))
  }

  mutating func varint() throws -> UInt64 {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard offset < end else { throw corrupted("the message ends inside a length") }
      let byte = bytes[offset]
      offset += 1
      guard shift < 64, shift < 63 || byte <= 1 else { throw corrupted("a length overflows 64 bits") }
      value |= UInt64(byte & 0x7f) << shift
      if byte < 0x80 { return value }
      shift += 7
    }
  }

  /// A count of entries, each at least one byte: never more than the bytes left.
  mutating func count() throws -> Int {
    let count = try varint()
    guard count <= UInt64(end - offset) else {
      throw corrupted("a count of \(count) entries in \(end - offset) bytes")
    }
    return Int(count)
  }

  /// The next `count` bytes.
  mutating func take(_ count: UInt64) throws -> Range<Int> {
    guard count <= UInt64(end - offset) else {
      throw corrupted("a length of \(count) bytes where \(end - offset) are left")
    }
    let range = offset..<(offset + Int(count))
    offset = range.upperBound
    return range
  }

  /// The next element's bytes; nil for nil.
  mutating func element() throws -> Range<Int>? {
    let length = try varint()
    guard length > 0 else { return nil }
    return try take(length - 1)
  }

  mutating func string() throws -> String {
    let range = try take(varint())
    guard let text = String(validating: bytes[range], as: UTF8.self) else {
      throw corrupted("a string that is not UTF-8")
    }
    return text
  }
}

/// The `Decoder` of ``BinaryMessageCoder``: one element's bytes (nil: nil).
struct BinaryValueDecoder: Decoder, SingleValueDecodingContainer {
  let bytes: [UInt8]
  let range: Range<Int>?
  let codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  /// A reader of this value's bytes, refusing nil and nesting past the limit.
  func reader(for what: String) throws -> BinaryReader {
    guard let range else {
      throw DecodingError.valueNotFound(
        Any.self,
        DecodingError.Context(codingPath: codingPath, debugDescription: "expected \(what), found nil"))
    }
    guard codingPath.count < BinaryMessageCoder.maximumDepth else {
      throw DecodingError.dataCorrupted(
        DecodingError.Context(
          codingPath: codingPath,
          debugDescription: "nested deeper than \(BinaryMessageCoder.maximumDepth) levels"))
    }
    return BinaryReader(bytes: bytes, range: range, codingPath: codingPath)
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    var reader = try reader(for: "a keyed container")
    var entries: [(key: String, range: Range<Int>?)] = []
    if !reader.isAtEnd {
      let count = try reader.count()
      entries.reserveCapacity(count)
      for _ in 0..<count { entries.append((try reader.string(), try reader.element())) }
    }
    guard reader.isAtEnd else { throw reader.corrupted("bytes follow a keyed container's entries") }
    return KeyedDecodingContainer(
      BinaryKeyedDecoder<Key>(bytes: bytes, entries: entries, codingPath: codingPath))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    var reader = try reader(for: "an unkeyed container")
    let count = reader.isAtEnd ? 0 : try reader.count()
    return BinaryUnkeyedDecoder(reader: reader, count: count)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

  /// Decodes a `T` here: byte arrays and `Data` as one run of bytes, the
  /// rest through its own `init(from:)`.
  func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
    if T.self == [UInt8].self || T.self == Data.self {
      var reader = try reader(for: "bytes")
      let run = try reader.take(reader.varint())
      guard reader.isAtEnd else { throw reader.corrupted("bytes follow a run of bytes") }
      let value: Any = T.self == Data.self ? Data(bytes[run]) : Array(bytes[run])
      if let value = value as? T { return value }
    }
    return try T(from: self)
  }

  /// The value's bytes, which must be exactly `size` of them.
  private func fixed<T>(_ type: T.Type, size: Int) throws -> ArraySlice<UInt8> {
    var reader = try reader(for: "\(T.self)")
    let range = try reader.take(UInt64(size))
    guard reader.isAtEnd else {
      throw DecodingError.typeMismatch(
        T.self,
        DecodingError.Context(
          codingPath: codingPath, debugDescription: "expected \(size) bytes of \(T.self), found more"))
    }
    return bytes[range]
  }

  /// A varint number (zigzag for signed types) that must fit in `T` exactly.
  private func varint<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
    var reader = try reader(for: "\(T.self)")
    let bits = try reader.varint()
    guard reader.isAtEnd else {
      throw DecodingError.typeMismatch(
        T.self, DecodingError.Context(codingPath: codingPath, debugDescription: "bytes follow a \(T.self)"))
    }
    let value: T?
    if T.isSigned {
      value = T(exactly: Int64(bitPattern: bits >> 1) ^ -Int64(bitPattern: bits & 1))
    } else {
      value = T(exactly: bits)
    }
    guard let value else { throw outOfRange(T.self) }
    return value
  }

  private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
    let slice = try fixed(T.self, size: MemoryLayout<T>.size)
    var value = T.zero
    withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: slice) }
    return T(littleEndian: value)
  }

  func decodeNil() -> Bool { range == nil }
  func decode(_ type: Bool.Type) throws -> Bool {
    let slice = try fixed(Bool.self, size: 1)
    guard let byte = slice.first, byte <= 1 else {
      throw DecodingError.dataCorrupted(
        DecodingError.Context(codingPath: codingPath, debugDescription: "a Bool that is neither 0 nor 1"))
    }
    return byte == 1
  }
  func decode(_ type: String.Type) throws -> String {
    var reader = try reader(for: "a String")
    let text = try reader.string()
    guard reader.isAtEnd else { throw reader.corrupted("bytes follow a String") }
    return text
  }
  func decode(_ type: Double.Type) throws -> Double { Double(bitPattern: try integer(UInt64.self)) }
  func decode(_ type: Float.Type) throws -> Float { Float(bitPattern: try integer(UInt32.self)) }
  func decode(_ type: Int.Type) throws -> Int { try varint(Int.self) }
  func decode(_ type: Int8.Type) throws -> Int8 { try varint(Int8.self) }
  func decode(_ type: Int16.Type) throws -> Int16 { try varint(Int16.self) }
  func decode(_ type: Int32.Type) throws -> Int32 { try varint(Int32.self) }
  func decode(_ type: Int64.Type) throws -> Int64 { try varint(Int64.self) }
  func decode(_ type: UInt.Type) throws -> UInt { try varint(UInt.self) }
  func decode(_ type: UInt8.Type) throws -> UInt8 { try varint(UInt8.self) }
  func decode(_ type: UInt16.Type) throws -> UInt16 { try varint(UInt16.self) }
  func decode(_ type: UInt32.Type) throws -> UInt32 { try varint(UInt32.self) }
  func decode(_ type: UInt64.Type) throws -> UInt64 { try varint(UInt64.self) }
  func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(T.self) }

  private func outOfRange<T>(_ type: T.Type) -> DecodingError {
    DecodingError.dataCorrupted(
      DecodingError.Context(codingPath: codingPath, debugDescription: "the number does not fit in \(T.self)"))
  }
}

/// A struct's or class's properties, found by key in any order.
struct BinaryKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let bytes: [UInt8]
  let entries: [(key: String, range: Range<Int>?)]
  let codingPath: [any CodingKey]

  var allKeys: [Key] { entries.compactMap { Key(stringValue: $0.key) } }

  func contains(_ key: Key) -> Bool { entries.contains { $0.key == key.stringValue } }

  private func decoder(_ key: any CodingKey) throws -> BinaryValueDecoder {
    guard let entry = entries.first(where: { $0.key == key.stringValue }) else {
      throw DecodingError.keyNotFound(
        key,
        DecodingError.Context(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
    }
    return BinaryValueDecoder(bytes: bytes, range: entry.range, codingPath: codingPath + [key])
  }

  func decodeNil(forKey key: Key) throws -> Bool { try decoder(key).decodeNil() }
  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
    try decoder(key).decodeValue(T.self)
  }

  func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
    -> KeyedDecodingContainer<NestedKey>
  {
    try decoder(key).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    try decoder(key).unkeyedContainer()
  }

  func superDecoder() throws -> any Decoder { try decoder(BinaryKey.super) }
  func superDecoder(forKey key: Key) throws -> any Decoder { try decoder(key) }
}

/// An array's or set's elements, in order.
struct BinaryUnkeyedDecoder: UnkeyedDecodingContainer {
  var reader: BinaryReader
  let count: Int?
  private(set) var currentIndex = 0
  var codingPath: [any CodingKey] { reader.codingPath }
  var isAtEnd: Bool { currentIndex >= (count ?? 0) }

  init(reader: BinaryReader, count: Int) {
    self.reader = reader
    self.count = count
  }

  /// The next element's decoder; the element is consumed.
  private mutating func next(_ type: Any.Type) throws -> BinaryValueDecoder {
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(
        type,
        DecodingError.Context(
          codingPath: codingPath + [BinaryKey.index(currentIndex)], debugDescription: "no elements are left"))
    }
    let range = try reader.element()
    let decoder = BinaryValueDecoder(
      bytes: reader.bytes, range: range, codingPath: codingPath + [BinaryKey.index(currentIndex)])
    currentIndex += 1
    return decoder
  }

  mutating func decodeNil() throws -> Bool {
    guard !isAtEnd else { return false }
    var ahead = reader
    guard try ahead.element() == nil else { return false }
    reader = ahead
    currentIndex += 1
    return true
  }

  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(T.self).decodeValue(T.self) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
    -> KeyedDecodingContainer<NestedKey>
  {
    try next(KeyedDecodingContainer<NestedKey>.self).container(keyedBy: type)
  }

  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
    try next((any UnkeyedDecodingContainer).self).unkeyedContainer()
  }

  mutating func superDecoder() throws -> any Decoder { try next((any Decoder).self) }
}
