import CIPCShims
import Foundation
import IPC
import Testing

/// Descriptor passing (SCM_RIGHTS): the limit, what arrives and as what, and
/// descriptors nobody asked for, closed and reported without a leak.
@Suite("Unix sockets, descriptor passing")
struct UnixSocketDescriptorTests {
  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func descriptorsBeyondSCMMaxFDAreRefusedBeforeSending(kind: UnixSocketKind) throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    let (reader, _) = try AnonymousPipe.make()
    let many = [any DescriptorPassable](repeating: reader, count: 254)
    let error = thrownError { () throws(IPCError) in try client.send(Array("too many".utf8), passing: many) }
    #expect(error?.code == .invalidArgument)
    #expect(
      error?.reason.hasPrefix("254 descriptors exceed the limit of 253 per message (SCM_MAX_FD)") == true)
    #expect(try server.tryReceiveWithDescriptors() == nil, "nothing was sent")
    try client.send(Array("after".utf8))
    #expect(try server.receive() == Array("after".utf8))
  }

  // Leaks are counted as the descriptors that refer to the pipe passed: a
  // number no other test (nor the runtime's own threads) changes.

  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func exactly253DescriptorsArriveAndAreClosedWithTheMessage(kind: UnixSocketKind) throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    let (reader, writer) = try AnonymousPipe.make()
    #expect(descriptorCount(sharingTargetOf: reader.fileDescriptor) == 2)
    try client.send(
      Array("just enough".utf8), passing: [any DescriptorPassable](repeating: reader, count: 253))
    do {
      let message = try #require(try server.receiveWithDescriptors())
      #expect(message.descriptors.count == 253)
      #expect(message.descriptors.allSatisfy { $0.kind == .pipe })
      #expect(descriptorCount(sharingTargetOf: reader.fileDescriptor) == 2 + 253)
    }
    #expect(
      descriptorCount(sharingTargetOf: writer.fileDescriptor) == 2,
      "released messages close what they carried")
  }

  @Test(.prompt, arguments: [UnixSocketKind.stream, .seqpacket])
  func descriptorsAtAPlainReceiveAreClosedAndReported(kind: UnixSocketKind) async throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    let (reader, writer) = try AnonymousPipe.make()
    let fd = reader.fileDescriptor
    #expect(descriptorCount(sharingTargetOf: fd) == 2)
    try client.send(Array("with two".utf8), passing: [reader, writer])
    let error = thrownError { () throws(IPCError) in try server.receive() }
    #expect(error?.code == .badMessage)
    #expect(error?.payload == Array("with two".utf8))
    #expect(
      error?.reason == "2 descriptors arrived with this message and were closed; use receiveWithDescriptors()"
        + " to take them. The message's bytes are kept in the error's payload")
    #expect(descriptorCount(sharingTargetOf: fd) == 2, "nothing leaked")
    // The timed, async and into-buffer forms report the same, and leak nothing.
    try client.send(Array("next".utf8), passing: [reader])
    let timed = thrownError { () throws(IPCError) in try server.receive(timeout: .seconds(5)) }
    #expect(timed?.code == .badMessage && timed?.payload == Array("next".utf8))
    try client.send(Array("async".utf8), passing: [writer])
    let awaited = await thrownError { () async throws(IPCError) in try await server.receive() }
    #expect(awaited?.code == .badMessage && awaited?.payload == Array("async".utf8))
    try client.send(Array("buffer".utf8), passing: [writer])
    var buffer = [UInt8](repeating: 0, count: 16)
    let intoBuffer = buffer.withUnsafeMutableBytes { bytes in
      thrownError { () throws(IPCError) in try server.receive(into: bytes) }
    }
    #expect(intoBuffer?.code == .badMessage && intoBuffer?.payload == Array("buffer".utf8))
    #expect(descriptorCount(sharingTargetOf: fd) == 2, "nothing leaked")
    // The connection stays in step.
    try client.send(Array("plain".utf8))
    #expect(try blocking { try server.receive() } == Array("plain".utf8))
  }

  /// A datagram's receive peeks at its length first; a peek installs copies
  /// of the descriptors a message carries, which must not stay open.
  @Test func aDatagramCarryingDescriptorsLeavesNoCopyBehind() throws {
    let server = try UnixDatagramSocket.bind(to: AbstractNames.next())
    let client = try UnixDatagramSocket.unbound()
    let (reader, writer) = try AnonymousPipe.make()
    let fd = reader.fileDescriptor
    try client.send(Array("two".utf8), to: try #require(server.address), passing: [reader, writer])
    do {
      let received = try server.receive()
      #expect(received.bytes == Array("two".utf8) && received.descriptors.count == 2)
      #expect(descriptorCount(sharingTargetOf: fd) == 4, "the two sent and the two received, no more")
    }
    #expect(descriptorCount(sharingTargetOf: fd) == 2)
    _ = writer
  }

  @Test func eachKindIsRecognisedAndTakenAsItsType() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    let name = TestNames.next()
    let memory = try POSIX.SharedMemory.create(name, size: 64)
    defer { try? memory.unlink() }
    try withPOSIXQueue { queue in
      let (reader, _) = try AnonymousPipe.make()
      let datagram = try UnixDatagramSocket.unbound()
      let file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
      defer { Glibc.close(file) }
      try client.send(
        [1], passing: [reader, memory, queue, client, datagram, RawDescriptor(file)])
      let message = try #require(try server.receiveWithDescriptors())
      #expect(
        message.descriptors.map(\.kind) == [
          .pipe, .sharedMemory, .posixMessageQueue, .socket, .socket, .file,
        ])
      // The wrong type: named both ways, and the descriptor stays to be taken right.
      let wrong = thrownError { () throws(IPCError) in
        try message.descriptors[0].take(as: POSIX.MessageQueue.self)
      }
      #expect(wrong?.code == .invalidArgument)
      #expect(
        wrong?.reason.hasPrefix("this descriptor is a pipe, not a POSIX.MessageQueue") == true, "\(wrong!)")
      #expect(message.descriptors[0].fileDescriptor >= 0)
      #expect(try message.descriptors[0].take(as: PipeEnd.self).direction == .reading)
      let taken = thrownError { () throws(IPCError) in try message.descriptors[0].take(as: PipeEnd.self) }
      #expect(taken?.code == .badDescriptor)
      let connection = try message.descriptors[3].take(as: UnixConnection.self)
      #expect(connection.kind == .stream)
      let notAConnection = thrownError { () throws(IPCError) in
        try message.descriptors[4].take(as: UnixConnection.self)
      }
      #expect(notAConnection?.reason.contains("a Unix datagram socket") == true)
      _ = try message.descriptors[4].take(as: UnixDatagramSocket.self)
      let raw = message.descriptors[5].takeDescriptor()
      #expect(raw >= 0 && fcntl(raw, F_GETFD) & FD_CLOEXEC != 0)
      Glibc.close(raw)
    }
  }

  @Test func aSocketHandedOverKeepsWorking() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: .seqpacket)
    defer { try? listener.close() }
    let (innerListener, innerClient, innerServer) = try connectedPair(AbstractNames.next(), kind: .seqpacket)
    defer { try? innerListener.close() }
    try client.send(Array("take this connection".utf8), passing: [innerClient])
    try innerClient.close()
    let message = try #require(try server.receiveWithDescriptors())
    let handed = try message.descriptors[0].take(as: UnixConnection.self)
    #expect(handed.kind == .seqpacket)
    try handed.send([UInt8]())
    try handed.send(Array("via the handed socket".utf8))
    #expect(try innerServer.receive() == [])
    #expect(try innerServer.receive() == Array("via the handed socket".utf8))
    try handed.close()
    #expect(try innerServer.receive() == nil)
  }

  @Test(.prompt) func descriptorsCutOffAtTheDescriptorLimitAreClosedAndReported() async {
    // A fresh process: its limit of open files is lowered so that only one of
    // three passed descriptors can be installed (MSG_CTRUNC).
    let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
      alarm(60)
      do {
        let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: .seqpacket)
        let (reader, writer) = try AnonymousPipe.make()
        try client.send(Array("three".utf8), passing: [reader, writer, reader])
        let open = openDescriptorNumbers()
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        // Only the lowest free number can be used: one of the three arrives.
        let lowestFree = (0...).first { !open.contains(Int32($0)) } ?? 0
        let usual = limit
        limit.rlim_cur = rlim_t(lowestFree + 1)
        guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { failCheck(2) }
        let error = thrownError { () throws(IPCError) in try server.receiveWithDescriptors() }
        // Counting reads /proc/self/fd, which takes a descriptor of its own.
        var restored = usual
        guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &restored) == 0 else { failCheck(6) }
        guard error?.code == .badMessage, error?.payload == Array("three".utf8),
          error?.reason.contains("MSG_CTRUNC") == true
        else {
          failCheck(3, "\(error.map { "\($0)" } ?? "no error")")
        }
        let count = descriptorCount(sharingTargetOf: reader.fileDescriptor)
        guard count == 2 else { failCheck(4, "\(count) descriptors of the pipe, 2 expected") }
        _ = (listener, client)
      } catch {
        failCheck(5)
      }
    }
    let output = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
    #expect(result != nil && !output.contains("check "), "\(output)")
  }
}

/// A stream message that arrives in parts, its descriptor with the first
/// part, while timed, non-blocking and async receives give up in between.
@Suite("Unix sockets, messages arriving in parts")
struct UnixSocketPartialMessageTests {
  /// Sends `bytes` as one `sendmsg`, with `descriptors` alongside.
  private func sendRaw(_ bytes: [UInt8], on connection: UnixConnection, passing descriptors: [Int32] = [])
    -> Int
  {
    bytes.withUnsafeBytes { raw in
      descriptors.withUnsafeBufferPointer { fds in
        cipc_unix_send(
          connection.fileDescriptor, nil, 0, raw.baseAddress, raw.count, fds.baseAddress, fds.count, nil, 0,
          false, 0)
      }
    }
  }

  @Test(.prompt) func receivesThatGiveUpInsideAMessageKeepItsBytesAndDescriptorForTheNext() async throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    let (reader, writer) = try AnonymousPipe.make()
    let message: [UInt8] = [6, 0, 0, 0] + Array("passed".utf8)
    #expect(sendRaw(Array(message[..<2]), on: client, passing: [reader.fileDescriptor]) == 2)
    #expect(try server.tryReceiveWithDescriptors() == nil)
    #expect(try blocking { try server.receiveWithDescriptors(timeout: .milliseconds(20)) } == nil)
    #expect(sendRaw(Array(message[2..<7]), on: client) == 5)
    #expect(try await server.receiveWithDescriptors(timeout: .milliseconds(20)) == nil)
    let waiting = Task { try await server.receiveWithDescriptors() }
    try await Task.sleep(for: .milliseconds(20))
    waiting.cancel()
    guard case .failure(let error) = await waiting.result else {
      Issue.record("the cancelled receive returned instead of ending with .cancelled")
      return
    }
    #expect((error as? IPCError)?.code == .cancelled)
    #expect(sendRaw(Array(message[7...]), on: client) == 3)
    let received = try #require(try blocking { try server.receiveWithDescriptors(timeout: .seconds(10)) })
    #expect(received.bytes == Array("passed".utf8))
    #expect(received.descriptors.count == 1)
    // The descriptor is the pipe's read end: what the write end writes comes out of it.
    let passed = try PipeEnd.adopting(try #require(received.descriptors.first))
    try writer.write(Array("through".utf8))
    #expect(try blocking { try passed.read(upToCount: 16) } == Array("through".utf8))
    try client.send(Array("in step".utf8))
    #expect(try blocking { try server.receive() } == Array("in step".utf8))
  }

  @Test func aMessagePartIntoABufferIsKeptWhenTheRestIsLate() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
    defer { buffer.deallocate() }
    let message: [UInt8] = [8, 0, 0, 0] + Array("buffered".utf8)
    #expect(sendRaw(Array(message[..<7]), on: client) == 7)
    #expect(try server.receive(into: buffer, timeout: .milliseconds(20)) == nil)
    #expect(try server.tryReceive(into: buffer) == nil)
    #expect(sendRaw(Array(message[7...]), on: client) == 5)
    #expect(try server.receive(into: buffer, timeout: .seconds(10)) == 8)
    #expect(Array(buffer[..<8]) == Array("buffered".utf8))
  }

  @Test func aDescriptorKeptWithAnUnfinishedMessageIsClosedWithTheConnection() throws {
    let (reader, _) = try AnonymousPipe.make()
    let before = descriptorCount(sharingTargetOf: reader.fileDescriptor)
    do {
      let (listener, client, server) = try connectedPair(AbstractNames.next())
      defer { try? listener.close() }
      #expect(sendRaw([9, 0], on: client, passing: [reader.fileDescriptor]) == 2)
      #expect(try server.tryReceiveWithDescriptors() == nil)
      #expect(descriptorCount(sharingTargetOf: reader.fileDescriptor) == before + 1, "kept with the part")
      try server.close()
      #expect(descriptorCount(sharingTargetOf: reader.fileDescriptor) == before, "closed by close()")
      withExtendedLifetime(server) {}
    }
    #expect(descriptorCount(sharingTargetOf: reader.fileDescriptor) == before, "closed with the connection")
  }
}
