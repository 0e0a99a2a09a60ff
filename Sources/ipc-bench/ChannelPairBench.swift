import CIPCBench
import CIPCShims
import Glibc
import IPC

/// "shm-channel" round trips: two private System V segments, one per
/// direction, each holding a `SharedChannel` with one producer slot of
/// 64 KiB and, after it, the C baselines' objects: a one-way spin ring (the
/// layout of "shm-ring") and an unnamed POSIX semaphore (`sem_init` with
/// pshared 1). The Swift column always goes through the channels; the C
/// column runs the row's baseline: the spin ring both ways (busy round
/// trip), the semaphores (parked round trip), or the channel's C core with
/// raw bytes (typed rows). The child gets both ids.
final class SharedChannelPairFixture: Fixture {
  /// Where the spin ring starts in each segment: after the channel, on a page of its own.
  static let ringOffset = (channelSize + 4095) / 4096 * 4096
  /// Where the semaphore lies: after the ring's 128 + 64 × 64 bytes.
  static let semaphoreOffset = ringOffset + 8192
  static let segmentSize = semaphoreOffset + 4096
  static let ringSlots = SharedMemorySlots.atomicRing
  private static let channelSize =
    (try? SharedChannel.requiredSize(producers: 1, ringSize: SharedChannelFixture.ringSize)) ?? 0

  private var toChild: BenchSegment
  private var toParent: BenchSegment?

  init(size: Int) throws {
    toChild = try BenchSegment(size: Self.segmentSize)
    do {
      let other = try BenchSegment(size: Self.segmentSize)
      toParent = other
      for segment in [toChild.segment, other.segment] {
        try SharedChannel.initialize(
          in: try segment.attach(), producers: 1, ringSize: SharedChannelFixture.ringSize)
        let raw = try CAttachment(segment: segment.id)
        try check(cipcb_sem_init_shared(raw.base + Self.semaphoreOffset), "sem_init", "benchmark semaphore")
      }
    } catch {
      remove()
      throw error
    }
  }

  var childArguments: [String] {
    ["--to-child", "\(toChild.segment.id)", "--to-parent", "\(toParent?.segment.id ?? -1)"]
  }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    guard let toParent else { throw BenchFailure("no segment to the parent") }
    let loops = try ChannelPairLoops(impl, out: toChild.segment.id, in: toParent.segment.id, parent: true)
    // Both processes are attached: the segments live as long as they do.
    remove()
    return loops
  }

  /// A peer that dies leaves the parent waiting on a channel with no
  /// producer left (its stream ends), or on the spin ring or a semaphore,
  /// which nothing wakes: then the watchdog ends the run.
  func childFailed() -> Bool {
    toChild.entry?.removeNow()
    toParent?.entry?.removeNow()
    return false
  }

  deinit { remove() }

  func remove() {
    toChild.remove()
    toParent?.remove()
  }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    try ChannelPairLoops(
      impl, out: arguments.id("--to-parent"), in: arguments.id("--to-child"), parent: false)
  }
}

/// `BenchPing` and `BenchPong` as one plain value for the bitwise coder: a
/// sequence number and 48 bytes more, 56 in all (68 with the coder's fingerprint).
struct BenchPlain: Codable, BitwiseCopyable {
  var sequence: Int
  var a = 1, b = 2, c = 3, d = 4, e = 5, f = 6
}

/// One side of a round trip over two channels (or the C baselines beside
/// them): it sends on `out` and receives on `in`.
final class ChannelPairLoops: MessageLoops {
  private let impl: Implementation
  private let out: CAttachment
  private let `in`: CAttachment
  private let outRegion: SharedRegion
  private let inRegion: SharedRegion
  /// The semaphores by direction: posted by the parent, posted by the child.
  private let toChild: UnsafeMutablePointer<sem_t>
  private let toParent: UnsafeMutablePointer<sem_t>

  init(_ impl: Implementation, out: Int32, in: Int32, parent: Bool) throws {
    self.impl = impl
    self.out = try CAttachment(segment: out)
    self.in = try CAttachment(segment: `in`)
    outRegion = try SystemV.SharedMemory.open(id: out).attach()
    inRegion = try SystemV.SharedMemory.open(id: `in`).attach()
    let sent = (self.out.base + SharedChannelPairFixture.semaphoreOffset).assumingMemoryBound(to: sem_t.self)
    let received = (self.in.base + SharedChannelPairFixture.semaphoreOffset).assumingMemoryBound(
      to: sem_t.self)
    (toChild, toParent) = parent ? (sent, received) : (received, sent)
  }

  func send(count: Int, size: Int) throws { throw BenchFailure.pairRoundTripsOnly }
  func receive(count: Int, size: Int) throws { throw BenchFailure.pairRoundTripsOnly }

  // The busy round trip: the channels against the spin ring both ways.

  func ping(rounds: Int, size: Int) throws {
    switch impl {
    case .c: try check(cipcb_ring_ping(ring(out), ring(`in`), rounds, size, slots), "cipcb_ring_ping", "ring")
    case .swift: try swiftRounds(rounds, size: size, pause: 0, first: true)
    }
  }

  func pong(rounds: Int, size: Int) throws {
    switch impl {
    case .c: try check(cipcb_ring_pong(ring(out), ring(`in`), rounds, size, slots), "cipcb_ring_pong", "ring")
    case .swift: try swiftRounds(rounds, size: size, pause: 0, first: false)
    }
  }

  // The parked round trip: the channels against the semaphores.

  func pausedPing(rounds: Int, size: Int, pause: Int64) throws {
    switch impl {
    case .c:
      try check(
        cipcb_sem_ping_paused(toChild, toParent, rounds, pause), "cipcb_sem_ping_paused", "semaphores")
    case .swift: try swiftRounds(rounds, size: size, pause: pause, first: true)
    }
  }

  func pausedPong(rounds: Int, size: Int, pause: Int64) throws {
    switch impl {
    case .c:
      try check(
        cipcb_sem_pong_paused(toChild, toParent, rounds, pause), "cipcb_sem_pong_paused", "semaphores")
    case .swift: try swiftRounds(rounds, size: size, pause: pause, first: false)
    }
  }

  // Typed round trips: the channels with a coder against the channel's C core with raw bytes.

  func typedPing(rounds: Int, size: Int, coding: TypedCoding) throws {
    guard impl == .swift else { return try cRounds(rounds, size: size, first: true) }
    try typedRounds(rounds, coding: coding, first: true)
  }

  func typedPong(rounds: Int, size: Int, coding: TypedCoding) throws {
    guard impl == .swift else { return try cRounds(rounds, size: size, first: false) }
    try typedRounds(rounds, coding: coding, first: false)
  }

  private var slots: Int { SharedChannelPairFixture.ringSlots }

  private func ring(_ attachment: CAttachment) -> UnsafeMutableRawPointer {
    attachment.base + SharedChannelPairFixture.ringOffset
  }

  /// Round trips of raw blocks through `SharedChannelProducer` and
  /// `SharedChannelConsumer`; `first`: this side sends first (the ping).
  /// With a pause, each side spins that long before it sends.
  private func swiftRounds(_ rounds: Int, size: Int, pause: Int64, first: Bool) throws {
    let producer = try SharedChannelProducer(outRegion)
    let consumer = try SharedChannelConsumer(inRegion)
    let block = Block(size: size)
    let bytes = UnsafeRawBufferPointer(block.bytes)
    for sequence in 0..<rounds {
      if !first {
        guard try consumer.receive(into: block.bytes) == size else { throw BenchFailure("channel: short") }
        try block.expect(sequence)
      }
      if pause > 0 { cipcb_spin_ns(pause) }
      block.stamp(sequence)
      try producer.send(bytes)
      if first {
        guard try consumer.receive(into: block.bytes) == size else { throw BenchFailure("channel: short") }
        try block.expect(sequence)
      }
    }
    try producer.close()
    try consumer.close()
  }

  /// The same round trips through the channel's C core.
  private func cRounds(_ rounds: Int, size: Int, first: Bool) throws {
    let slot = cipc_channel_attach_producer(out.base)
    try check(slot < 0 ? slot : 0, "cipc_channel_attach_producer", "channel")
    defer { cipc_channel_detach_producer(out.base, slot) }
    try check(cipc_channel_attach_consumer(self.in.base), "cipc_channel_attach_consumer", "channel")
    defer { cipc_channel_detach_consumer(self.in.base) }
    let block = Block(size: size)
    for sequence in 0..<rounds {
      if !first {
        let got = cipc_channel_receive(self.in.base, block.bytes.baseAddress, size, -1)
        guard got == Int64(size) else { throw BenchFailure("channel: received \(got) bytes") }
        try block.expect(sequence)
      }
      block.stamp(sequence)
      try check(
        cipc_channel_send(out.base, slot, block.bytes.baseAddress, size, -1), "cipc_channel_send", "channel")
      if first {
        let got = cipc_channel_receive(self.in.base, block.bytes.baseAddress, size, -1)
        guard got == Int64(size) else { throw BenchFailure("channel: received \(got) bytes") }
        try block.expect(sequence)
      }
    }
  }

  private func typedRounds(_ rounds: Int, coding: TypedCoding, first: Bool) throws {
    let producer = try SharedChannelProducer(outRegion)
    let consumer = try SharedChannelConsumer(inRegion)
    switch coding {
    case .json: try codableRounds(rounds, producer, consumer, JSONMessageCoder(), first: first)
    case .binary: try codableRounds(rounds, producer, consumer, BinaryMessageCoder(), first: first)
    case .bitwise:
      let coder = BitwiseMessageCoder()
      for sequence in 0..<rounds {
        if !first {
          guard try consumer.receive(BenchPlain.self, coder: coder)?.sequence == sequence else {
            throw BenchFailure("typed message out of order")
          }
        }
        try producer.send(BenchPlain(sequence: sequence), coder: coder)
        if first {
          guard try consumer.receive(BenchPlain.self, coder: coder)?.sequence == sequence else {
            throw BenchFailure("typed reply out of order")
          }
        }
      }
    }
    try producer.close()
    try consumer.close()
  }

  /// `BenchPing` out, `BenchPong` back (about 60 bytes in JSON), as the
  /// System V typed row sends them.
  private func codableRounds<Coder: MessageCoder>(
    _ rounds: Int, _ producer: SharedChannelProducer, _ consumer: SharedChannelConsumer, _ coder: Coder,
    first: Bool
  ) throws {
    let note = "typed message of about sixty-four bytes"
    for sequence in 0..<rounds {
      if first {
        try producer.send(BenchPing(sequence: sequence, note: note), coder: coder)
        guard try consumer.receive(BenchPong.self, coder: coder)?.sequence == sequence else {
          throw BenchFailure("typed reply out of order")
        }
      } else {
        guard let ping = try consumer.receive(BenchPing.self, coder: coder), ping.sequence == sequence else {
          throw BenchFailure("typed message out of order")
        }
        try producer.send(BenchPong(sequence: ping.sequence, note: ping.note), coder: coder)
      }
    }
  }
}
