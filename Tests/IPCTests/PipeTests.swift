import Foundation
import Testing

@testable import IPC

/// Pipes within one process: bytes, framed messages, end of stream, misuse,
/// named pipes on the file system, EPIPE.
@Suite("Pipes")
struct PipeTests {
  // MARK: Bytes

  @Test func bytesRoundTripThroughAnAnonymousPipe() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.write([0, 1, 2, 255])
    try writer.write("héllo".utf8)
    try writer.write((10..<13).lazy.map { UInt8($0) })  // not contiguous: copied once
    let raw: [UInt8] = [7, 7]
    try raw.withUnsafeBytes { try writer.write($0) }
    try writer.close()

    var four = [UInt8](repeating: 0, count: 4)
    try four.withUnsafeMutableBytes { try reader.read(filling: $0) }
    #expect(four == [0, 1, 2, 255])
    #expect(try reader.read(upToCount: 6) == Array("héllo".utf8))
    #expect(try reader.readToEnd() == [10, 11, 12, 7, 7])
    var buffer = [UInt8](repeating: 0, count: 8)
    #expect(try buffer.withUnsafeMutableBytes { try reader.read(into: $0) } == 0)
    #expect(try reader.read(upToCount: 8) == [])
  }

  @Test func readFillingThrowsAtAPrematureEndWithTheCount() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.write([1, 2, 3])
    try writer.close()
    var buffer = [UInt8](repeating: 0, count: 5)
    let error = #expect(throws: IPCError.self) {
      try buffer.withUnsafeMutableBytes { try reader.read(filling: $0) }
    }
    #expect(error?.code == .badMessage)
    #expect(error?.reason == "the stream ended after 3 of the 5 bytes expected")
    #expect(buffer[..<3] == [1, 2, 3])
  }

  @Test func aLargeWriteIsWrittenWholeWhileAnotherThreadReads() throws {
    let (reader, writer) = try AnonymousPipe.make()
    let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let thread = Thread {
      try? writer.write(bytes)  // 1 MiB: far more than the pipe holds, so partial writes happen
      try? writer.close()
    }
    thread.start()
    #expect(try reader.readToEnd() == bytes)
  }

  // MARK: Messages

  @Test func messagesRoundTripIncludingEmptyAndAtomicLimitSized() throws {
    let (reader, writer) = try AnonymousPipe.make()
    let messages: [[UInt8]] = [
      [], Array("one".utf8), [0, 0, 0, 0], Array(repeating: 9, count: PipeEnd.atomicMessageLimit),
    ]
    for message in messages { try writer.send(message) }
    try "text".utf8.withContiguousStorageIfAvailable { try writer.send(UnsafeRawBufferPointer($0)) }
    try writer.close()
    for message in messages { #expect(try reader.receive() == message) }
    #expect(try reader.receive() == Array("text".utf8))
    #expect(try reader.receive() == nil)
    #expect(try reader.receive() == nil)  // and stays at the end
  }

  @Test func theFrameIsALittleEndianLengthThenThePayload() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.send(Array("abc".utf8))
    try writer.send(Array(repeating: 1, count: 0x0102))
    try writer.close()
    let wire = try reader.readToEnd()
    #expect(wire[..<7] == [3, 0, 0, 0, 97, 98, 99])
    #expect(wire[7..<11] == [0x02, 0x01, 0, 0])
    #expect(wire.count == 11 + 0x0102)
  }

  @Test func messagesLargerThanPipeBufRoundTripWithOneWriter() throws {
    let (reader, writer) = try AnonymousPipe.make()
    let sizes = [PipeEnd.atomicMessageLimit + 1, 70_000, 3 << 20]
    let messages = sizes.map { size in (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ size) } }
    let thread = Thread {
      for message in messages { try? writer.send(message) }
      try? writer.close()
    }
    thread.start()
    for message in messages {
      let received = try #require(try reader.receive())
      #expect(received.count == message.count)
      #expect(received == message)
    }
    #expect(try reader.receive() == nil)
  }

  @Test func receiveIntoABufferAndTooBigKeepsTheMessageAndTheStreamInStep() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.send(Array("short".utf8))
    try writer.send(Array("much too long".utf8))
    try writer.send(Array("next".utf8))
    try writer.close()
    var buffer = [UInt8](repeating: 0, count: 8)
    let count = try buffer.withUnsafeMutableBytes { try reader.receive(into: $0) }
    #expect(count == 5)
    #expect(buffer[..<5] == ArraySlice("short".utf8))
    let error = #expect(throws: IPCError.self) {
      try buffer.withUnsafeMutableBytes { try reader.receive(into: $0) }
    }
    #expect(error?.code == .tooBig)
    #expect(error?.payload == Array("much too long".utf8))
    #expect(error?.reason.contains("13 bytes is longer than the buffer of 8 bytes") == true)
    #expect(try buffer.withUnsafeMutableBytes { try reader.receive(into: $0) } == 4)
    #expect(buffer[..<4] == ArraySlice("next".utf8))
    #expect(try buffer.withUnsafeMutableBytes { try reader.receive(into: $0) } == nil)
  }

  @Test func codableValuesRoundTripAsJSON() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.send(Job(id: 1, command: "build"))
    try writer.send(Job(id: 2, command: "test"))
    try writer.close()
    #expect(try reader.receive(Job.self) == Job(id: 1, command: "build"))
    #expect(try reader.receive() == Array(#"{"command":"test","id":2}"#.utf8))
    #expect(try reader.receive(Job.self) == nil)
  }

  @Test func aPayloadThatFailsToDecodeKeepsItsBytes() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.send(Array(#"{"id":"not a number"}"#.utf8))
    try writer.send(Job(id: 3, command: "after"))
    let error = #expect(throws: IPCError.self) { try reader.receive(Job.self) }
    #expect(error?.code == .badMessage)
    #expect(error?.operation == "decode")
    #expect(error?.payload == Array(#"{"id":"not a number"}"#.utf8))
    #expect(error?.reason.contains("not a valid Job") == true)
    #expect(try reader.receive(Job.self) == Job(id: 3, command: "after"))
  }

  @Test func aStreamThatEndsInsideAHeaderIsABadMessage() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.send([1])
    try writer.write([5, 0])  // 2 of the 4 bytes of a length
    try writer.close()
    #expect(try reader.receive() == [1])
    let error = #expect(throws: IPCError.self) { try reader.receive() }
    #expect(error?.code == .badMessage)
    #expect(error?.reason.contains("stream ended after 2 of 4 header bytes") == true)
  }

  @Test func aStreamThatEndsInsideAPayloadIsABadMessageKeepingTheBytes() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.write([10, 0, 0, 0, 1, 2, 3])  // announces 10 bytes, delivers 3
    try writer.close()
    let error = #expect(throws: IPCError.self) { try reader.receive() }
    #expect(error?.code == .badMessage)
    #expect(error?.reason.contains("stream ended after 3 of 10 bytes of a message") == true)
    #expect(error?.payload == [1, 2, 3])
  }

  @Test func aStreamThatEndsInsideAPayloadIsABadMessageWhenReceivingIntoABuffer() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.write([4, 0, 0, 0, 1])
    try writer.close()
    var buffer = [UInt8](repeating: 0, count: 16)
    let error = #expect(throws: IPCError.self) {
      try buffer.withUnsafeMutableBytes { try reader.receive(into: $0) }
    }
    #expect(error?.code == .badMessage)
    #expect(error?.reason.contains("after 1 of 4 bytes") == true)
  }

  /// Streams that are not frames: unframed text ("GET " read as a length:
  /// 542 393 671 bytes), and a header announcing more than the limit. Neither
  /// allocates what it announces.
  @Test(arguments: [
    (Array("GET / HTTP/1.0".utf8), "ended after 10 of 542393671 bytes"),
    ([0xff, 0xff, 0xff, 0xff, 0], "announces 4294967295 bytes, more than the limit"),
  ])
  func aStreamOfNoFramesIsABadMessageWithoutAHugeAllocation(bytes: [UInt8], reason: String) throws {
    let (reader, writer) = try AnonymousPipe.make()
    try writer.write(bytes)
    try writer.close()
    let error = #expect(throws: IPCError.self) { try reader.receive() }
    #expect(error?.code == .badMessage)
    #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "")")
  }

  // MARK: Misuse

  @Test func usingAnEndInTheWrongDirectionIsAClearError() throws {
    let (reader, writer) = try AnonymousPipe.make()
    let readError = #expect(throws: IPCError.self) { try writer.read(upToCount: 1) }
    #expect(readError?.code == .badDescriptor)
    #expect(readError?.operation == "read")
    #expect(readError?.object == "anonymous pipe (write end, fd \(writer.fileDescriptor))")
    #expect(readError?.reason.contains("this is the write end of the pipe: it can only write") == true)
    #expect(throws: IPCError.self) { try writer.receive() }
    let writeError = #expect(throws: IPCError.self) { try reader.write([1]) }
    #expect(writeError?.code == .badDescriptor)
    #expect(writeError?.reason.contains("this is the read end of the pipe: it can only read") == true)
    #expect(throws: IPCError.self) { try reader.send([1]) }
    #expect(throws: IPCError.self) { try reader.send(Job(id: 1, command: "x")) }
  }

  @Test func aClosedEndIsAClearErrorAndClosingTwiceDoesNothing() throws {
    let (reader, writer) = try AnonymousPipe.make()
    #expect(!writer.isClosed)
    try writer.close()
    try writer.close()
    #expect(writer.isClosed)
    #expect(writer.fileDescriptor == -1)
    #expect(writer.description == "anonymous pipe (write end, closed)")
    let error = #expect(throws: IPCError.self) { try writer.write([1]) }
    #expect(error?.code == .badDescriptor)
    #expect(error?.reason == "this end was closed; it can no longer write")
    #expect(try reader.receive() == nil)
  }

  @Test func aNegativeCountIsRejected() throws {
    let (reader, _) = try AnonymousPipe.make()
    let error = #expect(throws: IPCError.self) { try reader.read(upToCount: -1) }
    #expect(error?.code == .invalidArgument)
  }

  @Test func descriptorsAreCloseOnExec() throws {
    let (reader, writer) = try AnonymousPipe.make()
    let (left, right) = try AnonymousPipe.duplex()
    for end in [reader, writer, left, right] {
      #expect(fcntl(end.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0, "\(end)")
    }
    #expect(left.direction == .both && reader.direction == .reading && writer.direction == .writing)
    #expect(left.description == "duplex pipe (read-write end, fd \(left.fileDescriptor))")
  }

  // MARK: EPIPE

  @Test func writingToAPipeWithoutAReaderThrowsBrokenPipe() throws {
    let (reader, writer) = try AnonymousPipe.make()
    try reader.close()
    let error = #expect(throws: IPCError.self) { try writer.send(Array("lost".utf8)) }
    #expect(error?.code == .brokenPipe)
    #expect(error?.code.rawValue == EPIPE)
    #expect(
      error?.reason
        == "the reading end is closed (the reader exited or closed it); nothing more can be written")
    #expect(error?.operation == "write")
  }

  @Test func aDuplexPipeCarriesMessagesBothWaysAndReportsAClosedPeer() throws {
    let (left, right) = try AnonymousPipe.duplex()
    try left.send(Job(id: 1, command: "ping"))
    #expect(try right.receive(Job.self) == Job(id: 1, command: "ping"))
    try right.send(Array("pong".utf8))
    #expect(try left.receive() == Array("pong".utf8))
    try right.close()
    #expect(try left.receive() == nil)
    let error = #expect(throws: IPCError.self) { try left.send([1, 2, 3]) }
    #expect(error?.code == .brokenPipe)
    #expect(error?.operation == "send")
  }

  // MARK: Named pipes

  @Test func aNamedPipeCarriesMessagesBetweenItsEnds() throws {
    try withFIFO { fifo in
      let reader = try fifo.openForReading(nonBlocking: true)
      let writer = try NamedPipe.open(at: fifo.path).openForWriting()
      #expect(reader.description == "pipe \(fifo.path) (read end)")
      #expect(writer.description == "pipe \(fifo.path) (write end)")
      // Opened non-blocking, but blocking from then on.
      #expect(fcntl(reader.fileDescriptor, F_GETFL) & O_NONBLOCK == 0)
      #expect(fcntl(reader.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0)
      try writer.send(Job(id: 4, command: "named"))
      try writer.close()
      #expect(try reader.receive(Job.self) == Job(id: 4, command: "named"))
      #expect(try reader.receive(Job.self) == nil)
    }
  }

  @Test func aNonBlockingWriterWithoutAReaderIsAClearError() throws {
    try withFIFO { fifo in
      let error = #expect(throws: IPCError.self) { try fifo.openForWriting(nonBlocking: true) }
      #expect(error?.code.rawValue == ENXIO)
      #expect(error?.operation == "open")
      #expect(error?.reason.contains("no process has \(fifo.path) open for reading") == true)
      #expect(error?.description.contains("[ENXIO]") == true)
    }
  }

  @Test func aNonBlockingWriterAfterAReaderDoesBlockingWrites() throws {
    try withFIFO { fifo in
      let reader = try fifo.openForReading(nonBlocking: true)
      let writer = try fifo.openForWriting(nonBlocking: true)
      #expect(fcntl(writer.fileDescriptor, F_GETFL) & O_NONBLOCK == 0)
      let bytes = [UInt8](repeating: 3, count: 200_000)  // more than the pipe holds
      let thread = Thread {
        try? writer.write(bytes)  // blocks while full: with O_NONBLOCK it would fail with EAGAIN
        try? writer.close()
      }
      thread.start()
      #expect(try reader.readToEnd() == bytes)
    }
  }

  @Test func creatingAnExistingFIFOFailsAndLeavesItAlone() throws {
    try withFIFO(permissions: Permissions(rawValue: 0o640)) { fifo in
      let before = fileMode(fifo.path)
      let error = #expect(throws: IPCError.self) { try NamedPipe.create(at: fifo.path) }
      #expect(error?.code == .exists)
      #expect(error?.operation == "mkfifo")
      #expect(error?.reason.contains("a FIFO already exists at \(fifo.path)") == true)
      #expect(fileMode(fifo.path) == before)
      #expect(fileMode(fifo.path).map { $0 & 0o777 } == 0o640)
      #expect(isFIFO(fifo.path))
    }
  }

  @Test func creatingOverARegularFileFailsAndLeavesTheFileAlone() throws {
    let path = TestPaths.nextFIFO()
    #expect(FileManager.default.createFile(atPath: path, contents: Data("keep".utf8)))
    defer { unlink(path) }
    let error = #expect(throws: IPCError.self) { try NamedPipe.create(at: path) }
    #expect(error?.code == .exists)
    #expect(error?.reason.contains("not a FIFO already exists") == true)
    #expect(FileManager.default.contents(atPath: path) == Data("keep".utf8))
  }

  @Test func openingSomethingThatIsNotAFIFOIsAnError() throws {
    let path = TestPaths.nextFIFO()
    #expect(FileManager.default.createFile(atPath: path, contents: Data("file".utf8)))
    defer { unlink(path) }
    let error = #expect(throws: IPCError.self) { try NamedPipe.open(at: path) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason == "\(path) is not a FIFO (it is a regular file)")
    let directory = #expect(throws: IPCError.self) { try NamedPipe.open(at: "/tmp") }
    #expect(directory?.reason.contains("is not a FIFO (it is a directory)") == true)
  }

  @Test func openingAMissingPathIsNotFound() throws {
    let path = TestPaths.nextFIFO()
    let error = #expect(throws: IPCError.self) { try NamedPipe.open(at: path) }
    #expect(error?.code == .notFound)
    #expect(error?.reason.contains("nothing exists at \(path)") == true)
    let empty = #expect(throws: IPCError.self) { try NamedPipe.open(at: "") }
    #expect(empty?.code == .invalidArgument)
    let noDirectory = #expect(throws: IPCError.self) {
      try NamedPipe.create(at: "/nonexistent-ipc-dir/fifo")
    }
    #expect(noDirectory?.code == .notFound)
  }

  @Test func removeUnlinksTheFIFOButNeverAFileThatReplacedIt() throws {
    let path = TestPaths.nextFIFO()
    let fifo = try NamedPipe.create(at: path)
    defer { unlink(path) }
    try fifo.remove()
    #expect(fileMode(path) == nil)
    let again = #expect(throws: IPCError.self) { try fifo.remove() }
    #expect(again?.code == .notFound)
    #expect(FileManager.default.createFile(atPath: path, contents: Data("new".utf8)))
    let replaced = #expect(throws: IPCError.self) { try fifo.remove() }
    #expect(replaced?.code == .invalidArgument)
    #expect(FileManager.default.contents(atPath: path) == Data("new".utf8))
  }

  @Test func endsKeepWorkingAfterTheFIFOIsRemoved() throws {
    let fifo = try NamedPipe.create(at: TestPaths.nextFIFO())
    defer { unlink(fifo.path) }
    let reader = try fifo.openForReading(nonBlocking: true)
    let writer = try fifo.openForWriting()
    try fifo.remove()
    try writer.send([42])
    #expect(try reader.receive() == [42])
  }

  @Test(arguments: [0o600, 0o640, 0o660, 0o644, 0o666, 0o400, 0o200])
  func aCreatedFIFOHasExactlyTheRequestedMode(mode: Int) throws {
    try withFIFO(permissions: Permissions(rawValue: UInt32(mode))) { fifo in
      let status = try #require(fileMode(fifo.path))
      #expect(status & S_IFMT == S_IFIFO)
      #expect(Int(status & 0o7777) == mode)
    }
  }

  #if DEBUG
    @Test func injectedInterruptsAreRetriedByReceive() throws {
      let (reader, writer) = try AnonymousPipe.make()
      try writer.send(Array("survives".utf8))
      let injection = InterruptInjection(.read, count: 3)
      let message = try InterruptInjection.$current.withValue(injection) { try reader.receive() }
      #expect(injection.delivered == 3)
      #expect(message == Array("survives".utf8))
    }

    @Test func injectedInterruptsAreRetriedBySend() throws {
      let (reader, writer) = try AnonymousPipe.make()
      let injection = InterruptInjection(.write, count: 2)
      try InterruptInjection.$current.withValue(injection) { try writer.send(Array("once".utf8)) }
      try writer.close()
      #expect(injection.delivered == 2)
      #expect(try reader.receive() == Array("once".utf8))
      #expect(try reader.receive() == nil)  // sent once, not three times
    }

    @Test func injectedInterruptsAreRetriedByOpen() throws {
      try withFIFO { fifo in
        let injection = InterruptInjection(.open, count: 2)
        let reader = try InterruptInjection.$current.withValue(injection) {
          try fifo.openForReading(nonBlocking: true)
        }
        #expect(injection.delivered == 2)
        #expect(!reader.isClosed)
      }
    }
  #endif
}
