import IPC
import Testing

/// The bitwise coder: plain values travel as their bytes behind a
/// fingerprint; another type, a cut message or a value that owns memory is an
/// error, never a misread value; typed messages cross processes so.
@Suite("Bitwise message coder")
struct BitwiseMessageCoderTests {
  let coder = BitwiseMessageCoder()

  /// As the peer process defines them (the fingerprint holds the name).
  struct Reading: Codable, Equatable {
    var sensor: Int32
    var celsius: Double
  }

  enum Phase: Codable, Equatable {
    case idle
    case running(Int16, Float)
  }

  struct Frame: Codable, Equatable {
    var phase = Phase.running(-3, 2.5)
    var a: Int8 = -1
    var b: Int8 = 2
    var total: UInt64 = .max
  }

  /// 2 KiB of plain bytes: more than a channel of 4 KiB rings carries.
  struct Kilobytes: Codable {
    typealias Row = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    typealias Quad = (Row, Row, Row, Row)
    var quads: (Quad, Quad, Quad, Quad, Quad, Quad, Quad, Quad)
    init() {
      let row: Row = (0, 0, 0, 0, 0, 0, 0, 0)
      let quad = (row, row, row, row)
      quads = (quad, quad, quad, quad, quad, quad, quad, quad)
    }
    init(from decoder: any Decoder) throws { self.init() }
    func encode(to encoder: any Encoder) throws {}
  }

  @Test func plainValuesRoundTripAsTheirBytes() throws {
    let reading = Reading(sensor: 4, celsius: 21.5)
    let bytes = try coder.encode(reading)
    // The fingerprint: mark, version, log2(alignment 8), 0, size 16, FNV-1a("Reading").
    #expect(Array(bytes[..<12]) == [0xB7, 1, 3, 0, 16, 0, 0, 0, 155, 51, 231, 94])
    #expect(bytes.count == 12 + 16)
    #expect(try coder.decode(Reading.self, from: bytes) == reading)
    #expect(try coder.decode(Frame.self, from: coder.encode(Frame())) == Frame())
    #expect(try coder.decode(Phase.self, from: coder.encode(Phase.idle)) == .idle)
    #expect(try coder.decode(Int.self, from: coder.encode(Int.min)) == .min)
  }

  @Test func anotherTypeOrACutMessageIsAnErrorNotAMisread() throws {
    struct Imposter: Codable {
      var first: Int64
      var second: Int64
    }
    let imposter = try coder.encode(Imposter(first: 1, second: 2))
    #expect(imposter.count == 12 + MemoryLayout<Reading>.size)  // same size, same alignment
    #expect {
      try coder.decode(Reading.self, from: imposter)
    } throws: { error in
      "\(error)".contains("a Reading is 16 bytes, alignment 8, type name hash 0x5ee7339b")
    }
    #expect(throws: DecodingError.self) { try coder.decode(Int32.self, from: coder.encode(Int64(1))) }
    let reading = try coder.encode(Reading(sensor: 1, celsius: 2))
    for length in 0..<reading.count {
      #expect(throws: DecodingError.self) { try coder.decode(Reading.self, from: Array(reading[..<length])) }
    }
    #expect(throws: DecodingError.self) { try coder.decode(Reading.self, from: reading + [0]) }
  }

  /// A value that owns memory is refused before anything is sent.
  @Test func aValueThatOwnsMemoryIsRefusedAndNothingIsSent() throws {
    struct Named: Codable {
      var name: String
    }
    let (reader, writer) = try AnonymousPipe.make()
    #expect {
      try writer.send(Named(name: "x"), coder: coder)
    } throws: { error in
      (error as? IPCError)?.code == .invalidArgument && "\(error)".contains("not bitwise copyable")
    }
    try writer.close()
    #expect(try reader.receive() == nil)
  }

  /// Through a shared channel a plain value is written into the ring and
  /// read from it in place: the same bytes as `encode` gives; another type is
  /// `.badMessage` with the bytes kept and the message consumed; a value
  /// larger than the channel carries is refused and nothing is sent.
  @Test func aSharedChannelCarriesPlainValuesInPlace() throws {
    try withSharedRegion(size: 8192) { region, _ in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      let consumer = try SharedChannelConsumer(region)
      let producer = try SharedChannelProducer(region)
      // A value without padding, whose bytes are all its own.
      let word = UInt64(0x1122_3344_5566_7788)
      try producer.send(word, coder: coder)
      #expect(try consumer.receive() == coder.encode(word))
      let reading = Reading(sensor: 7, celsius: -3.5)
      try producer.send(reading, coder: coder)
      #expect(try consumer.receive(Reading.self, coder: coder) == reading)
      try producer.send(word, coder: coder)
      #expect {
        try consumer.receive(Reading.self, coder: coder)
      } throws: { error in
        let error = error as? IPCError
        return try error?.code == .badMessage && error?.payload == coder.encode(word)
      }
      #expect(try consumer.tryReceive() == nil)  // consumed, as on every mechanism
      #expect(MemoryLayout<Kilobytes>.size == 2048)
      #expect {
        try producer.send(Kilobytes(), coder: coder)
      } throws: { error in
        (error as? IPCError)?.code == .messageTooLong
      }
      #expect(try consumer.tryReceive() == nil)  // nothing sent
      #expect(producer.maximumMessageSize == 2040)
      try producer.send(reading, coder: coder)
      #expect(try consumer.receive(Reading.self, coder: coder) == reading)
    }
  }

  @Test(.prompt) func typedMessagesCrossProcessesAsTheirBytes() async throws {
    let (toChild, childInput) = try AnonymousPipe.make()
    let (fromChild, childOutput) = try AnonymousPipe.make()
    let peer = try startPeer("bitwise-coder-echo", handing: ["in": toChild, "out": childOutput])
    try toChild.close()
    try childOutput.close()
    for sensor: Int32 in 1...3 {
      try childInput.send(Reading(sensor: sensor, celsius: 20), coder: coder)
      #expect(try await fromChild.receive(Reading.self, coder: coder) == Reading(sensor: sensor, celsius: 21))
      // The peer's Imposter: the same size, another name.
      do {
        _ = try await fromChild.receive(Reading.self, coder: coder)
        Issue.record("an Imposter was read as a Reading")
      } catch {
        #expect(error.code == .badMessage && error.payload?.count == 28)
      }
    }
    try childInput.close()
    #expect(try await fromChild.receive() == nil)
    #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
  }
}
