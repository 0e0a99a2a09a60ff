import Foundation
import IPC
import IPCToolSupport
import Testing

/// The compact binary coder: every kind of Codable value round trips, the
/// bytes are the documented format, properties are found by name, malformed
/// or hostile messages fail without trapping, and typed messages cross
/// processes in it.
@Suite("Binary message coder")
struct BinaryMessageCoderTests {
  let coder = BinaryMessageCoder()

  enum Delivery: Codable, Equatable {
    case pickup(at: String)
    case courier(street: String, floor: Int?)
    case none
  }

  struct Order: Codable, Equatable {
    var id = 7
    var item = "tea, \0 green 🍵"
    var note: String? = nil
    var quantities: [Int32] = [1, -2, .max, .min]
    var tags: Set<String> = ["a", "b"]
    var prices = ["small": 1.5, "large": -0.0]
    var byID = [3: "three", -1: "minus one"]
    var blob: [UInt8] = [0, 1, 255]
    var data = Data([9, 8, 7])
    var flags = [true, false]
    var nested: [[Int8?]] = [[1, nil], [], [.min]]
    var delivery = Delivery.courier(street: "Main", floor: nil)
    var extremes: [UInt64] = [0, .max]
    var small: [UInt16] = [.max]
    var single: Float = .leastNonzeroMagnitude
    var empty = ""
  }

  /// A class that encodes its superclass through `superEncoder()`.
  class Base: Codable {
    var base: Int
    init(base: Int) { self.base = base }
  }

  final class Derived: Base, @unchecked Sendable {
    var derived: String
    enum Keys: CodingKey { case derived }
    init(base: Int, derived: String) {
      self.derived = derived
      super.init(base: base)
    }
    required init(from decoder: any Decoder) throws {
      let container = try decoder.container(keyedBy: Keys.self)
      derived = try container.decode(String.self, forKey: .derived)
      try super.init(from: container.superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: Keys.self)
      try container.encode(derived, forKey: .derived)
      try super.encode(to: container.superEncoder())
    }
  }

  @Test func everyKindOfValueRoundTrips() throws {
    let order = Order()
    #expect(try coder.decode(Order.self, from: coder.encode(order)) == order)
    var other = Order()
    other.note = "with a note"
    other.delivery = .pickup(at: "the shop")
    other.byID = [:]
    #expect(try coder.decode(Order.self, from: coder.encode(other)) == other)
    let derived = try coder.decode(Derived.self, from: coder.encode(Derived(base: 4, derived: "four")))
    #expect(derived.base == 4 && derived.derived == "four")
    // Top-level values of every shape.
    #expect(try coder.decode(Int?.self, from: coder.encode(Int?.none)) == nil)
    #expect(try coder.decode([Int].self, from: coder.encode([Int]())) == [])
    #expect(try coder.decode(Int.self, from: coder.encode(Int.min)) == .min)
    #expect(try coder.decode(String.self, from: coder.encode("")) == "")
    let nan = try coder.decode(Double.self, from: coder.encode(Double.nan))
    #expect(nan.isNaN)
    #expect(try coder.decode(Delivery.self, from: coder.encode(Delivery.none)) == .none)
  }

  /// The format the coder's documentation gives, byte by byte: an element's
  /// length plus 1, a keyed container's count, each key, each element; nil
  /// properties left out by `encodeIfPresent`.
  @Test func theBytesAreTheDocumentedFormat() throws {
    struct Small: Codable {
      var n: Int8 = 1
      var s = "hi"
      var o: Int? = nil
    }
    #expect(
      try coder.encode(Small()) == [
        12,  // 11 bytes follow
        2,  // two entries
        1, 0x6e, 2, 2,  // "n": 1 byte, the Int8 1 (zigzag: 2)
        1, 0x73, 4, 2, 0x68, 0x69,  // "s": 3 bytes, the string "hi"
      ])
    // The getting-started guide's order: 23 bytes against JSON's 27.
    struct OrderPlaced: Codable {
      var orderID = 8
      var item = "cake"
    }
    #expect(try coder.encode(OrderPlaced()).count == 23)
    #expect(try JSONMessageCoder().encode(OrderPlaced()).count == 27)
    #expect(try coder.encode(Int?.none) == [0])
    #expect(try coder.encode(UInt16(0x0102)) == [3, 0x82, 0x02])  // a varint
    #expect(try coder.encode(-2) == [2, 3])  // zigzag
    #expect(try coder.encode(Int64.min) == [11] + Array(repeating: 0xff, count: 9) + [0x01])
    #expect(
      try coder.encode([UInt8](repeating: 5, count: 200)) == [0xcb, 0x01, 0xc8, 0x01]
        + Array(repeating: 5, count: 200))
  }

  @Test func propertiesAreFoundByNameAndMissingOptionalsAreNil() throws {
    struct Sent: Codable {
      var first = 1
      var second = "two"
      var unknown = [3]
    }
    struct Read: Codable, Equatable {
      var second: String
      var first: Int
      var added: Double?
    }
    #expect(
      try coder.decode(Read.self, from: coder.encode(Sent())) == Read(second: "two", first: 1, added: nil))
    struct Needs: Codable { var absent: Int }
    #expect(throws: DecodingError.self) { try coder.decode(Needs.self, from: coder.encode(Sent())) }
    // A number too large for the type read is an error, not a truncation.
    #expect(throws: DecodingError.self) { try coder.decode(Int8.self, from: coder.encode(300)) }
    #expect(throws: DecodingError.self) { try coder.decode(Int16.self, from: coder.encode(Int32.max)) }
    #expect(try coder.decode(Int16.self, from: coder.encode(Int64(-300))) == -300)
    #expect(throws: DecodingError.self) { try coder.decode(Bool.self, from: [2, 2]) }
  }

  /// No message, however cut or corrupted, traps: each fails with a
  /// DecodingError or decodes to some value.
  @Test func malformedMessagesFailWithoutTrapping() throws {
    let bytes = try coder.encode(Order())
    for length in 0..<bytes.count {
      #expect(throws: DecodingError.self, "cut at \(length)") {
        try coder.decode(Order.self, from: Array(bytes[..<length]))
      }
    }
    #expect(throws: DecodingError.self) { try coder.decode(Order.self, from: bytes + [0]) }
    var random = SplitMix64(state: 0x5eed)  // the same rounds every run
    var decoded = 0
    for round in 0..<4000 {
      var mutated = bytes
      // Flip a few bytes, or make up a short message outright.
      if round % 4 == 0 {
        mutated = (0..<random.below(48)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
      } else {
        for _ in 0..<(1 + round % 3) {
          mutated[random.below(mutated.count)] = UInt8(truncatingIfNeeded: random.next())
        }
      }
      if (try? coder.decode(Order.self, from: mutated)) != nil { decoded += 1 }
      _ = try? coder.decode([String: [Int?]].self, from: mutated)
    }
    // Hostile lengths and counts.
    for hostile: [UInt8] in [
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],  // a length past 2^64
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],  // eleven bytes of length
      [0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2],  // 4 GiB announced, 2 bytes there
      [3, 0xff, 0xff, 0x03],  // a count of 65535 entries in 0 bytes
    ] {
      #expect(throws: DecodingError.self) { try coder.decode([Int].self, from: hostile) }
    }
    #expect(decoded < 4000)
  }

  indirect enum Chain: Codable, Equatable {
    case end
    case link(Chain)

    init(depth: Int) {
      var chain = Chain.end
      for _ in 0..<depth { chain = .link(chain) }
      self = chain
    }
  }

  /// A recursive type nested past the limit fails cleanly instead of
  /// exhausting the stack.
  @Test func nestingPastTheLimitIsAnError() throws {
    #expect(try coder.decode(Chain.self, from: coder.encode(Chain(depth: 100))) == Chain(depth: 100))
    let deep = try coder.encode(Chain(depth: BinaryMessageCoder.maximumDepth))
    #expect(throws: DecodingError.self) { try coder.decode(Chain.self, from: deep) }
  }

  @Test(.prompt) func typedMessagesCrossProcessesInTheBinaryFormat() async throws {
    let (toChild, childInput) = try AnonymousPipe.make()
    let (fromChild, childOutput) = try AnonymousPipe.make()
    let peer = try startPeer("binary-coder-echo", handing: ["in": toChild, "out": childOutput])
    try toChild.close()
    try childOutput.close()
    let sent: [[String: [Int64?]]] = [["a": [1, 2, nil]], ["b": [], "c": [.max, 1]], [:]]
    var sums: [[String: Int64]] = []
    for lists in sent {
      try childInput.send(lists, coder: coder)
      sums.append(try #require(try await fromChild.receive([String: Int64].self, coder: coder)))
    }
    try childInput.close()
    #expect(try await fromChild.receive([String: Int64].self, coder: coder) == nil)
    #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
    #expect(sums == [["a": 3], ["b": 0, "c": .min], [:]])
  }

  /// A message that is not in the format reaches a typed receive as
  /// `.badMessage`, its bytes kept.
  @Test func aMalformedMessageIsABadMessageWithItsBytes() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.send([0x09, 1, 2])
    do {
      _ = try reader.receive([Int].self, coder: coder)
      Issue.record("decoded a malformed message")
    } catch {
      #expect(error.code == .badMessage && error.payload == [0x09, 1, 2])
    }
  }
}
