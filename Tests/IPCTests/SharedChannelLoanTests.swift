import Foundation
import Glibc
import IPC
import Testing

/// The zero-copy forms of the shared channel: a producer's loan publishes
/// exactly what its body wrote, or nothing (body returned 0, threw, or its
/// process was killed inside it); a consumer's in-place read consumes the
/// message only when its body returns; both across processes, through rings
/// that wrap.
@Suite("Shared channel loans")
struct SharedChannelLoanTests {
  @Test func aLoanPublishesWhatItsBodyWroteOrNothing() throws {
    try withSharedRegion(size: 8192) { region, _ in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      let consumer = try SharedChannelConsumer(region)
      let producer = try SharedChannelProducer(region)
      // 10 of 100 bytes lent: a 10-byte message.
      #expect(
        try producer.send(reservingUpTo: 100) { buffer in
          for index in 0..<10 { buffer[index] = UInt8(index) }
          return 10
        } == 10)
      #expect(try consumer.tryReceive() == Array(0..<10))
      // Returning 0, throwing, or a count beyond the loan: nothing published.
      #expect(try producer.send(reservingUpTo: 100) { _ in 0 } == 0)
      struct Abandoned: Error {}
      #expect(throws: Abandoned.self) { try producer.send(reservingUpTo: 100) { _ in throw Abandoned() } }
      #expect {
        try producer.send(reservingUpTo: 100) { _ in 101 }
      } throws: { error in
        (error as? IPCError)?.code == .invalidArgument
      }
      #expect {
        try producer.send(reservingUpTo: -1) { _ in 0 }
      } throws: { error in
        (error as? IPCError)?.code == .invalidArgument
      }
      var ran = false
      #expect {
        try producer.send(reservingUpTo: 2041) { _ in
          ran = true
          return 1
        }
      } throws: { error in
        (error as? IPCError)?.code == .messageTooLong
      }
      #expect(!ran)
      #expect(try consumer.tryReceive() == nil)
      // Fill the ring with loans: the try form says so and its body never runs.
      var sent = 0
      while try producer.trySend(
        reservingUpTo: 100,
        { buffer in
          buffer.storeBytes(of: UInt8(sent & 0xff), as: UInt8.self)
          return 1
        }) != nil
      {
        sent += 1
      }
      #expect(sent > 0)
      #expect(
        try producer.trySend(reservingUpTo: 100) { _ in
          ran = true
          return 1
        } == nil)
      #expect(
        try producer.send(reservingUpTo: 100, timeout: .milliseconds(20)) { _ in
          ran = true
          return 1
        } == nil)
      #expect(!ran)
      for index in 0..<sent { #expect(try consumer.tryReceive() == [UInt8(index & 0xff)]) }
      #expect(try consumer.tryReceive() == nil)
      try producer.close()
      #expect(throws: IPCError.self) { try producer.send(reservingUpTo: 1) { _ in 1 } }
      try consumer.close()
    }
  }

  @Test func anInPlaceReadConsumesTheMessageOnlyWhenItsBodyReturns() throws {
    try withSharedRegion(size: 8192) { region, _ in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      let consumer = try SharedChannelConsumer(region)
      let producer = try SharedChannelProducer(region)
      #expect(try consumer.tryReceive { _ in true } == nil)
      #expect(try consumer.receive(timeout: .milliseconds(20)) { _ in true } == nil)
      try producer.send([1, 2, 3] as [UInt8])
      try producer.send([4] as [UInt8])
      struct Refused: Error {}
      #expect(throws: Refused.self) { try consumer.receive { _ in throw Refused() } }
      // Still there, and first.
      let first = try consumer.receive { bytes -> [UInt8] in Array(bytes) }
      #expect(first == [1, 2, 3])
      let second = try consumer.tryReceive { bytes -> [UInt8] in Array(bytes) }
      #expect(second == [4])
      try producer.send([] as [UInt8])
      #expect(try consumer.receive(timeout: .seconds(5)) { $0.count } == 0)
      try producer.close()
      // Every producer gone and every message read: the end of the stream.
      #expect(try consumer.receive { _ in true } == nil)
      #expect {
        try consumer.tryReceive { _ in true }
      } throws: { error in
        (error as? IPCError)?.code == .brokenPipe
      }
      try consumer.close()
      #expect(throws: IPCError.self) { try consumer.receive { _ in true } }
    }
  }

  /// Loans of every size from 0 to the channel's limit, each lent the whole
  /// limit (so the ring skips to its start whenever the limit does not fit
  /// before its end), read in place: each arrives whole.
  @Test func loansOfEverySizeWrapTheRing() throws {
    try withSharedRegion(size: 8192) { region, _ in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      let consumer = try SharedChannelConsumer(region)
      let producer = try SharedChannelProducer(region)
      let limit = producer.maximumMessageSize
      // A loan that uses 0 bytes publishes nothing: sizes from 1.
      for size in 1...limit {
        let sent = try producer.send(reservingUpTo: limit) { buffer in
          for index in 0..<size { buffer[index] = UInt8(truncatingIfNeeded: index &+ size) }
          return size
        }
        #expect(sent == size)
        let whole = try consumer.receive { bytes in
          bytes.count == size
            && bytes.indices.allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0 &+ size) }
        }
        #expect(whole == true, "message of \(size) bytes")
      }
      try producer.close()
      try consumer.close()
    }
  }

  /// Two producer processes write every message through a loan, byte by
  /// byte, into 4 KiB rings; the consumer reads in place: every message
  /// arrives once, whole, in its producer's order.
  @Test(.prompt) func twoLoaningProducerProcessesArriveWholeAndInOrder() async throws {
    let count = 10_000
    let size = try SharedChannel.requiredSize(producers: 2, ringSize: 4096)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 2, ringSize: 4096)
      let peers = try [1, 2].map { id in
        try startPeer("channel-loan-produce", arguments: [name, "\(id)", "\(count)", "300"])
      }
      let received = try await onOwnThread { () throws -> [UInt8: [UInt32]] in
        let consumer = try SharedChannelConsumer(region)
        var seen: [UInt8: [UInt32]] = [:]
        while let decoded = try consumer.receive({ decodeChannelMessage($0) }) {
          guard let (id, index) = decoded else { throw SpawnFailure(message: "a torn message") }
          seen[id, default: []].append(index)
        }
        return seen
      }
      for peer in peers {
        #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      }
      #expect(received[1] == Array(0..<UInt32(count)))
      #expect(received[2] == Array(0..<UInt32(count)))
    }
  }

  /// A producer killed inside its loan's body, half the message written:
  /// the consumer gets the whole messages before it, never the half one, and
  /// the stream ends.
  @Test(.prompt) func aProducerKilledInsideItsLoanSendsNothing() async throws {
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: 4096)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      let consumer = HandedEndpoint(try SharedChannelConsumer(region))
      let peer = try startPeer("channel-loan-hang", arguments: [name, "3"])
      #expect(peer.output.waitFor("filling"))
      kill(peer.child.pid, SIGKILL)
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .signalled(SIGKILL, coreDumped: false))
      let received = try await onOwnThread { () throws -> [[UInt8]] in
        var messages: [[UInt8]] = []
        while let message = try consumer.endpoint.receive() { messages.append(message) }
        return messages
      }
      #expect(received == (0..<3).map { channelMessage(id: 1, index: $0, longest: 200) })
    }
  }

  /// Seeded rounds: a producer writing loans byte by byte is killed after a
  /// varied number of messages; what arrives is whole and gap-free, and
  /// every round's stream ends. 20 rounds in the suite;
  /// `IPC_CHANNEL_KILL_ROUNDS=N` runs N (Docs/SharedMemoryChannel.md gives a
  /// long run's figure).
  @Test(.prompt) func producersKilledAtVariedPointsMidLoanLeaveOnlyWholeMessages() async throws {
    var generator = SeededGenerator(state: 18)
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: 1 << 14)
    let rounds = ProcessInfo.processInfo.environment["IPC_CHANNEL_KILL_ROUNDS"].flatMap { Int($0) } ?? 20
    for round in 0..<rounds {
      let killAfter = Int.random(in: 1...400, using: &generator)
      try await withSharedRegion(size: size) { region, name in
        try SharedChannel.initialize(in: region, producers: 1, ringSize: 1 << 14)
        let peer = try startPeer("channel-loan-produce", arguments: [name, "1", "0", "2000"])
        let received = try await onOwnThread { () throws -> [UInt32] in
          let consumer = try SharedChannelConsumer(region)
          var indices: [UInt32] = []
          while let decoded = try consumer.receive({ decodeChannelMessage($0) }) {
            guard let (id, index) = decoded, id == 1 else { throw SpawnFailure(message: "a torn message") }
            indices.append(index)
            if indices.count == killAfter { kill(peer.child.pid, SIGKILL) }
          }
          return indices
        }
        #expect(try await peer.child.wait(timeout: .seconds(60)) == .signalled(SIGKILL, coreDumped: false))
        #expect(received.count >= killAfter, "round \(round)")
        #expect(received == Array(0..<UInt32(received.count)), "round \(round)")
      }
    }
  }
}
