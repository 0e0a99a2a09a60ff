import Glibc
import IPC
import Synchronization
import Testing

/// How the shared channel tells a live peer from a dead one: each side's
/// identity in the region is its pid and its process start time, so a pid
/// whose start time differs (a recycled pid, faked here by writing another
/// start time into the region) is a dead peer: its producer slot is
/// reclaimed and the stream ends, or producers learn the consumer is gone.
/// A consumer killed while a producer waits for room ends every form of the
/// wait with an error; a channel of another layout version is refused by name.
@Suite("Shared channel liveness")
struct SharedChannelLivenessTests {
  static let ringSize = 4096

  @Test(.prompt) func aProducerWhosePidWasRecycledIsDead() async throws {
    let ring = Self.ringSize
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: ring)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: ring)
      let consumer = HandedEndpoint(try SharedChannelConsumer(region))
      let peer = try startPeer("channel-produce-then-idle", arguments: [name, "3"])
      defer { kill(peer.child.pid, SIGKILL) }
      #expect(peer.output.waitFor("sent"))
      // The slot records the producer's pid and start time.
      let pid = try region.atomicLoad(Int32.self, at: ChannelLayout.ownerPid(slot: 0, ringSize: ring))
      let start = UInt32(
        bitPattern: try region.atomicLoad(Int32.self, at: ChannelLayout.ownerStart(slot: 0, ringSize: ring)))
      #expect(pid == peer.child.pid)
      #expect(start != 0 && start == processStartTime(peer.child.pid))
      let received = try await onOwnThread { () throws -> Int in
        var count = 0
        while try consumer.endpoint.tryReceive() != nil { count += 1 }
        return count
      }
      #expect(received == 3)
      // The producer lives on; with its start time changed, its pid is as
      // good as another process's.
      try region.atomicStore(
        Int32(bitPattern: start &+ 1), at: ChannelLayout.ownerStart(slot: 0, ringSize: ring))
      let ended = try await onOwnThread { () -> IPCError.Code? in
        do {
          _ = try consumer.endpoint.receive(timeout: .seconds(20))
          return nil
        } catch {
          return (error as? IPCError)?.code
        }
      }
      #expect(ended == .brokenPipe)
      // And its slot is free for a new producer.
      let producer = try SharedChannelProducer(region)
      try producer.close()
      #expect(kill(peer.child.pid, 0) == 0)  // it was alive all along
    }
  }

  @Test(.prompt) func aConsumerWhosePidWasRecycledIsGone() async throws {
    let ring = Self.ringSize
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: ring)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: ring)
      let peer = try startPeer("channel-idle-consumer", arguments: [name])
      defer { kill(peer.child.pid, SIGKILL) }
      #expect(peer.output.waitFor("attached"))
      #expect(try region.atomicLoad(Int32.self, at: ChannelLayout.consumerPid) == peer.child.pid)
      let start = UInt32(bitPattern: try region.atomicLoad(Int32.self, at: ChannelLayout.consumerStart))
      #expect(start != 0 && start == processStartTime(peer.child.pid))
      let producer = HandedEndpoint(try SharedChannelProducer(region))
      #expect(throws: IPCError.self) { try SharedChannelConsumer(region) }  // the consumer lives
      let code = try await onOwnThread { () -> IPCError.Code? in
        while try producer.endpoint.trySend([UInt8](repeating: 1, count: 500)) {}
        try region.atomicStore(Int32(bitPattern: start &+ 1), at: ChannelLayout.consumerStart)
        do {
          _ = try producer.endpoint.send([UInt8](repeating: 2, count: 500), timeout: .seconds(20))
          return nil
        } catch {
          return (error as? IPCError)?.code
        }
      }
      #expect(code == .brokenPipe)
      // A new consumer may attach in its place.
      let consumer = try SharedChannelConsumer(region)
      try consumer.close()
    }
  }

  /// The blocking loan, and the timed forms, of a producer waiting for room
  /// end with `.brokenPipe` once the consumer is killed.
  @Test(.prompt, arguments: ["loan", "timed-loan", "timed-send"])
  func aProducerWaitingForRoomInAnyFormLearnsTheConsumerDied(form: String) async throws {
    let ring = Self.ringSize
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: ring)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: ring)
      let peer = try startPeer("channel-idle-consumer", arguments: [name])
      #expect(peer.output.waitFor("attached"))
      let full = Flag()
      async let blocked = onOwnThread { () throws -> IPCError.Code? in
        let producer = try SharedChannelProducer(region)
        while try producer.trySend([UInt8](repeating: 1, count: 500)) {}
        full.set()
        do {
          switch form {
          case "loan": try producer.send(reservingUpTo: 500) { _ in 500 }
          case "timed-loan": _ = try producer.send(reservingUpTo: 500, timeout: .seconds(600)) { _ in 500 }
          default: _ = try producer.send([UInt8](repeating: 2, count: 500), timeout: .seconds(600))
          }
          return nil
        } catch {
          return (error as? IPCError)?.code
        }
      }
      #expect(await eventually { full.isSet })
      try await Task.sleep(for: .milliseconds(100))
      kill(peer.child.pid, SIGKILL)
      #expect(try await blocked == .brokenPipe)
      _ = try await peer.child.wait(timeout: .seconds(60))
    }
  }

  @Test func aChannelOfAnotherLayoutVersionIsRefusedByName() throws {
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: Self.ringSize)
    try withSharedRegion(size: size) { region, _ in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: Self.ringSize)
      try region.store(UInt32(1), at: ChannelLayout.version)
      for attach in [{ _ = try SharedChannelConsumer(region) }, { _ = try SharedChannelProducer(region) }] {
        #expect {
          try attach()
        } throws: { error in
          guard let error = error as? IPCError else { return false }
          return error.code == .invalidArgument && error.reason.contains("layout version 1")
            && error.reason.contains("version 2")
        }
      }
      // Nothing was changed: the old version's word is still there.
      #expect(try region.load(UInt32.self, at: ChannelLayout.version) == 1)
    }
  }
}
