import Foundation
import Glibc
import Testing

@testable import IPC

/// The async forms of System V queue sends and receives: across real
/// processes (the `ipc` command as the peer), cancellation before and during
/// a wait, cancellation racing arrival, timeouts, selectors, buffers, typed
/// messages and the sequences. Serialized: the tests count this process's
/// waiting threads blocked in `msgrcv`/`msgsnd` to know a call is pending.
@Suite("System V message queues, async", .serialized)
struct SystemVQueueAsyncTests {
  // MARK: Across processes

  @Test(.prompt) func aPendingReceiveTakesTheMessageAnotherProcessSends() async throws {
    try await withQueue { queue in
      let (receiver, blocked) = await startBlocked(in: msgrcvWaitChannels) {
        Task { try await queue.receive(.type(5)) }
      }
      #expect(blocked)
      try sendFromAnotherProcess(queue, type: 3, "not for it")
      try sendFromAnotherProcess(queue, type: 5, "from the ipc command")
      let message = try await receiver.value
      #expect(message == SystemV.Message(5, "from the ipc command"))
      #expect(try drain(queue) == [SystemV.Message(3, "not for it")])
    }
  }

  @Test(.prompt) func aMessageAlreadyThereIsTakenAtOnce() async throws {
    try await withQueue { queue in
      try sendFromAnotherProcess(queue, type: 1, "waiting")
      #expect(try await queue.receive() == SystemV.Message(1, "waiting"))
      #expect(try await queue.receive(timeout: .zero) == nil)
    }
  }

  @Test(.prompt) func aPendingSendToAFullQueueCompletesWhenAnotherProcessMakesRoom() async throws {
    try await withQueue { queue in
      try queue.setMaxBytes(8)
      #expect(try queue.trySend("12345678".utf8, type: 1))
      let (sender, blocked) = await startBlocked(in: msgsndWaitChannels) {
        Task { try await queue.send("next".utf8, type: 2) }
      }
      #expect(blocked)
      #expect(try queue.stat().messageCount == 1)
      let receiver = try Tools.ipc("msg", "receive", "--id", "\(queue.id)")
      #expect(receiver.standardOutput.trimmingCharacters(in: .newlines) == "12345678")
      try await sender.value
      #expect(try drain(queue) == [SystemV.Message(2, "next")])
    }
  }

  @Test(.prompt) func everySendFormSendsAcrossProcesses() async throws {
    try await withQueue { queue in
      try await queue.send("bytes".utf8, type: 1)
      let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 3, alignment: 1)
      defer { raw.deallocate() }
      raw.copyBytes(from: "raw".utf8)
      try await queue.send(UnsafeRawBufferPointer(raw), type: 2)
      #expect(try await queue.send(UnsafeRawBufferPointer(raw), type: 3, timeout: .seconds(1)))
      #expect(try await queue.send("timed".utf8, type: 4, timeout: .zero))
      try await queue.send(OrderPlaced(orderID: 1, item: "tea"))
      #expect(try await queue.send(OrderCancelled(orderID: 1), timeout: .seconds(1)))
      var received: [String] = []
      for _ in 0..<6 {
        let run = try Tools.ipc("msg", "receive", "--id", "\(queue.id)", "--nowait", "--show-type")
        received.append(run.standardOutput.trimmingCharacters(in: .newlines))
      }
      #expect(
        received == [
          "1\tbytes", "2\traw", "3\traw", "4\ttimed", "11\t{\"item\":\"tea\",\"orderID\":1}",
          "12\t{\"orderID\":1}",
        ])
    }
  }

  // MARK: Cancellation

  @Test(.prompt) func aCancelledTaskConsumesNothingAndSendsNothing() async throws {
    try await withQueue { queue in
      try await queue.send("stays".utf8, type: OrderPlaced.messageType)
      let receives: [@Sendable () async throws -> Void] = [
        { _ = try await queue.receive() },
        { _ = try await queue.receive(.type(OrderPlaced.messageType), truncating: true) },
        { _ = try await queue.receive(timeout: .seconds(5)) },
        { _ = try await queue.receive(timeout: .zero) },
        { _ = try await queue.receive(OrderPlaced.self) },
        { _ = try await queue.receive(OrderPlaced.self, timeout: .seconds(5)) },
        {
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
          defer { buffer.deallocate() }
          _ = try await queue.receive(into: buffer)
        },
        {
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
          defer { buffer.deallocate() }
          _ = try await queue.receive(into: buffer, timeout: .seconds(5))
        },
        { for try await _ in queue.messages() { Issue.record("a cancelled sequence yielded") } },
        { for try await _ in queue.messages(of: OrderPlaced.self) { Issue.record("yielded") } },
      ]
      for (index, receive) in receives.enumerated() {
        let result = await inCancelledTask(receive)
        // The sequences end with nil instead of throwing.
        #expect(index >= 8 ? (try? result.get()) != nil : endedCancelled(result), "receive \(index)")
      }
      let sends: [@Sendable () async throws -> Void] = [
        { try await queue.send("no".utf8, type: 1) },
        { _ = try await queue.send("no".utf8, type: 1, timeout: .seconds(1)) },
        { try await queue.send(OrderCancelled(orderID: 1)) },
        { _ = try await queue.send(OrderCancelled(orderID: 1), timeout: .seconds(1)) },
        {
          let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
          defer { bytes.deallocate() }
          bytes.copyBytes(from: "no".utf8)
          try await queue.send(UnsafeRawBufferPointer(bytes), type: 1)
        },
      ]
      for (index, send) in sends.enumerated() {
        #expect(endedCancelled(await inCancelledTask(send)), "send \(index)")
      }
      #expect(try drain(queue) == [SystemV.Message(OrderPlaced.messageType, "stays")])
    }
  }

  @Test(.prompt) func cancellingAPendingReceiveEndsItAndConsumesNothing() async throws {
    try await withQueue { queue in
      let (receiver, blocked) = await startBlocked(in: msgrcvWaitChannels) {
        Task { try await queue.receive(.except(9)) }
      }
      #expect(blocked)
      receiver.cancel()
      #expect(endedCancelled(await receiver.result))
      // The waiting thread left msgrcv: a message sent now stays in the queue.
      #expect(await eventually { waitingThreadsBlocked(inAnyOf: msgrcvWaitChannels) == 0 })
      try sendFromAnotherProcess(queue, type: 1, "after the cancel")
      #expect(try drain(queue) == [SystemV.Message(1, "after the cancel")])
    }
  }

  @Test(.prompt) func cancellingAPendingReceiveIntoABufferLeavesTheBufferAndQueueAlone() async throws {
    try await withQueue { queue in
      let (receiver, blocked) = await startBlocked(in: msgrcvWaitChannels) {
        Task { () async throws -> [UInt8] in
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 8)
          defer { buffer.deallocate() }
          buffer.initializeMemory(as: UInt8.self, repeating: 0xAA)
          do {
            _ = try await queue.receive(into: buffer)
          } catch {
            #expect((error as? IPCError)?.code == .cancelled)
          }
          return Array(buffer)
        }
      }
      #expect(blocked)
      receiver.cancel()
      #expect(try await receiver.value == [UInt8](repeating: 0xAA, count: 16))
      #expect(await eventually { waitingThreadsBlocked(inAnyOf: msgrcvWaitChannels) == 0 })
      try sendFromAnotherProcess(queue, type: 1, "kept")
      #expect(try drain(queue) == [SystemV.Message(1, "kept")])
    }
  }

  @Test(.prompt) func cancellingATimedReceiveEndsItAndConsumesNothing() async throws {
    try await withQueue { queue in
      let receiver = Task { try await queue.receive(.type(2), timeout: .seconds(60)) }
      try await Task.sleep(for: .milliseconds(20))
      try sendFromAnotherProcess(queue, type: 1, "other type")
      receiver.cancel()
      #expect(endedCancelled(await receiver.result))
      #expect(try drain(queue) == [SystemV.Message(1, "other type")])
    }
  }

  @Test(.prompt) func cancellingAPendingSendSendsNothing() async throws {
    try await withQueue { queue in
      try queue.setMaxBytes(4)
      #expect(try queue.trySend("full".utf8, type: 1))
      let (sender, blocked) = await startBlocked(in: msgsndWaitChannels) {
        Task { try await queue.send("late".utf8, type: 2) }
      }
      #expect(blocked)
      let timed = Task { try await queue.send("timed".utf8.prefix(4), type: 3, timeout: .seconds(60)) }
      sender.cancel()
      timed.cancel()
      #expect(endedCancelled(await sender.result))
      #expect(endedCancelled(await timed.result))
      #expect(await eventually { waitingThreadsBlocked(inAnyOf: msgsndWaitChannels) == 0 })
      // Room now: a send still pending would land in the queue.
      #expect(try drain(queue) == [SystemV.Message(1, "full")])
      #expect(try queue.stat().messageCount == 0)
    }
  }

  @Test(.prompt) func cancellationRacingArrivalLosesAndDuplicatesNothing() async throws {
    try await withQueue { queue in
      // A message type per round: a message a cancelled round left is not
      // taken by the next round's receive, which must really wait.
      let rounds = 200
      var received: [String] = []
      var cancelled = 0
      for round in 0..<rounds {
        let receiver = try await racing(round, in: msgrcvWaitChannels) {
          Task { try await queue.receive(.type(round + 1)).text }
        } send: {
          guard try queue.trySend("\(round)".utf8, type: round + 1) else {
            throw SpawnFailure(message: "full")
          }
        }
        switch await receiver.result {
        case .success(let text): received.append(text)
        case let result:
          #expect(endedCancelled(result))
          cancelled += 1
        }
      }
      let left = try drain(queue).map(\.text)
      #expect(received.count + left.count == rounds)
      #expect(Set(received + left) == Set((0..<rounds).map { "\($0)" }))
      #expect(left.count == cancelled)
      // Both outcomes happened: the race was run, not avoided.
      #expect(received.count > 0 && cancelled > 0, "received \(received.count), cancelled \(cancelled)")
    }
  }

  @Test(.prompt) func cancellationRacingArrivalInASequenceLosesNothing() async throws {
    try await withQueue { queue in
      let rounds = 200
      var received: [String] = []
      for round in 0..<rounds {
        let consumer = try await racing(round, in: msgrcvWaitChannels) {
          Task { () async throws -> [String] in
            var texts: [String] = []
            for try await message in queue.messages(.type(round + 1)) { texts.append(message.text) }
            return texts
          }
        } send: {
          guard try queue.trySend("\(round)".utf8, type: round + 1) else {
            throw SpawnFailure(message: "full")
          }
        }
        received += try await consumer.value
      }
      let left = try drain(queue).map(\.text)
      #expect(received.count + left.count == rounds)
      #expect(Set(received + left) == Set((0..<rounds).map { "\($0)" }))
      #expect(received.count > 0 && left.count > 0, "received \(received.count), left \(left.count)")
    }
  }

  // MARK: Timeouts

  @Test(.prompt) func aTimedReceiveReturnsNilAndConsumesNothing() async throws {
    try await withQueue { queue in
      try await queue.send("other".utf8, type: 1)
      #expect(try await queue.receive(.type(2), timeout: .milliseconds(30)) == nil)
      #expect(try await queue.receive(.type(2), timeout: .zero) == nil)
      #expect(try await queue.receive(OrderPlaced.self, timeout: .milliseconds(10)) == nil)
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
      defer { buffer.deallocate() }
      #expect(try await queue.receive(.type(2), into: buffer, timeout: .milliseconds(10)) == nil)
      #expect(try await queue.receive(.type(2), into: buffer, timeout: .zero) == nil)
      #expect(try drain(queue) == [SystemV.Message(1, "other")])
    }
  }

  @Test(.prompt) func aTimedReceiveReturnsAMessageFedInTime() async throws {
    try await withQueue { queue in
      let receiver = Task { try await queue.receive(.type(4), timeout: .seconds(60)) }
      try sendFromAnotherProcess(queue, type: 4, "in time")
      #expect(try await receiver.value == SystemV.Message(4, "in time"))
      let typed = Task { try await queue.receive(OrderPlaced.self, timeout: .seconds(60)) }
      try sendFromAnotherProcess(queue, type: OrderPlaced.messageType, #"{"orderID":3,"item":"jam"}"#)
      #expect(try await typed.value == OrderPlaced(orderID: 3, item: "jam"))
    }
  }

  @Test(.prompt) func aTimedSendReturnsFalseOnAFullQueueAndTrueWhenRoomComesInTime() async throws {
    try await withQueue { queue in
      try queue.setMaxBytes(16)
      #expect(try queue.trySend("full: 16 bytes..".utf8, type: 1))
      #expect(try await queue.send("no".utf8, type: 2, timeout: .milliseconds(30)) == false)
      #expect(try await queue.send("no".utf8, type: 2, timeout: .zero) == false)
      #expect(try await queue.send(OrderCancelled(orderID: 2), timeout: .milliseconds(10)) == false)
      #expect(try queue.stat().messageCount == 1)
      let sender = Task { try await queue.send("yes".utf8, type: 3, timeout: .seconds(60)) }
      let receiver = try Tools.ipc("msg", "receive", "--id", "\(queue.id)")
      #expect(receiver.standardOutput.trimmingCharacters(in: .newlines) == "full: 16 bytes..")
      #expect(try await sender.value)
      #expect(try drain(queue) == [SystemV.Message(3, "yes")])
    }
  }

  // MARK: Selectors, buffers, typed messages

  @Test(.prompt) func selectorsChooseAsTheBlockingFormsDo() async throws {
    try await withQueue { queue in
      for (type, text) in [(3, "a"), (1, "b"), (2, "c"), (1, "d"), (5, "e")] {
        try await queue.send(text.utf8, type: type)
      }
      var order: [String] = []
      for _ in 0..<3 { order.append(try await queue.receive(.upTo(2)).text) }
      order.append(try await queue.receive(.except(3)).text)
      order.append(try await queue.receive(.type(3)).text)
      #expect(order == ["b", "d", "c", "e", "a"])
      // Pending, with a selector: a message it does not admit stays.
      let (receiver, blocked) = await startBlocked(in: msgrcvWaitChannels) {
        Task { try await queue.receive(.except(9)) }
      }
      #expect(blocked)
      try sendFromAnotherProcess(queue, type: 9, "skipped")
      try sendFromAnotherProcess(queue, type: 4, "taken")
      #expect(try await receiver.value == SystemV.Message(4, "taken"))
      let (lowest, lowestBlocked) = await startBlocked(in: msgrcvWaitChannels) {
        Task { try await queue.receive(.upTo(6)) }
      }
      #expect(lowestBlocked)
      try sendFromAnotherProcess(queue, type: 6, "six")
      #expect(try await lowest.value == SystemV.Message(6, "six"))
      #expect(try drain(queue) == [SystemV.Message(9, "skipped")])
      let invalid = await Task { try await queue.receive(.type(0)) }.result
      #expect(ipcError(invalid)?.code == .invalidArgument)
    }
  }

  @Test(.prompt) func aPendingReceiveIntoABufferFillsIt() async throws {
    try await withQueue { queue in
      let (receiver, blocked) = await startBlocked(in: msgrcvWaitChannels) {
        Task { () async throws -> SystemV.Message in
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
          defer { buffer.deallocate() }
          let (type, count) = try await queue.receive(.type(2), into: buffer)
          return SystemV.Message(type: type, bytes: Array(buffer[..<count]))
        }
      }
      #expect(blocked)
      try sendFromAnotherProcess(queue, type: 2, "into the buffer")
      #expect(try await receiver.value == SystemV.Message(2, "into the buffer"))

      let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 8)
      defer { small.deallocate() }
      try await queue.send("too long".utf8, type: 1)
      await #expect(throws: IPCError.self) { _ = try await queue.receive(into: small) }
      let cut = try #require(try await queue.receive(into: small, timeout: .seconds(1), truncating: true))
      #expect(cut.type == 1 && cut.count == 4)
      #expect(Array(small) == Array("too ".utf8))
      #expect(try queue.stat().messageCount == 0)
    }
  }

  @Test(.prompt) func typedReceivesDecodeWhatAnotherProcessSends() async throws {
    try await withQueue { queue in
      let (receiver, blocked) = await startBlocked(in: msgrcvWaitChannels) {
        Task { try await queue.receive(OrderPlaced.self) }
      }
      #expect(blocked)
      try sendFromAnotherProcess(queue, type: OrderCancelled.messageType, #"{"orderID":1}"#)
      try sendFromAnotherProcess(queue, type: OrderPlaced.messageType, #"{"orderID":2,"item":"tea"}"#)
      #expect(try await receiver.value == OrderPlaced(orderID: 2, item: "tea"))
      #expect(try await queue.receive(OrderCancelled.self) == OrderCancelled(orderID: 1))
      try sendFromAnotherProcess(queue, type: OrderPlaced.messageType, "not json")
      let error = await #expect(throws: IPCError.self) { _ = try await queue.receive(OrderPlaced.self) }
      #expect(error?.code == .badMessage)
      #expect(error?.payload == Array("not json".utf8))
    }
  }

  // MARK: Sequences

  @Test(.prompt) func messagesYieldsWhatItsSelectorAdmitsAsItArrives() async throws {
    try await withQueue { queue in
      let consumer = Task { () async throws -> [SystemV.Message] in
        var messages: [SystemV.Message] = []
        for try await message in queue.messages(.except(1)) {
          messages.append(message)
          if messages.count == 3 { break }
        }
        return messages
      }
      for (type, text) in [(2, "one"), (1, "skipped"), (3, "two"), (4, "three")] {
        try sendFromAnotherProcess(queue, type: type, text)
      }
      #expect(
        try await consumer.value == [
          SystemV.Message(2, "one"), SystemV.Message(3, "two"), SystemV.Message(4, "three"),
        ])
      #expect(try drain(queue) == [SystemV.Message(1, "skipped")])
    }
  }

  @Test(.prompt) func typedMessagesYieldsDecodedValuesOfItsTypeOnly() async throws {
    try await withQueue { queue in
      let consumer = Task { () async throws -> [OrderPlaced] in
        var orders: [OrderPlaced] = []
        for try await order in queue.messages(of: OrderPlaced.self) {
          orders.append(order)
          if orders.count == 2 { break }
        }
        return orders
      }
      try sendFromAnotherProcess(queue, type: OrderPlaced.messageType, #"{"orderID":1,"item":"tea"}"#)
      try sendFromAnotherProcess(queue, type: OrderCancelled.messageType, #"{"orderID":1}"#)
      try await queue.send(OrderPlaced(orderID: 2, item: "cake"))
      #expect(
        try await consumer.value == [
          OrderPlaced(orderID: 1, item: "tea"), OrderPlaced(orderID: 2, item: "cake"),
        ])
      #expect(try await queue.receive(OrderCancelled.self, timeout: .zero) == OrderCancelled(orderID: 1))
    }
  }

  @Test(.prompt) func cancellingAPendingSequenceEndsItWithNilAndConsumesNothing() async throws {
    try await withQueue { queue in
      let (consumer, blocked) = await startBlocked(in: msgrcvWaitChannels) {
        Task { () async throws -> Int in
          var count = 0
          for try await _ in queue.messages(of: OrderPlaced.self) { count += 1 }
          return count
        }
      }
      #expect(blocked)
      consumer.cancel()
      #expect(try await consumer.value == 0)
      #expect(await eventually { waitingThreadsBlocked(inAnyOf: msgrcvWaitChannels) == 0 })
      try sendFromAnotherProcess(queue, type: OrderPlaced.messageType, #"{"orderID":5,"item":"tea"}"#)
      #expect(try queue.stat().messageCount == 1)
    }
  }

  // MARK: Removal

  @Test(.prompt) func aQueueRemovedWhileAnAsyncReceiveWaitsEndsItAsTheBlockingFormIsEnded() async throws {
    // The blocking form's error, for comparison.
    let other = try SystemV.MessageQueue.create()
    defer { try? other.remove() }
    let threadsBefore = threadsBlocked(inAnyOf: msgrcvWaitChannels)
    let blockingResult = Task.detached { try await onOwnThread { try other.receive() } }
    #expect(await eventually { threadsBlocked(inAnyOf: msgrcvWaitChannels) > threadsBefore })
    try other.remove()
    let blockingError = try #require(ipcError(await blockingResult.result))

    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    let waitingBefore = waitingThreadsBlocked(inAnyOf: msgrcvWaitChannels)
    let receiver = Task { try await queue.receive() }
    let sequence = Task { () async throws -> Int in
      var count = 0
      for try await _ in queue.messages() { count += 1 }
      return count
    }
    #expect(
      await eventually { waitingThreadsBlocked(inAnyOf: msgrcvWaitChannels) >= waitingBefore + 2 })
    let remover = try Tools.ipc("msg", "remove", "--id", "\(queue.id)")
    #expect(remover.exitStatus == 0)
    for result in [ipcError(await receiver.result), ipcError(await sequence.result)] {
      #expect(result?.code == .removed)
      #expect(result?.code == blockingError.code)
      #expect(result?.operation == blockingError.operation)
      #expect(result?.reason == blockingError.reason)
    }
  }

  @Test(.prompt) func aQueueRemovedWhileATimedAsyncReceiveWaitsEndsItWithRemovedAsTheBlockingFormIsEnded()
    async throws
  {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    let receiver = Task { try await queue.receive(timeout: .seconds(600)) }
    // Let it reach its polling on a waiting thread, past its first try.
    try await Task.sleep(for: .milliseconds(100))
    let remover = try Tools.ipc("msg", "remove", "--id", "\(queue.id)")
    #expect(remover.exitStatus == 0)
    let error = ipcError(await receiver.result)
    #expect(error?.code == .removed)
    #expect(error?.reason == "the queue was removed while this process was waiting to receive")
  }

  @Test(.prompt) func aQueueAlreadyGoneBeforeATimedReceiveIsInvalidAsForTheBlockingForm() async throws {
    let queue = try SystemV.MessageQueue.create()
    try queue.remove()
    let blocking = #expect(throws: IPCError.self) { try queue.receive(timeout: .seconds(1)) }
    let error = ipcError(await Task { try await queue.receive(timeout: .seconds(1)) }.result)
    #expect(blocking?.code == .invalidArgument)
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason == blocking?.reason)
  }

  @Test(.prompt) func aTypedSequenceThrowsForBytesThatDoNotDecodeAndKeepsThem() async throws {
    try await withQueue { queue in
      try await queue.send("not json".utf8, type: OrderPlaced.messageType)
      let error = await #expect(throws: IPCError.self) {
        for try await _ in queue.messages(of: OrderPlaced.self) { Issue.record("decoded") }
      }
      #expect(error?.code == .badMessage)
      #expect(error?.payload == Array("not json".utf8))
      #expect(error?.messageType == OrderPlaced.messageType)
    }
  }

  @Test(.prompt) func aQueueRemovedWhileAnAsyncSendWaitsEndsItWithRemoved() async throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    try queue.setMaxBytes(4)
    #expect(try queue.trySend("full".utf8, type: 1))
    let (sender, blocked) = await startBlocked(in: msgsndWaitChannels) {
      Task { try await queue.send("late".utf8, type: 2) }
    }
    #expect(blocked)
    try queue.remove()
    #expect(ipcError(await sender.result)?.code == .removed)
  }
}
