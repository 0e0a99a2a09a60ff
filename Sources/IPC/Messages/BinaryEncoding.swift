import FoundationEssentials

/// One value of a message being encoded by ``BinaryMessageCoder``: its bytes,
/// or its container's entries, filled in as `Encodable` code asks.
final class BinaryNode {
  enum Content {
    case empty
    case null
    case bytes([UInt8])
    case keyed([(key: String, node: BinaryNode)])
    case unkeyed([BinaryNode])
  }
  var content = Content.empty
  /// The body's size, measured before writing so each length is written once.
  private var bodySize = 0

  /// Appends this value as an element: its length plus 1 (0: nil), then its body.
  func appendElement(to bytes: inout [UInt8]) {
    if case .null = content {
      bytes.append(0)
      return
    }
    let size = measure()
    bytes.reserveCapacity(bytes.count + size + 10)
    appendBody(to: &bytes)
  }

  /// The element's size (length prefix included), caching each body's size.
  @discardableResult
  private func measure() -> Int {
    switch content {
    case .null: return 1
    case .empty: bodySize = 0
    case .bytes(let value): bodySize = value.count
    case .keyed(let entries):
      bodySize = Varint.size(UInt64(entries.count))
      for entry in entries {
        let key = entry.key.utf8.count
        bodySize += Varint.size(UInt64(key)) + key + entry.node.measure()
      }
    case .unkeyed(let nodes):
      bodySize = Varint.size(UInt64(nodes.count))
      for node in nodes { bodySize += node.measure() }
    }
    return Varint.size(UInt64(bodySize) + 1) + bodySize
  }

  /// Writes the element whose sizes ``measure()`` cached.
  private func appendBody(to bytes: inout [UInt8]) {
    if case .null = content {
      bytes.append(0)
      return
    }
    Varint.append(UInt64(bodySize) + 1, to: &bytes)
    switch content {
    case .null, .empty: break
    case .bytes(let value): bytes.append(contentsOf: value)
    case .keyed(let entries):
      Varint.append(UInt64(entries.count), to: &bytes)
      for entry in entries {
        Varint.append(UInt64(entry.key.utf8.count), to: &bytes)
        bytes.append(contentsOf: entry.key.utf8)
        entry.node.appendBody(to: &bytes)
      }
    case .unkeyed(let nodes):
      Varint.append(UInt64(nodes.count), to: &bytes)
      for node in nodes { node.appendBody(to: &bytes) }
    }
  }

  /// The child for `key`, replacing one encoded before under the same key.
  func child(forKey key: String) -> BinaryNode {
    let child = BinaryNode()
    guard case .keyed(var entries) = content else {
      content = .keyed([(key, child)])
      return child
    }
    content = .empty  // entries uniquely referenced while changed
    if let index = entries.firstIndex(where: { $0.key == key }) {
      entries[index].node = child
    } else {
      entries.append((key, child))
    }
    content = .keyed(entries)
    return child
  }

  /// A new last element of this unkeyed container.
  func appendChild() -> BinaryNode {
    let child = BinaryNode()
    guard case .unkeyed(var nodes) = content else {
      content = .unkeyed([child])
      return child
    }
    content = .empty
    nodes.append(child)
    content = .unkeyed(nodes)
    return child
  }

  var count: Int {
    if case .unkeyed(let nodes) = content { return nodes.count }
    return 0
  }
}

/// LEB128 unsigned integers: the lengths and counts of the binary format.
enum Varint {
  static func size(_ value: UInt64) -> Int {
    var value = value
    var size = 1
    while value >= 0x80 {
      value >>= 7
      size += 1
    }
    return size
  }

  static func append(_ value: UInt64, to bytes: inout [UInt8]) {
    var value = value
    while value >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
      value >>= 7
    }
    bytes.append(UInt8(value))
  }
}

/// The `Encoder` of ``BinaryMessageCoder``, writing into one node.
struct BinaryValueEncoder: Encoder, SingleValueEncodingContainer {
  let node: BinaryNode
  let codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if case .keyed = node.content {} else { node.content = .keyed([]) }
    return KeyedEncodingContainer(BinaryKeyedEncoder<Key>(node: node, codingPath: codingPath))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    if case .unkeyed = node.content {} else { node.content = .unkeyed([]) }
    return BinaryUnkeyedEncoder(node: node, codingPath: codingPath)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer { self }

  /// Encodes `value` here: byte arrays and `Data` as one run of bytes, the
  /// rest through its own `encode(to:)`.
  func encodeValue<T: Encodable>(_ value: T) throws {
    if let bytes = value as? [UInt8] {
      node.content = .bytes(Self.counted(bytes))
    } else if let data = value as? Data {
      node.content = .bytes(Self.counted(Array(data)))
    } else {
      try value.encode(to: self)
    }
  }

  private static func counted(_ bytes: [UInt8]) -> [UInt8] {
    var counted: [UInt8] = []
    counted.reserveCapacity(bytes.count + 10)
    Varint.append(UInt64(bytes.count), to: &counted)
    counted.append(contentsOf: bytes)
    return counted
  }

  private func put<T: FixedWidthInteger>(_ value: T) {
    node.content = .bytes(withUnsafeBytes(of: value.littleEndian) { Array($0) })
  }

  /// Small numbers in few bytes: a varint, of the zigzag form for signed ones
  /// (0, -1, 1, -2... as 0, 1, 2, 3...).
  private func putVarint<T: FixedWidthInteger>(_ value: T) {
    let wide = Int64(truncatingIfNeeded: value)
    let bits =
      T.isSigned
      ? UInt64(bitPattern: (wide << 1) ^ (wide >> 63)) : UInt64(truncatingIfNeeded: value)
    var bytes: [UInt8] = []
    Varint.append(bits, to: &bytes)
    node.content = .bytes(bytes)
  }

  func encodeNil() { node.content = .null }
  func encode(_ value: Bool) { node.content = .bytes([value ? 1 : 0]) }
  func encode(_ value: String) {
    var bytes: [UInt8] = []
    Varint.append(UInt64(value.utf8.count), to: &bytes)
    bytes.append(contentsOf: value.utf8)
    node.content = .bytes(bytes)
  }
  func encode(_ value: Double) { put(value.bitPattern) }
  func encode(_ value: Float) { put(value.bitPattern) }
  func encode(_ value: Int) { putVarint(value) }
  func encode(_ value: Int8) { putVarint(value) }
  func encode(_ value: Int16) { putVarint(value) }
  func encode(_ value: Int32) { putVarint(value) }
  func encode(_ value: Int64) { putVarint(value) }
  func encode(_ value: UInt) { putVarint(value) }
  func encode(_ value: UInt8) { putVarint(value) }
  func encode(_ value: UInt16) { putVarint(value) }
  func encode(_ value: UInt32) { putVarint(value) }
  func encode(_ value: UInt64) { putVarint(value) }
  func encode<T: Encodable>(_ value: T) throws { try encodeValue(value) }
}

/// A struct's or class's properties, by key.
struct BinaryKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let node: BinaryNode
  let codingPath: [any CodingKey]

  private func encoder(_ key: any CodingKey) -> BinaryValueEncoder {
    BinaryValueEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
  }

  mutating func encodeNil(forKey key: Key) { encoder(key).encodeNil() }
  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
    try encoder(key).encodeValue(value)
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
    -> KeyedEncodingContainer<NestedKey>
  {
    encoder(key).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    encoder(key).unkeyedContainer()
  }

  mutating func superEncoder() -> any Encoder { encoder(BinaryKey.super) }
  mutating func superEncoder(forKey key: Key) -> any Encoder { encoder(key) }
}

/// An array's or set's elements, in order.
struct BinaryUnkeyedEncoder: UnkeyedEncodingContainer {
  let node: BinaryNode
  let codingPath: [any CodingKey]
  var count: Int { node.count }

  private func encoder() -> BinaryValueEncoder {
    let path = codingPath + [BinaryKey.index(node.count)]
    return BinaryValueEncoder(node: node.appendChild(), codingPath: path)
  }

  mutating func encodeNil() { encoder().encodeNil() }
  mutating func encode<T: Encodable>(_ value: T) throws { try encoder().encodeValue(value) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
    -> KeyedEncodingContainer<NestedKey>
  {
    encoder().container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { encoder().unkeyedContainer() }
  mutating func superEncoder() -> any Encoder { encoder() }
}

/// Keys the coder makes itself: array positions and `super`.
struct BinaryKey: CodingKey {
  let stringValue: String
  let intValue: Int?
  init(stringValue: String) {
    self.stringValue = stringValue
    intValue = nil
  }
  init(intValue: Int) {
    stringValue = "Index \(intValue)"
    self.intValue = intValue
  }
  static let `super` = BinaryKey(stringValue: "super")
  static func index(_ index: Int) -> BinaryKey { BinaryKey(intValue: index) }
}
