import Glibc
import IPC
import Testing

/// The async forms of the shared channel: every receive and send form
/// across two real processes, cancellation before and during a wait with
/// nothing consumed or published, cancellation racing arrivals with nothing
/// lost or duplicated, timeouts, and a consumer killed under an async send.
@Suite("Shared channel async")
struct SharedChannelAsyncTests {
  static let ringSize = 4096

  /// Runs `body` with a fresh channel of one 4 KiB ring and the name of its object.
  func withChannel(_ body: (SharedRegion, String) async throws -> Void) async throws {
    let size = try SharedChannel.requiredSize(producers: 1, ringSize: Self.ringSize)
    try await withSharedRegion(size: size) { region, name in
      try SharedChannel.initialize(in: region, producers: 1, ringSize: Self.ringSize)
      try await body(region, name)
    }
  }

  @Test(.prompt) func everyAsyncReceiveFormTakesAnotherProcesssMessages() async throws {
    try await withChannel { region, name in
      let consumer = try SharedChannelConsumer(region)
      let count = 3000
      let peer = try startPeer("channel-produce", arguments: [name, "1", "\(count)", "300"])
      var indices: [UInt32] = []
      let buffer = TestBytes(count: 300)
      while true {
        let message: [UInt8]?
        switch indices.count % 4 {
        case 0: message = try await consumer.receive()
        case 1:
          message = try await consumer.receive(into: buffer.bytes).map { Array(buffer.bytes.prefix($0)) }
        case 2: message = try await consumer.receive { Array($0) }
        default:
          do {
            message = try await consumer.receive(timeout: .seconds(30))
          } catch let error as IPCError where error.code == .brokenPipe {
            message = nil
          }
        }
        guard let message else { break }
        guard let (id, index) = decodeChannelMessage(message), id == 1 else {
          Issue.record("a torn message")
          break
        }
        indices.append(index)
      }
      #expect(indices == Array(0..<UInt32(count)))
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
    }
  }

  @Test(.prompt) func everyAsyncSendFormReachesAnotherProcess() async throws {
    try await withChannel { region, name in
      let count = 3000
      let peer = try startPeer("channel-consume", arguments: [name, "\(count)", "300"])
      #expect(peer.output.waitFor("attached"))
      let producer = try SharedChannelProducer(region)
      for index in 0..<UInt32(count) {
        let message = channelMessage(id: 1, index: index, longest: 300)
        switch index % 4 {
        case 0: try await producer.send(message)
        case 1: #expect(try await producer.send(message, timeout: .seconds(30)))
        case 2:
          try await producer.send(reservingUpTo: 300) { buffer in
            buffer.copyBytes(from: message)
            return message.count
          }
        default:
          let sent = try await producer.send(reservingUpTo: 300, timeout: .seconds(30)) { buffer in
            buffer.copyBytes(from: message)
            return message.count
          }
          #expect(sent == message.count)
        }
      }
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.output.text)")
      try producer.close()
    }
  }

  @Test(.prompt) func aCancelledTaskTakesAndSendsNothingEvenWhenItCould() async throws {
    try await withChannel { region, _ in
      let consumer = HandedEndpoint(try SharedChannelConsumer(region))
      let producer = HandedEndpoint(try SharedChannelProducer(region))
      #expect(try producer.endpoint.trySend([7]))
      let ran = Flag()
      let outcomes = await [
        TaskEndings.cancelledBeforehand { try await consumer.endpoint.receive() != nil },
        TaskEndings.cancelledBeforehand {
          try await consumer.endpoint.receive { _ in ran.set() } != nil
        },
        TaskEndings.cancelledBeforehand {
          try await producer.endpoint.send([8] as [UInt8])
          return true
        },
        TaskEndings.cancelledBeforehand {
          try await producer.endpoint.send(reservingUpTo: 8) { _ in
            ran.set()
            return 1
          } == 1
        },
      ]
      for outcome in outcomes { #expect(TaskEndings.code(outcome) == .cancelled) }
      #expect(!ran.isSet)
      #expect(try consumer.endpoint.tryReceive() == [7])
      #expect(try consumer.endpoint.tryReceive() == nil)
    }
  }

  @Test(.prompt) func cancellingAReceiveWhileItWaitsConsumesNothing() async throws {
    try await withChannel { region, _ in
      let consumer = HandedEndpoint(try SharedChannelConsumer(region))
      let producer = try SharedChannelProducer(region)
      let ran = Flag()
      let waits = await [
        TaskEndings.cancelledWhileWaiting { try await consumer.endpoint.receive() != nil },
        TaskEndings.cancelledWhileWaiting { try await consumer.endpoint.receive { _ in ran.set() } != nil },
        TaskEndings.cancelledWhileWaiting {
          try await consumer.endpoint.receive(timeout: .seconds(600)) != nil
        },
      ]
      for outcome in waits { #expect(TaskEndings.code(outcome) == .cancelled) }
      #expect(!ran.isSet)
      // Nothing waits on behalf of the cancelled tasks: a message stays.
      #expect(try producer.trySend([9]))
      #expect(try consumer.endpoint.tryReceive() == [9])
    }
  }

  @Test(.prompt) func cancellingASendWhileItWaitsPublishesNothing() async throws {
    try await withChannel { region, _ in
      let consumer = try SharedChannelConsumer(region)
      let producer = HandedEndpoint(try SharedChannelProducer(region))
      var sent = 0
      while try producer.endpoint.trySend([UInt8(sent & 0xff)]) { sent += 1 }
      let ran = Flag()
      let waits = await [
        TaskEndings.cancelledWhileWaiting {
          try await producer.endpoint.send([0xEE] as [UInt8])
          return true
        },
        TaskEndings.cancelledWhileWaiting {
          try await producer.endpoint.send([0xEE], timeout: .seconds(600))
        },
        TaskEndings.cancelledWhileWaiting {
          try await producer.endpoint.send(reservingUpTo: 8) { _ in
            ran.set()
            return 1
          } == 1
        },
      ]
      for outcome in waits { #expect(TaskEndings.code(outcome) == .cancelled) }
      #expect(!ran.isSet)
      for index in 0..<sent { #expect(try consumer.tryReceive() == [UInt8(index & 0xff)]) }
      #expect(try consumer.tryReceive() == nil)
    }
  }

  /// Another process sends 200 messages while this one starts async
  /// receives and cancels them at varied moments: each receive returned a
  /// message or took nothing, so the messages taken by the receives, then
  /// those left, are every message once and in order.
  @Test(.prompt) func cancellationRacingArrivalsLosesNothing() async throws {
    try await withChannel { region, name in
      let consumer = HandedEndpoint(try SharedChannelConsumer(region))
      let count = 200
      let peer = try startPeer("channel-produce", arguments: [name, "1", "\(count)", "100"])
      var generator = SeededGenerator(state: 200)
      var taken: [[UInt8]] = []
      for _ in 0..<count {
        let pause = Duration.microseconds(Int.random(in: 0...2000, using: &generator))
        let task = Task { try await consumer.endpoint.receive() }
        try await Task.sleep(for: pause)
        task.cancel()
        let outcome = await TaskEndings.result(of: task)
        switch outcome {
        case .success(let message?): taken.append(message)
        case .success(nil): break
        default: #expect(TaskEndings.code(outcome) == .cancelled)
        }
      }
      let rest = try await onOwnThread { () throws -> [[UInt8]] in
        var messages: [[UInt8]] = []
        while let message = try consumer.endpoint.receive() { messages.append(message) }
        return messages
      }
      let all = (taken + rest).map { decodeChannelMessage($0)?.index }
      #expect(all == (0..<UInt32(count)).map { $0 })
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0))
    }
  }

  @Test(.prompt) func timeoutsEndWithNothingTakenOrSentAndValuesFedInTimeArrive() async throws {
    try await withChannel { region, _ in
      let consumer = try SharedChannelConsumer(region)
      let producer = HandedEndpoint(try SharedChannelProducer(region))
      #expect(try await consumer.receive(timeout: .milliseconds(30)) == nil)
      #expect(try await consumer.receive(timeout: .milliseconds(30)) { _ in true } == nil)
      // Fed in time, from another thread.
      let feeder = Task.detached {
        try await Task.sleep(for: .milliseconds(50))
        _ = try producer.endpoint.trySend([5])
      }
      #expect(try await consumer.receive(timeout: .seconds(60)) == [5])
      try await feeder.value
      var sent = 0
      while try producer.endpoint.trySend([UInt8(sent & 0xff)]) { sent += 1 }
      #expect(try await producer.endpoint.send([1], timeout: .milliseconds(30)) == false)
      var ran = false
      let lent = try await producer.endpoint.send(reservingUpTo: 1, timeout: .milliseconds(30)) { _ in
        ran = true
        return 1
      }
      #expect(lent == nil && !ran)
      for index in 0..<sent { #expect(try consumer.tryReceive() == [UInt8(index & 0xff)]) }
      #expect(try consumer.tryReceive() == nil)
    }
  }

  @Test(.prompt) func anAsyncSendWaitingForRoomLearnsTheConsumerDied() async throws {
    try await withChannel { region, name in
      let peer = try startPeer("channel-idle-consumer", arguments: [name])
      #expect(peer.output.waitFor("attached"))
      let producer = HandedEndpoint(try SharedChannelProducer(region))
      while try producer.endpoint.trySend([UInt8](repeating: 1, count: 500)) {}
      let waiting = Task { try await producer.endpoint.send(reservingUpTo: 500) { _ in 500 } }
      try await Task.sleep(for: .milliseconds(100))
      kill(peer.child.pid, SIGKILL)
      let outcome = await TaskEndings.result(of: waiting)
      #expect(TaskEndings.code(outcome) == .brokenPipe)
      _ = try await peer.child.wait(timeout: .seconds(60))
    }
  }

  /// The messages of another process, as an async sequence: all of them,
  /// in order, and the sequence ends with the stream; a cancelled iteration
  /// ends with nothing consumed.
  @Test(.prompt) func theMessagesSequenceEndsWithTheStreamOrTheTask() async throws {
    try await withChannel { region, name in
      let consumer = HandedEndpoint(try SharedChannelConsumer(region))
      let stopped = await TaskEndings.cancelledWhileWaiting { () async throws -> Int in
        var count = 0
        for try await _ in consumer.endpoint.messages() { count += 1 }
        return count
      }
      #expect(try stopped?.get() == 0)
      let count = 500
      let peer = try startPeer("channel-produce", arguments: [name, "1", "\(count)", "300"])
      var indices: [UInt32] = []
      for try await message in consumer.endpoint.messages() {
        indices.append(decodeChannelMessage(message)?.index ?? .max)
      }
      #expect(indices == Array(0..<UInt32(count)))
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0))
    }
  }
}
