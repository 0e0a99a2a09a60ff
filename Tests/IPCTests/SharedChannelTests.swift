import Foundation
import Glibc
import IPC
import Synchronization
import Testing

/// The shared-memory channel across processes: producers' messages arrive
/// whole and in each producer's order through small rings that wrap and
/// fill; a producer killed mid-stream leaves only whole messages and ends
/// the stream; a producer waiting for room learns that the consumer died;
/// bad numbers, sizes and layouts are errors that change nothing.
@Suite("Shared channel")
struct SharedChannelTests {
  @Test func badNumbersAndLayoutsAreErrorsThatChangeNothing() throws {
    for (producers, ring) in [(0, 4096), (65, 4096), (1, 1000), (1, 3 * 4096), (1, 1 << 31), (-1, -1)] {
      #expect(throws: IPCError.self) { try SharedChannel.requiredSize(producers: producers, ringSize: ring) }
    }
    #expect(try SharedChannel.requiredSize(producers: 2, ringSize: 4096) == 128 + 2 * (256 + 4096))
    try withSharedRegion(size: 4096) { region, _ in
      // Too small for even one ring and its control.
      #expect(throws: IPCError.self) {
        try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      }
      // Nothing laid out: no endpoint attaches.
      #expect {
        try SharedChannelConsumer(region)
      } throws: { error in
        (error as? IPCError)?.code == .invalidArgument
      }
      #expect(throws: IPCError.self) { try SharedChannelProducer(region) }
    }
    try withSharedRegion(size: 8192) { region, _ in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      let consumer = try SharedChannelConsumer(region)
      #expect(throws: IPCError.self) { try SharedChannelConsumer(region) }  // one consumer
      let producer = try SharedChannelProducer(region)
      #expect(throws: IPCError.self) { try SharedChannelProducer(region) }  // one slot
      #expect(producer.maximumMessageSize == 2040)
      #expect {
        try producer.send([UInt8](repeating: 1, count: 2041))
      } throws: { error in
        (error as? IPCError)?.code == .messageTooLong
      }
      // An array literal is bytes, not a JSON-encoded [Int].
      try producer.send([1, 2, 3])
      #expect(try consumer.receive() == [1, 2, 3])
      try producer.send([UInt8](repeating: 7, count: 300))
      // A buffer too small leaves the message where it is.
      var small = [UInt8](repeating: 0, count: 10)
      #expect(throws: IPCError.self) {
        try small.withUnsafeMutableBytes { buffer in _ = try consumer.receive(into: buffer) }
      }
      #expect(try consumer.receive() == [UInt8](repeating: 7, count: 300))
      #expect(try consumer.tryReceive() == nil)
      #expect(try consumer.receive(timeout: .milliseconds(20)) == nil)
      // The ring fills: trySend says so and sends nothing.
      var sent = 0
      while try producer.trySend([UInt8](repeating: UInt8(sent & 0xff), count: 100)) { sent += 1 }
      // 112-byte records from offset 312 (after the 300-byte one): 33 to the
      // ring's end, 88 bytes skipped there, 2 more before the head.
      #expect(sent == 35)
      #expect(try producer.send([UInt8](repeating: 1, count: 100), timeout: .milliseconds(20)) == false)
      for index in 0..<sent {
        #expect(try consumer.receive() == [UInt8](repeating: UInt8(index & 0xff), count: 100))
      }
      try producer.close()
      #expect(throws: IPCError.self) { try producer.send([1]) }
      // Every producer gone and every message read: the end of the stream.
      #expect(try consumer.receive() == nil)
      #expect {
        try consumer.tryReceive()
      } throws: { error in
        (error as? IPCError)?.code == .brokenPipe
      }
      try consumer.close()
      #expect(throws: IPCError.self) { try consumer.receive() }
    }
  }

  /// Two producer processes, rings of 4 KiB that wrap and fill all the time,
  /// messages of 5 to 300 bytes: every message arrives once, whole, and in
  /// its producer's order; then the stream ends.
  @Test(.prompt) func twoProducerProcessesArriveWholeAndInOrder() async throws {
    let count = 20_000
    let size = try SharedChannel.requiredSize(producers: 2, ringSize: 4096)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 2, ringSize: 4096)
      let peers = try [1, 2].map { id in
        try startPeer("channel-produce", arguments: [name, "\(id)", "\(count)", "300"])
      }
      let received = try await onOwnThread { () throws -> [UInt8: [UInt32]] in
        let consumer = try SharedChannelConsumer(region)
        var seen: [UInt8: [UInt32]] = [:]
        while let message = try consumer.receive() {
          guard let (id, index) = decodeChannelMessage(message) else {
            throw SpawnFailure(message: "a torn message")
          }
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

  /// Four producer processes into one consumer, 50,000 messages each of 5 to
  /// 300 bytes through rings of 64 KiB: checked per producer as they come,
  /// none lost, none twice, none out of order, none torn.
  /// `IPC_CHANNEL_STRESS_MESSAGES=1000000` runs the 4 × 10^6
  /// (Docs/SharedMemoryChannel.md gives that run's figures).
  @Test(.prompt) func fourProducerProcessesLoseDuplicateAndReorderNothing() async throws {
    let count =
      ProcessInfo.processInfo.environment["IPC_CHANNEL_STRESS_MESSAGES"].flatMap { Int($0) } ?? 50_000
    let size = try SharedChannel.requiredSize(producers: 4, ringSize: 1 << 16)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 4, ringSize: 1 << 16)
      let peers = try (1...4).map { id in
        try startPeer("channel-produce", arguments: [name, "\(id)", "\(count)", "300"])
      }
      let (next, faults) = try await onOwnThread { () throws -> ([Int], [String]) in
        let consumer = try SharedChannelConsumer(region)
        var next = [Int](repeating: 0, count: 5)
        var faults: [String] = []
        while let message = try consumer.receive() {
          guard let (id, index) = decodeChannelMessage(message), (1...4).contains(id) else {
            faults.append("a torn or foreign message of \(message.count) bytes")
            continue
          }
          // The length the producer gives message `index` (channelMessage, longest 300).
          if message.count != 5 + Int(index &* 2_654_435_761 % 296) {
            faults.append("producer \(id): message \(index) of \(message.count) bytes, cut or grown")
          }
          if Int(index) != next[Int(id)] {
            faults.append("producer \(id): message \(index) where \(next[Int(id)]) was next")
          }
          next[Int(id)] = Int(index) + 1
        }
        return (next, faults)
      }
      for peer in peers {
        #expect(try await peer.child.wait(timeout: .seconds(600)) == .exited(0), "\(peer.errors.text)")
      }
      #expect(faults.isEmpty, "\(faults.prefix(10))")
      #expect(next[1...] == [count, count, count, count][...])
    }
  }

  /// A producer killed with SIGKILL while it sends messages of up to 2000
  /// bytes: what arrives is whole and gap-free, and its death ends the stream.
  @Test(.prompt) func aProducerKilledMidStreamLeavesOnlyWholeMessages() async throws {
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: 1 << 16)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 1 << 16)
      let peer = try startPeer("channel-produce", arguments: [name, "1", "0", "2000"])
      let received = try await onOwnThread { () throws -> [UInt32] in
        let consumer = try SharedChannelConsumer(region)
        var indices: [UInt32] = []
        while let message = try consumer.receive() {
          guard let (id, index) = decodeChannelMessage(message), id == 1 else {
            throw SpawnFailure(message: "a torn message")
          }
          indices.append(index)
          if indices.count == 5_000 { kill(peer.child.pid, SIGKILL) }
        }
        return indices
      }
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .signalled(SIGKILL, coreDumped: false))
      #expect(received.count >= 5_000)
      #expect(received == Array(0..<UInt32(received.count)))
    }
  }

  /// A producer blocked on a full ring fails with `.brokenPipe` once the
  /// consumer dies, instead of waiting forever.
  @Test(.prompt) func aProducerWaitingForRoomLearnsTheConsumerDied() async throws {
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: 4096)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      let peer = try startPeer("channel-idle-consumer", arguments: [name])
      #expect(peer.output.waitFor("attached"))
      // The producer lives on a thread of its own (it is not Sendable), never
      // the test pool's: it fills the ring, then blocks for room.
      let full = Atomic<Bool>(false)
      async let blocked = onOwnThread { () throws -> (IPCError.Code?, ContinuousClock.Instant) in
        let producer = try SharedChannelProducer(region)
        while try producer.trySend([UInt8](repeating: 1, count: 500)) {}
        full.store(true, ordering: .releasing)
        do {
          try producer.send([UInt8](repeating: 2, count: 500))
          return (nil, .now)
        } catch {
          return ((error as? IPCError)?.code, .now)
        }
      }
      while !full.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
      try await Task.sleep(for: .milliseconds(100))
      let killed = ContinuousClock.now
      kill(peer.child.pid, SIGKILL)
      let (code, ended) = try await blocked
      #expect(code == .brokenPipe)
      // Parked sleepers look every 50 ms; a loaded machine may take longer.
      #expect(ended > killed && ended - killed < .seconds(10))
      _ = try await peer.child.wait(timeout: .seconds(60))
    }
  }

  /// A timed receive and a timed send keep their deadlines while signals
  /// keep interrupting their futex sleeps: the C core reports each EINTR and
  /// the Swift layer waits again for the time left.
  @Test(.prompt, arguments: ["receive", "send"])
  func timedWaitsKeepTheirDeadlinesWhileSignalsKeepArriving(form: String) async throws {
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: 4096)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: 4096)
      // For the send, this process is the live consumer of a ring the child fills.
      let consumer = form == "send" ? try SharedChannelConsumer(region) : nil
      await #expect(processExitsWith: .success) { [name = name as String, form = form as String] in
        let region = try POSIX.SharedMemory.open(name).map()
        if form == "receive" {
          let consumer = try SharedChannelConsumer(region)
          try checkTimedWaitKeepsItsDeadlineUnderSignals { try consumer.receive(timeout: $0) != nil }
        } else {
          let producer = try SharedChannelProducer(region)
          while try producer.trySend([UInt8](repeating: 1, count: 500)) {}
          try checkTimedWaitKeepsItsDeadlineUnderSignals {
            try producer.send([UInt8](repeating: 2, count: 500), timeout: $0)
          }
        }
      }
      try consumer?.close()
    }
  }
}
