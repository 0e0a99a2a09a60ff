import Foundation
import IPC
import Synchronization
import Testing

/// The async forms of a POSIX queue's receives and sends: against another
/// process, cancelled before and during the wait (nothing consumed, nothing
/// sent), cancelled as messages arrive (nothing lost or duplicated), timed,
/// and woken by closing.
@Suite("POSIX message queues, async")
struct POSIXQueueAsyncTests {
  @Test(.prompt) func everyAsyncReceiveTakesWhatAnotherProcessSendsLater() async throws {
    try await withPOSIXQueue(maxMessages: 4, messageSize: 128) { (queue) async throws in
      // One message at a time, each a moment after the parent took the last,
      // so that every receive below finds the queue empty and waits.
      let peer = try startPeer(
        "async-mq-send",
        arguments: [
          queue.name, "one-by-one", "plain@0", "timed@1", "into@2", "into timed@3",
          #"{"orderID":1,"item":"tea"}@2"#, #"{"orderID":2,"item":"cake"}"#,
        ])
      let received = await outcome { () async throws -> [String] in
        let buffer = TestBytes(count: queue.messageSize)
        var seen: [String] = []
        let plain = try await queue.receive()
        seen.append("\(plain.priority) \(plain.text)")
        let timed = try await queue.receive(timeout: .seconds(30))
        seen.append("\(timed?.priority ?? -1) \(timed?.text ?? "none")")
        let into = try await queue.receive(into: buffer.bytes)
        seen.append("\(into.priority) \(String(decoding: buffer.bytes[0..<into.count], as: UTF8.self))")
        if let intoTimed = try await queue.receive(into: buffer.bytes, timeout: .seconds(30)) {
          seen.append(
            "\(intoTimed.priority) \(String(decoding: buffer.bytes[0..<intoTimed.count], as: UTF8.self))")
        }
        seen.append(try await queue.receive(OrderPlaced.self).item)
        seen.append(try await queue.receive(OrderPlaced.self, timeout: .seconds(30))?.item ?? "none")
        return seen
      }
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      #expect(try received.get() == ["0 plain", "1 timed", "2 into", "3 into timed", "tea", "cake"])
    }
  }

  @Test(.prompt) func everyAsyncSendWaitsForRoomAnotherProcessMakes() async throws {
    try await withPOSIXQueue(maxMessages: 2, messageSize: 128) { (queue) async throws in
      for _ in 0..<2 { #expect(try queue.trySend(Array("filler".utf8))) }
      // The peer takes one message every 20 ms: each send below finds the
      // queue full and waits for the room the peer makes.
      let peer = try startPeer("async-mq-drain", arguments: [queue.name, "slow"])
      let sent = await outcome { () async throws -> [Bool] in
        try await queue.send(Array("array".utf8))
        let pointer = TestBytes(count: 7)
        pointer.bytes.copyBytes(from: Array("pointer".utf8))
        try await queue.send(UnsafeRawBufferPointer(pointer.bytes))
        let timed = try await queue.send("timed array".utf8, timeout: .seconds(30))
        let timedPointer = TestBytes(count: 13)
        timedPointer.bytes.copyBytes(from: Array("timed pointer".utf8))
        let timed2 = try await queue.send(
          UnsafeRawBufferPointer(timedPointer.bytes), priority: 0, timeout: .seconds(30))
        try await queue.send(OrderPlaced(orderID: 1, item: "tea"))
        let typed = try await queue.send(OrderPlaced(orderID: 2, item: "cake"), timeout: .seconds(30))
        try await queue.send(Array("end".utf8))
        return [timed, timed2, typed]
      }
      if case .failure = sent { _ = try? queue.trySend(Array("end".utf8)) }  // no hang
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      #expect(try sent.get() == [true, true, true])
      let lines = peer.output.text.split(separator: "\n").map(String.init)
      #expect(lines.count == 9)
      #expect(lines.prefix(6) == ["filler", "filler", "array", "pointer", "timed array", "timed pointer"])
      let orders = try lines.dropFirst(6).prefix(2).map {
        try JSONDecoder().decode(OrderPlaced.self, from: Data($0.utf8)).orderID
      }
      #expect(orders == [1, 2])
      #expect(lines.last == "end")
    }
  }

  // MARK: Cancellation

  @Test(.prompt) func aTaskCancelledBeforeItsReceiveTakesNothingEvenWithAMessageWaiting() async throws {
    try await withPOSIXQueue(maxMessages: 2, messageSize: 128) { (queue) async throws in
      try await queue.send(OrderPlaced(orderID: 5, item: "waiting"))
      let buffer = TestBytes(count: queue.messageSize)
      let forms: [@Sendable () async throws -> Void] = [
        { _ = try await queue.receive() },
        { _ = try await queue.receive(timeout: .seconds(10)) },
        { _ = try await queue.receive(into: buffer.bytes) },
        { _ = try await queue.receive(into: buffer.bytes, timeout: .seconds(10)) },
        { _ = try await queue.receive(OrderPlaced.self) },
        { _ = try await queue.receive(OrderPlaced.self, timeout: .seconds(10)) },
      ]
      for form in forms {
        let result = await TaskEndings.cancelledBeforehand(form)
        #expect(TaskEndings.code(result) == .cancelled, "\(result)")
        #expect(try queue.attributes().currentMessages == 1)
      }
      // messages() ends instead, with nil.
      let next = await TaskEndings.cancelledBeforehand { () async throws -> POSIX.Message? in
        var iterator = queue.messages().makeAsyncIterator()
        return try await iterator.next()
      }
      #expect(try next.get() == nil)
      #expect(try queue.tryReceive(OrderPlaced.self) == OrderPlaced(orderID: 5, item: "waiting"))
    }
  }

  @Test(.prompt) func aTaskCancelledBeforeItsSendSendsNothingEvenWithRoom() async throws {
    try await withPOSIXQueue(maxMessages: 2, messageSize: 128) { (queue) async throws in
      let bytes = TestBytes(count: 4)
      let forms: [@Sendable () async throws -> Void] = [
        { try await queue.send(Array("nope".utf8)) },
        { try await queue.send(UnsafeRawBufferPointer(bytes.bytes)) },
        { _ = try await queue.send("nope".utf8, timeout: .seconds(10)) },
        { _ = try await queue.send(UnsafeRawBufferPointer(bytes.bytes), timeout: .seconds(10)) },
        { try await queue.send(OrderPlaced(orderID: 1, item: "nope")) },
        { _ = try await queue.send(OrderPlaced(orderID: 1, item: "nope"), timeout: .seconds(10)) },
      ]
      for form in forms {
        let result = await TaskEndings.cancelledBeforehand(form)
        #expect(TaskEndings.code(result) == .cancelled, "\(result)")
        #expect(try queue.attributes().currentMessages == 0)
      }
    }
  }

  @Test(.prompt) func cancellingAWaitingReceiveEndsItAndConsumesNothing() async throws {
    try await withPOSIXQueue(maxMessages: 2, messageSize: 128) { (queue) async throws in
      let buffer = TestBytes(count: queue.messageSize)
      let forms: [@Sendable () async throws -> Void] = [
        { _ = try await queue.receive() },
        { _ = try await queue.receive(timeout: .seconds(60)) },
        { _ = try await queue.receive(into: buffer.bytes) },
        { _ = try await queue.receive(into: buffer.bytes, timeout: .seconds(60)) },
        { _ = try await queue.receive(OrderPlaced.self) },
        { _ = try await queue.receive(OrderPlaced.self, timeout: .seconds(60)) },
      ]
      for form in forms {
        let result = await TaskEndings.cancelledWhileWaiting(form)
        #expect(result != nil, "the cancelled receive did not end")
        #expect(TaskEndings.code(result) == .cancelled, "\(String(describing: result))")
        // The cancelled wait is gone: a message sent now stays for the next receiver.
        #expect(try queue.trySend(Array("after".utf8)))
        #expect(try queue.attributes().currentMessages == 1)
        #expect(try queue.tryReceive()?.text == "after")
      }
    }
  }

  @Test(.prompt) func cancellingAWaitingSendEndsItAndSendsNothing() async throws {
    try await withPOSIXQueue(maxMessages: 2, messageSize: 128) { (queue) async throws in
      for text in ["first", "second"] { #expect(try queue.trySend(Array(text.utf8))) }
      let bytes = TestBytes(count: 4)
      let forms: [@Sendable () async throws -> Void] = [
        { try await queue.send(Array("nope".utf8)) },
        { try await queue.send(UnsafeRawBufferPointer(bytes.bytes), priority: 9) },
        { _ = try await queue.send("nope".utf8, timeout: .seconds(60)) },
        { _ = try await queue.send(UnsafeRawBufferPointer(bytes.bytes), timeout: .seconds(60)) },
        { try await queue.send(OrderPlaced(orderID: 1, item: "nope")) },
        { _ = try await queue.send(OrderPlaced(orderID: 1, item: "nope"), timeout: .seconds(60)) },
      ]
      for form in forms {
        let result = await TaskEndings.cancelledWhileWaiting(form)
        #expect(result != nil, "the cancelled send did not end")
        #expect(TaskEndings.code(result) == .cancelled, "\(String(describing: result))")
      }
      #expect(try drain(queue).map(\.text) == ["first", "second"])
    }
  }

  @Test(.prompt) func cancellationRacingArrivalsFromAnotherProcessLosesAndDuplicatesNothing() async throws {
    let rounds = 200
    try await withPOSIXQueue(maxMessages: 4, messageSize: 32) { (queue) async throws in
      let peer = try startPeer(
        "async-mq-send", arguments: [queue.name, "random"] + (0..<rounds).map(String.init) + ["end"])
      let received = await outcome { () async throws -> (numbers: [Int], cancelled: Int) in
        var numbers: [Int] = []
        var cancelled = 0
        while true {
          let timed = numbers.count % 2 == 1
          let task = Task { () async throws -> POSIX.Message? in
            if timed { return try await queue.receive(timeout: .seconds(30)) }
            return try await queue.receive()
          }
          try await Task.sleep(for: .microseconds(Int.random(in: 0...150)))
          task.cancel()
          // Awaited directly, for rounds as short as the peer's pauses: a
          // receive whose cancellation failed would still end, with a message.
          let result = await task.result
          switch result {
          case .success(let message?) where message.text == "end": return (numbers, cancelled)
          case .success(let message?): numbers.append(Int(message.text) ?? -1)
          case .success(nil): throw SpawnFailure(message: "a receive timed out")
          case .failure(let error as IPCError) where error.code == .cancelled: cancelled += 1
          case .failure(let error): throw error
          }
        }
      }
      if case .failure = received { _ = try? drain(queue) }  // let the peer finish
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      let (numbers, cancelled) = try received.get()
      // Each message was either returned or left for a later round: all, once, in order.
      #expect(numbers == Array(0..<rounds))
      #expect(try drain(queue).isEmpty)
      print("async receive race: \(numbers.count) received, \(cancelled) cancelled")
    }
  }

  @Test(.prompt) func cancellationRacingRoomFromAnotherProcessSendsEachMessageOnceOrNotAtAll() async throws {
    let rounds = 200
    try await withPOSIXQueue(maxMessages: 2, messageSize: 32) { (queue) async throws in
      // The peer drains at random pauses and prints what it took, up to "end N".
      let peer = try startPeer("async-mq-drain", arguments: [queue.name, "random"])
      let sent = await outcome { () async throws -> Int in
        var next = 0
        for round in 0..<rounds {
          let number = next
          let task = Task { () async throws -> Bool in
            if round % 2 == 0 {
              try await queue.send(Array("\(number)".utf8))
              return true
            }
            return try await queue.send(Array("\(number)".utf8), timeout: .seconds(30))
          }
          try await Task.sleep(for: .microseconds(Int.random(in: 0...400)))
          task.cancel()
          let result = await task.result  // directly, as for receives above
          switch result {
          case .success(true): next += 1
          case .success(false): throw SpawnFailure(message: "a send timed out")
          case .failure(let error as IPCError) where error.code == .cancelled: break  // not sent: again
          case .failure(let error): throw error
          }
        }
        return next
      }
      let count = (try? sent.get()) ?? -1
      try await queue.send(Array("end \(count)".utf8))
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      // Each send either went once or not at all: the peer saw 0, 1, 2, ... with no gap or repeat.
      #expect(peer.output.text == (0..<max(count, 0)).map { "\($0)\n" }.joined() + "end \(count)\n")
      #expect(count > 0)
    }
  }

  // MARK: Timeouts

  @Test(.prompt) func timedFormsReturnNilOrFalseOnExpiryAndChangeNothing() async throws {
    try await withPOSIXQueue(maxMessages: 1, messageSize: 64) { (queue) async throws in
      let buffer = TestBytes(count: queue.messageSize)
      #expect(try await queue.receive(timeout: .milliseconds(30)) == nil)
      #expect(try await queue.receive(into: buffer.bytes, timeout: .milliseconds(30)) == nil)
      #expect(try await queue.receive(OrderPlaced.self, timeout: .milliseconds(30)) == nil)
      #expect(try await queue.receive(timeout: .zero) == nil)
      #expect(try queue.trySend(Array("full".utf8), priority: 3))
      #expect(try await queue.send("more".utf8, timeout: .milliseconds(30)) == false)
      #expect(try await queue.send(OrderPlaced(orderID: 1, item: "x"), timeout: .milliseconds(30)) == false)
      #expect(try await queue.send("more".utf8, timeout: .seconds(-1)) == false)
      // A message already there is taken whatever the timeout, even zero.
      #expect(try await queue.receive(timeout: .zero) == POSIX.Message("full", priority: 3))
      #expect(try queue.attributes().currentMessages == 0)
    }
  }

  // MARK: Closing

  @Test(.prompt) func closingTheQueueEndsWaitingCallsWithTheBlockingFormsError() async throws {
    try await withPOSIXQueue(maxMessages: 1, messageSize: 64) { (queue) async throws in
      // Blocking forms, called from synchronous code, on a closed descriptor.
      func blockingErrors(_ closed: POSIX.MessageQueue) -> [IPCError?] {
        [
          #expect(throws: IPCError.self) { try closed.receive() },
          #expect(throws: IPCError.self) { try closed.send(Array("x".utf8)) },
        ]
      }
      let receiver = try POSIX.MessageQueue.open(queue.name)
      let waitingReceive = Task { () async throws -> POSIX.Message in try await receiver.receive() }
      try await Task.sleep(for: .milliseconds(30))
      try receiver.close()
      guard case .failure(let receiveError as IPCError)? = await TaskEndings.result(of: waitingReceive) else {
        Issue.record("the waiting receive did not fail")
        return
      }
      #expect(receiveError == blockingErrors(receiver)[0])
      let sender = try POSIX.MessageQueue.open(queue.name)
      #expect(try sender.trySend(Array("full".utf8)))
      let waitingSend = Task { () async throws -> Void in try await sender.send(Array("more".utf8)) }
      try await Task.sleep(for: .milliseconds(30))
      try sender.close()
      guard case .failure(let sendError as IPCError)? = await TaskEndings.result(of: waitingSend) else {
        Issue.record("the waiting send did not fail")
        return
      }
      #expect(sendError == blockingErrors(sender)[1])
      #expect(try drain(queue).map(\.text) == ["full"])
    }
  }
}
