import Foundation
import IPC
import Testing

/// The async, timed and non-blocking forms of pipes and FIFOs: across real
/// processes, cancellation before, during and racing arrival, timeouts, the
/// end of the stream, and the FIFO opens.
@Suite("Pipes, async", .timeLimit(.minutes(2)))
struct PipeAsyncTests {
  // MARK: Across processes

  @Test(.prompt) func framesAChildWritesToAnAnonymousPipeArriveThroughMessages() async throws {
    let (reader, writer) = try AnonymousPipe.make()
    let child = try FramePeer.start(FramePeer.writer(count: 30), standardOutput: .pipe(writer))
    try writer.close()  // the child's copy is the only writer: its exit ends the stream
    var frames: [String] = []
    for try await frame in reader.messages() { frames.append(String(decoding: frame, as: UTF8.self)) }
    #expect(frames == (0..<30).map { "frame \($0 < 10 ? "0" : "")\($0)" })
    #expect(try await reader.receive() == nil)  // and stays ended
    #expect(try await child.wait() == .exited(0))
    #expect(!isNonBlocking(reader))
  }

  @Test(.prompt) func eachAsyncReceiveFormGetsFramesFromAChild() async throws {
    let (reader, writer) = try AnonymousPipe.make()
    let child = try FramePeer.start(FramePeer.writer(count: 6), standardOutput: .pipe(writer))
    try writer.close()
    let first = try await reader.receive()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
    defer { buffer.deallocate() }
    let count = try #require(try await reader.receive(into: buffer))
    let third = try await reader.receive(timeout: .seconds(30))  // split in the child: completed whole
    let fourth = try await reader.receive(into: buffer, timeout: .seconds(30)).map { Array(buffer[..<$0]) }
    let rest = try await reader.readToEnd()
    #expect(first == Array("frame 00".utf8))
    #expect(count == "frame 01".utf8.count && fourth == Array("frame 03".utf8))
    #expect(third == Array("frame 02".utf8))
    #expect(rest == [8, 0, 0, 0] + Array("frame 04".utf8) + [8, 0, 0, 0] + Array("frame 05".utf8))
    #expect(try await child.wait() == .exited(0))
  }

  @Test(.prompt) func aDuplexPipeCarriesRequestsAndTypedRepliesWithAChild() async throws {
    let (mine, theirs) = try AnonymousPipe.duplex()
    // The Swift peer echoes every frame it reads from "in" on "out": both are its end here.
    let (child, _, errors) = try startPeer("pipe-echo", handing: ["in": theirs, "out": theirs])
    try theirs.close()
    try mine.send(Array("ping".utf8))
    #expect(try await mine.receive() == Array("ping".utf8))
    try mine.send(AsyncJob(id: 7, command: "build"))
    #expect(try await mine.receive(AsyncJob.self) == AsyncJob(id: 7, command: "build"))
    try mine.send(Array("not JSON".utf8))
    let error = await #expect(throws: IPCError.self) { try await mine.receive(AsyncJob.self) }
    #expect(error?.code == .badMessage && error?.payload == Array("not JSON".utf8))
    try mine.send(Array("42".utf8))
    #expect(try await mine.receive(Int.self, timeout: .seconds(30)) == 42)
    #expect(!isNonBlocking(mine))
    try mine.close()  // the child reads the end of the stream and exits
    #expect(try await child.wait() == .exited(0), "\(errors.text)")
  }

  @Test(.prompt) func aFIFOOpenedAsyncReceivesTypedMessagesFromAChildThenEnds() async throws {
    try await withFIFO { (fifo) async throws in
      let child = try FramePeer.start(FramePeer.fifoWriter(path: fifo.path, count: 10))
      let reader = try await fifo.openForReading()  // waits on a library thread for the child
      var jobs: [AsyncJob] = []
      for try await job in reader.messages(of: AsyncJob.self) { jobs.append(job) }
      #expect(jobs == (0..<10).map { AsyncJob(id: $0, command: "build") })
      #expect(try await child.wait() == .exited(0))
      #expect(!isNonBlocking(reader))
    }
  }

  // MARK: Cancellation

  @Test(.prompt, arguments: PipeKind.allCases)
  func aTaskCancelledBeforeTheWaitConsumesNothing(kind: PipeKind) async throws {
    try await withPipe(kind) { reader, writer in
      try writer.send(Array("kept".utf8))
      let results: [Result<Bool, any Error>] = [
        await inCancelledTask { try await reader.receive() != nil },
        await inCancelledTask { try await reader.receive(timeout: .seconds(5)) != nil },
        await inCancelledTask { try await reader.receive(String.self) != nil },
        await inCancelledTask { try await reader.receive(String.self, timeout: .seconds(5)) != nil },
        await inCancelledTask {
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
          defer { buffer.deallocate() }
          return try await reader.receive(into: buffer) != nil
        },
        await inCancelledTask {
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
          defer { buffer.deallocate() }
          return try await reader.read(into: buffer) > 0
        },
        await inCancelledTask {
          let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
          defer { buffer.deallocate() }
          try await reader.read(filling: buffer)
          return true
        },
        await inCancelledTask { try await !reader.read(upToCount: 8).isEmpty },
        await inCancelledTask { try await !reader.readToEnd().isEmpty },
      ]
      for result in results {
        #expect(errorCode(result) == .cancelled)
        if case .failure(let error) = result { #expect((error as? IPCError)?.payload == nil) }
      }
      let sequenceEnded = await inCancelledTask {
        var iterator = reader.messages().makeAsyncIterator()
        return try await iterator.next() == nil
      }
      #expect(try sequenceEnded.get())
      #expect(try reader.tryReceive() == Array("kept".utf8))
    }
  }

  @Test(.prompt, arguments: PipeKind.allCases)
  func aTaskCancelledDuringTheWaitEndsWithCancelledAndTheNextFrameIsIntact(kind: PipeKind) async throws {
    try await withPipe(kind) { reader, writer in
      let waiting = Task { try await reader.receive() }
      try await Task.sleep(for: .milliseconds(20))  // let it reach the wait (cancelling earlier passes too)
      waiting.cancel()
      #expect(errorCode(await waiting.result) == .cancelled)
      let typed = Task { try await reader.receive(AsyncJob.self, timeout: .seconds(60)) }
      try await Task.sleep(for: .milliseconds(20))
      typed.cancel()
      #expect(errorCode(await typed.result) == .cancelled)
      try writer.send(Array("next".utf8))
      #expect(try await reader.receive() == Array("next".utf8))
    }
  }

  @Test(.prompt, arguments: PipeKind.allCases)
  func aFrameCancelledAfterItsFirstBytesIsKeptAndCompletedByTheNextReceive(kind: PipeKind) async throws {
    try await withPipe(kind) { reader, writer in
      let frame: [UInt8] = [5, 0, 0, 0] + Array("whole".utf8)
      try writer.write(frame[..<2])  // half a header
      let receiving = Task { try await reader.receive() }
      #expect(try await eventuallyOffPool { !hasBytesWaiting(reader) })  // the two bytes were taken
      receiving.cancel()
      // The writer stalls: the cancelled call ends now, not when the frame is whole.
      #expect(errorCode(await receiving.result) == .cancelled)
      try writer.write(frame[2..<6])  // the rest of the header, part of the payload
      #expect(try await reader.receive(timeout: .milliseconds(20)) == nil)  // still not whole: kept
      #expect(try reader.tryReceive() == nil)
      try writer.write(frame[6...])
      #expect(try await reader.receive(timeout: .seconds(10)) == Array("whole".utf8))
      try writer.send(Array("in step".utf8))
      #expect(try await reader.receive() == Array("in step".utf8))
    }
  }

  @Test(.prompt, arguments: PipeKind.allCases)
  func cancellationRacingArrivalLosesAndDuplicatesNothing(kind: PipeKind) async throws {
    try await withPipe(kind) { reader, writer in
      let rounds = 200
      var received: [[UInt8]] = []
      for round in 0..<rounds {
        let frame = Array("round \(round)".utf8)
        let task: Task<[UInt8]?, any Error> =
          round % 2 == 0
          ? Task { try await reader.receive() }
          : Task {
            var iterator = reader.messages().makeAsyncIterator()
            return try await iterator.next()
          }
        switch round % 3 {
        case 0: await Task.yield()
        case 1: try await Task.sleep(for: .microseconds(200))
        default: break
        }
        if round % 4 == 0 {
          task.cancel()
          try writer.send(frame)
        } else {
          try writer.send(frame)
          task.cancel()
        }
        switch await task.result {
        case .success(let got?):
          received.append(got)
        case .success(nil):
          // The sequence ended for the cancelled task: the frame is still in the pipe.
          if let left = try reader.tryReceive() { received.append(left) }
        case .failure(let error):
          #expect((error as? IPCError)?.code == .cancelled)
          if let left = try reader.tryReceive() { received.append(left) }
        }
        #expect(try reader.tryReceive() == nil)
      }
      #expect(received == (0..<rounds).map { Array("round \($0)".utf8) })
      #expect(!isNonBlocking(reader))
    }
  }

  @Test(.prompt, arguments: PipeKind.allCases)
  func closingAnEndWakesItsAsyncReader(kind: PipeKind) async throws {
    try await withPipe(kind) { reader, _ in
      let waiting = Task { try await reader.receive() }
      try await Task.sleep(for: .milliseconds(20))
      try reader.close()
      #expect(errorCode(await waiting.result) == .badDescriptor)
    }
  }

  @Test(.prompt) func byteReadsCancelledAfterSomeBytesKeepThemInTheError() async throws {
    try await withPipe(.anonymous) { reader, writer in
      try writer.write([1, 2, 3])
      let filling = Task { () async throws -> Void in
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 10, alignment: 1)
        defer { buffer.deallocate() }
        try await reader.read(filling: buffer)
      }
      #expect(try await eventuallyOffPool { !hasBytesWaiting(reader) })
      filling.cancel()
      let error = await #expect(throws: IPCError.self) { try await filling.value }
      #expect(error?.code == .cancelled && error?.payload == [1, 2, 3])

      try writer.write([4, 5])
      let all = Task { try await reader.readToEnd() }
      #expect(try await eventuallyOffPool { !hasBytesWaiting(reader) })
      all.cancel()
      let ended = await #expect(throws: IPCError.self) { try await all.value }
      #expect(ended?.code == .cancelled && ended?.payload == [4, 5])
      try writer.write([6])
      try writer.close()
      #expect(try await reader.readToEnd() == [6])
    }
  }

  // MARK: Timeouts and non-blocking forms

  @Test(.prompt, arguments: PipeKind.allCases)
  func asyncTimedFormsReturnNilOnExpiryAndTheFrameWhenFedInTime(kind: PipeKind) async throws {
    try await withPipe(kind) { reader, writer in
      #expect(try await reader.receive(timeout: .milliseconds(30)) == nil)
      #expect(try await reader.receive(AsyncJob.self, timeout: .milliseconds(10)) == nil)
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 1)
      defer { buffer.deallocate() }
      #expect(try await reader.receive(into: buffer, timeout: .zero) == nil)
      #expect(try await reader.read(into: buffer, timeout: .milliseconds(10)) == nil)
      let feeder = Task {
        try await Task.sleep(for: .milliseconds(30))
        try writer.send(AsyncJob(id: 1, command: "late"))
      }
      #expect(
        try await reader.receive(AsyncJob.self, timeout: .seconds(30)) == AsyncJob(id: 1, command: "late"))
      try await feeder.value
      try writer.send(Array("abc".utf8))
      #expect(try await reader.receive(into: buffer, timeout: .seconds(30)) == 3)
      try writer.write([9])
      #expect(try await reader.read(into: buffer, timeout: .seconds(30)) == 1)
      try writer.close()
      #expect(try await reader.read(into: buffer, timeout: .seconds(30)) == 0)  // 0: end of stream
      let ended = await #expect(throws: IPCError.self) { try await reader.receive(timeout: .seconds(30)) }
      #expect(ended?.code == .brokenPipe)
    }
  }

  @Test(.prompt, arguments: PipeKind.allCases)
  func blockingTimedAndTryFormsReturnNilWhenNothingIsThere(kind: PipeKind) async throws {
    try await withPipe(kind) { reader, writer in try Self.checkBlockingTimedForms(reader, writer) }
  }

  /// The blocking forms, from a synchronous function: an async context picks the async forms.
  private static func checkBlockingTimedForms(_ reader: PipeEnd, _ writer: PipeEnd) throws {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 1)
    defer { buffer.deallocate() }
    #expect(try reader.tryReceive() == nil)
    #expect(try reader.tryReceive(into: buffer) == nil)
    #expect(try reader.tryReceive(AsyncJob.self) == nil)
    #expect(try reader.tryRead(into: buffer) == nil)
    #expect(try reader.receive(timeout: .milliseconds(20)) == nil)
    #expect(try reader.receive(into: buffer, timeout: .milliseconds(5)) == nil)
    #expect(try reader.receive(AsyncJob.self, timeout: .milliseconds(5)) == nil)
    #expect(try reader.read(into: buffer, timeout: .milliseconds(5)) == nil)
    try writer.send(Array("one".utf8))
    try writer.send(AsyncJob(id: 2, command: "two"))
    try writer.send(Array("three".utf8))
    try writer.send(Array("four".utf8))
    #expect(try reader.tryReceive() == Array("one".utf8))
    #expect(try reader.receive(AsyncJob.self, timeout: .seconds(5)) == AsyncJob(id: 2, command: "two"))
    #expect(try reader.tryReceive(into: buffer) == 5)
    #expect(try reader.receive(timeout: .seconds(5)) == Array("four".utf8))
    try writer.write([1, 2])
    #expect(try reader.tryRead(into: buffer) == 2)
    #expect(!isNonBlocking(reader) && !isNonBlocking(writer))
    try writer.close()
    // A child another test is spawning at this moment holds a copy of every
    // descriptor until its exec: the end of stream comes once that is gone.
    #expect(eventually { (try? reader.tryRead(into: buffer)) == 0 })
    #expect(throws: IPCError.self) { try reader.tryReceive() }
    let ended = #expect(throws: IPCError.self) { try reader.receive(timeout: .seconds(5)) }
    #expect(ended?.code == .brokenPipe)
  }

  // MARK: End of stream

  @Test(.prompt, arguments: PipeKind.allCases)
  func theEndOfTheStreamEndsBothSequences(kind: PipeKind) async throws {
    try await withPipe(kind) { reader, writer in
      try writer.send(Array("a".utf8))
      try writer.send(AsyncJob(id: 3, command: "c"))
      try writer.send(AsyncJob(id: 4, command: "d"))
      try writer.close()
      var iterator = reader.messages().makeAsyncIterator()
      #expect(try await iterator.next() == Array("a".utf8))
      var jobs: [AsyncJob] = []
      for try await job in reader.messages(of: AsyncJob.self) { jobs.append(job) }
      #expect(jobs == [AsyncJob(id: 3, command: "c"), AsyncJob(id: 4, command: "d")])
      #expect(try await iterator.next() == nil)
    }
  }

  @Test(.prompt) func aStreamEndingInsideAFrameThrowsBadMessageWithTheBytes() async throws {
    try await withPipe(.anonymous) { reader, writer in
      try writer.write([9, 0, 0, 0, 1, 2])
      try writer.close()
      var iterator = reader.messages().makeAsyncIterator()
      let error = await #expect(throws: IPCError.self) { try await iterator.next() }
      #expect(error?.code == .badMessage && error?.payload == [1, 2])
    }
  }

  // MARK: FIFO opens and the shadow descriptor

  @Test(.prompt) func openingAFIFOAsyncWaitsForTheOtherSide() async throws {
    try await withFIFO { (fifo) async throws in
      let opening = Task { try await fifo.openForReading() }
      // A non-blocking writer opens only once the reader waits in its open.
      let writer = try await onOwnThread { () throws -> PipeEnd in
        var opened: PipeEnd?
        // Up to 60 s: a full parallel run can keep the opening task off the pool that long.
        _ = eventually(within: .seconds(60)) {
          opened = try? fifo.openForWriting(nonBlocking: true)
          return opened != nil
        }
        return try #require(opened)
      }
      let reader = try await opening.value
      try writer.send(Array("hi".utf8))
      #expect(try await reader.receive() == Array("hi".utf8))
      // With a reader there, openForWriting opens at once, on the caller's thread.
      let second = try await fifo.openForWriting()
      try second.send(Array("again".utf8))
      #expect(try await reader.receive() == Array("again".utf8))
    }
  }

  @Test(.prompt) func cancellingAnOpenWaitingForAWriterLeavesNothingOpen() async throws {
    try await withFIFO { (fifo) async throws in
      let opening = Task { try await fifo.openForReading() }
      #expect(try await waitingThreadBlocked(in: "wait_for_partner"))
      opening.cancel()
      let result = await opening.result
      #expect(errorCode(result) == .cancelled)
      #expect(descriptorsOpen(to: fifo.path) == 0)
      // No reader is left: a non-blocking writer fails with ENXIO.
      let noReader = await #expect(throws: IPCError.self) { try await fifo.openForWriting(nonBlocking: true) }
      #expect(noReader?.code.rawValue == ENXIO)
    }
  }

  @Test(.prompt) func cancellingAnOpenWaitingForAReaderLeavesNothingOpen() async throws {
    try await withFIFO { (fifo) async throws in
      let opening = Task { try await fifo.openForWriting() }
      #expect(try await waitingThreadBlocked(in: "wait_for_partner"))
      opening.cancel()
      #expect(errorCode(await opening.result) == .cancelled)
      #expect(descriptorsOpen(to: fifo.path) == 0)
      // No writer is left: a new reader sees the end of the stream at once.
      let reader = try await fifo.openForReading(nonBlocking: true)
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
      defer { buffer.deallocate() }
      #expect(try reader.tryRead(into: buffer) == 0)
    }
  }

  @Test(.prompt) func anOpenCancelledBeforeItStartsOpensNothing() async throws {
    try await withFIFO { (fifo) async throws in
      let keepReader = try await fifo.openForReading(nonBlocking: true)
      let result = await inCancelledTask { try await fifo.openForWriting() }
      #expect(errorCode(result) == .cancelled)
      #expect(descriptorsOpen(to: fifo.path) == 1)  // only keepReader
      try keepReader.close()
    }
  }

  @Test(.prompt) func aFIFOReadEndsShadowDescriptorIsClosedWithTheEnd() async throws {
    try await withFIFO { (fifo) async throws in
      let reader = try await fifo.openForReading(nonBlocking: true)
      let writer = try await fifo.openForWriting(nonBlocking: true)
      #expect(descriptorsOpen(to: fifo.path) == 2)
      try writer.send(Array("x".utf8))
      #expect(try await reader.receive() == Array("x".utf8))
      #expect(descriptorsOpen(to: fifo.path) == 3)  // the reader's shadow, opened for the non-blocking read
      #expect(!isNonBlocking(reader))
      try reader.close()
      #expect(descriptorsOpen(to: fifo.path) == 1)
      try writer.close()

      // Released rather than closed: deinit closes both too.
      do {
        let reader = try await fifo.openForReading(nonBlocking: true)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer { buffer.deallocate() }
        // No writer: the end of the stream, read on the shadow. A child that
        // another test forks at that moment holds a copy of the closed write end
        // until it execs, and the read would block (nil) until then.
        #expect(try await eventually { try reader.tryRead(into: buffer) == 0 })
        #expect(descriptorsOpen(to: fifo.path) == 2)
      }
      #expect(descriptorsOpen(to: fifo.path) == 0)
    }
  }

  @Test(.prompt) func atTheDescriptorLimitAFIFOsAsyncReceiveThrowsInsteadOfTrapping() async {
    // In a child process: it fills its descriptor table.
    await #expect(processExitsWith: .success) {
      let path = TestPaths.nextFIFO()
      let fifo = try NamedPipe.create(at: path)
      let reader = try await fifo.openForReading(nonBlocking: true)
      let writer = try await fifo.openForWriting(nonBlocking: true)
      unlink(path)  // the ends stay usable; an exit() below leaves no FIFO behind
      let (other, otherWriter) = try AnonymousPipe.make()
      _ = try await other.receive(timeout: .zero)  // starts the poll thread (its wake pipe) first
      try writer.send(Array("kept".utf8))
      var limit = rlimit()
      getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
      limit.rlim_cur = min(limit.rlim_cur, 512)  // few to fill
      setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
      var copies: [Int32] = []
      while case let copy = dup(0), copy >= 0 { copies.append(copy) }  // fill every free descriptor
      guard errno == EMFILE else { exit(2) }

      do throws(IPCError) {
        _ = try await reader.receive()  // needs the shadow descriptor: EMFILE
        exit(3)
      } catch {
        guard error.code == .tooManyOpen else { exit(4) }
      }
      for copy in copies { close(copy) }
      guard try await reader.receive() == Array("kept".utf8) else { exit(5) }  // nothing was lost
      try otherWriter.close()
    }
  }

  @Test(.prompt) func anAnonymousPipeReadsWithoutAShadowDescriptor() async throws {
    try await withPipe(.anonymous) { reader, writer in
      try writer.send(Array("y".utf8))
      #expect(try await reader.receive() == Array("y".utf8))
      #expect(try reader.tryReceive() == nil)
      #expect(descriptorsSharing(reader) == 2)  // reader and writer: preadv2(RWF_NOWAIT) needs no other
    }
  }
}
