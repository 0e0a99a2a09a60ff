import CIPCBench
import CIPCShims
import Glibc
import IPC

/// "shm-channel" one way: a `SharedChannel` with a producer slot of 64 KiB
/// per child in a System V segment; the children produce, the parent
/// consumes. The C column runs the channel's C core
/// (`cipc_channel_send`/`receive`, CShims/channel.c) in a loop on a raw
/// attachment; the Swift one goes through `SharedChannelProducer` and
/// `SharedChannelConsumer`. The idle row uses it too: the parent waits on the
/// empty channel while its producer, attached, sends nothing.
class SharedChannelFixture: Fixture {
  static let ringSize = 1 << 16
  /// Producer slots: one per child.
  class var producers: Int { 1 }
  private var segment: BenchSegment

  required init(size: Int) throws {
    let producers = Self.producers
    segment = try BenchSegment(
      size: try SharedChannel.requiredSize(producers: producers, ringSize: Self.ringSize))
    let region = try segment.segment.attach()
    try SharedChannel.initialize(in: region, producers: producers, ringSize: Self.ringSize)
  }

  var childArguments: [String] { ["--segment", "\(segment.segment.id)"] }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    let loops = try Self.loops(impl, segment: segment.segment.id, peer: 0, producing: false)
    segment.remove()
    return loops
  }

  /// A producer that dies ends the consumer's stream once every producer is
  /// gone: its receive returns.
  func childFailed() -> Bool { true }

  deinit { remove() }

  func remove() { segment.remove() }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    try loops(impl, segment: arguments.id("--segment"), peer: arguments.integer("--peer"), producing: true)
  }

  private static func loops(_ impl: Implementation, segment: Int32, peer: Int, producing: Bool) throws
    -> any MessageLoops
  {
    switch impl {
    case .c: try CChannelLoops(segment: segment, peer: peer, producers: producers, producing: producing)
    case .swift:
      try SwiftChannelLoops(segment: segment, peer: peer, producers: producers, producing: producing)
    }
  }
}

/// The same channel with two producer slots, one per child: the
/// "2 producers" rows.
final class TwoProducerChannelFixture: SharedChannelFixture {
  override class var producers: Int { 2 }
}

/// Checks that blocks from several producers arrive each producer's in
/// order: a block carries its producer's number in bytes 8-15 beside its
/// sequence number (the same check in both columns).
struct ProducerSequences {
  private var next: [Int64]

  init(producers: Int) { next = Array(repeating: 0, count: producers) }

  /// Stamps `block` as message `sequence` of producer `peer`.
  static func stamp(_ block: Block, _ sequence: Int, peer: Int) {
    block.stamp(sequence)
    block.bytes.storeBytes(of: Int64(peer), toByteOffset: 8, as: Int64.self)
  }

  /// Throws unless `block` is the next one of its producer.
  @inline(__always)
  mutating func expect(_ block: Block) throws {
    let peer = Int(block.bytes.load(fromByteOffset: 8, as: Int64.self))
    let sequence = block.bytes.load(as: Int64.self)
    guard next.indices.contains(peer), sequence == next[peer] else { throw mismatch(peer, sequence) }
    next[peer] += 1
  }

  private func mismatch(_ peer: Int, _ sequence: Int64) -> BenchFailure {
    BenchFailure("block \(sequence) of producer \(peer) arrived out of order (expected: \(next))")
  }
}

/// Timing of an idle wait: CPU time of this thread (`getrusage` with
/// `RUSAGE_THREAD`) and the monotonic clock, before and after.
struct IdleClock {
  private let cpu = cipcb_thread_cpu_ns()
  private let wall = cipcb_now_ns()

  /// CPU nanoseconds per second since this clock started.
  func cpuPerSecond() throws -> Double {
    let cpuNow = cipcb_thread_cpu_ns()
    let wallNow = cipcb_now_ns()
    guard cpu >= 0, cpuNow >= 0, wallNow > wall else { throw BenchFailure("getrusage failed") }
    return Double(cpuNow - cpu) * 1e9 / Double(wallNow - wall)
  }

  /// The idle peer's stay: the wait, and a tenth of a second more.
  static func stay(milliseconds: Int) {
    var request = timespec(
      tv_sec: (milliseconds + 100) / 1000, tv_nsec: (milliseconds + 100) % 1000 * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
  }
}

/// The channel's C core in a plain loop.
final class CChannelLoops: OneWayLoops {
  private let attachment: CAttachment
  private let peer: Int
  private let producers: Int
  /// A child's producer slot, taken before it says it is ready: a stream
  /// ends when every producer that came is gone, so a fast producer must not
  /// finish before the other one has come.
  private let slot: Int32

  init(segment: Int32, peer: Int, producers: Int, producing: Bool) throws {
    attachment = try CAttachment(segment: segment)
    self.peer = peer
    self.producers = producers
    slot = producing ? cipc_channel_attach_producer(attachment.base) : -1
    if producing { try check(slot < 0 ? slot : 0, "cipc_channel_attach_producer", "channel") }
  }

  func send(count: Int, size: Int) throws {
    defer { cipc_channel_detach_producer(attachment.base, slot) }
    let block = Block(size: size)
    for sequence in 0..<count {
      ProducerSequences.stamp(block, sequence, peer: peer)
      try check(
        cipc_channel_send(attachment.base, slot, block.bytes.baseAddress, size, -1), "cipc_channel_send",
        "channel")
    }
  }

  func receive(count: Int, size: Int) throws {
    try check(cipc_channel_attach_consumer(attachment.base), "cipc_channel_attach_consumer", "channel")
    defer { cipc_channel_detach_consumer(attachment.base) }
    let block = Block(size: size)
    var sequences = ProducerSequences(producers: producers)
    for _ in 0..<count {
      let got = cipc_channel_receive(attachment.base, block.bytes.baseAddress, size, -1)
      guard got == Int64(size) else { throw BenchFailure("channel: received \(got) bytes") }
      try sequences.expect(block)
    }
  }

  func idleWait(milliseconds: Int, size: Int) throws -> Double {
    try check(cipc_channel_attach_consumer(attachment.base), "cipc_channel_attach_consumer", "channel")
    defer { cipc_channel_detach_consumer(attachment.base) }
    let block = Block(size: size)
    let clock = IdleClock()
    let got = cipc_channel_receive(
      attachment.base, block.bytes.baseAddress, size, Int64(milliseconds) * 1_000_000)
    let figure = try clock.cpuPerSecond()
    guard got == -Int64(EAGAIN) else { throw BenchFailure("channel: a message came while idle (\(got))") }
    // The peer's one message, sent once the wait is over.
    let last = cipc_channel_receive(attachment.base, block.bytes.baseAddress, size, -1)
    guard last == Int64(size) else { throw BenchFailure("channel: received \(last) bytes") }
    return figure
  }

  func idleStay(milliseconds: Int, size: Int) throws {
    defer { cipc_channel_detach_producer(attachment.base, slot) }
    IdleClock.stay(milliseconds: milliseconds)
    let block = Block(size: size)
    try check(
      cipc_channel_send(attachment.base, slot, block.bytes.baseAddress, size, -1), "cipc_channel_send",
      "channel")
  }
}

/// The same loops through `SharedChannelProducer` and `SharedChannelConsumer`.
final class SwiftChannelLoops: OneWayLoops {
  private let region: SharedRegion
  private let peer: Int
  private let producers: Int
  /// A child's producer, attached before it says it is ready (as in C).
  private let producer: SharedChannelProducer?

  init(segment: Int32, peer: Int, producers: Int, producing: Bool) throws {
    region = try SystemV.SharedMemory.open(id: segment).attach()
    self.peer = peer
    self.producers = producers
    producer = producing ? try SharedChannelProducer(region) : nil
  }

  func send(count: Int, size: Int) throws {
    guard let producer else { throw BenchFailure("the parent sends nothing") }
    let block = Block(size: size)
    let bytes = UnsafeRawBufferPointer(block.bytes)
    for sequence in 0..<count {
      ProducerSequences.stamp(block, sequence, peer: peer)
      try producer.send(bytes)
    }
    try producer.close()
  }

  func receive(count: Int, size: Int) throws {
    let consumer = try SharedChannelConsumer(region)
    let block = Block(size: size)
    var sequences = ProducerSequences(producers: producers)
    for _ in 0..<count {
      guard try consumer.receive(into: block.bytes) == size else {
        throw BenchFailure("channel: a short message")
      }
      try sequences.expect(block)
    }
    try consumer.close()
  }

  func idleWait(milliseconds: Int, size: Int) throws -> Double {
    let consumer = try SharedChannelConsumer(region)
    let block = Block(size: size)
    let clock = IdleClock()
    let got = try consumer.receive(timeout: .milliseconds(milliseconds))
    let figure = try clock.cpuPerSecond()
    guard got == nil else { throw BenchFailure("channel: a message came while idle") }
    // The peer's one message, sent once the wait is over.
    guard try consumer.receive(into: block.bytes) == size else {
      throw BenchFailure("channel: a short message")
    }
    try consumer.close()
    return figure
  }

  func idleStay(milliseconds: Int, size: Int) throws {
    guard let producer else { throw BenchFailure("the parent sends nothing") }
    IdleClock.stay(milliseconds: milliseconds)
    let block = Block(size: size)
    try producer.send(UnsafeRawBufferPointer(block.bytes))
    try producer.close()
  }
}
