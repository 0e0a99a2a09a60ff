import CIPCShims
import Foundation
import Testing

@testable import IPC

/// Unix-domain sockets in one process: addresses and their limits, listening
/// (modes, stale files, live listeners, files that are not sockets), connecting,
/// messages of each kind in every form, datagrams.
@Suite("Unix sockets")
struct UnixSocketTests {
  // MARK: Addresses

  @Test func aPathOf107BytesFitsAndOneOf108NamesTheSunPathLimit() throws {
    let fits = "/" + String(repeating: "a", count: 106)
    #expect(try UnixSocketAddress.path(fits).description == fits)
    let error = thrownError { () throws(IPCError) in try UnixSocketAddress.path(fits + "a") }
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason.contains("108") == true && error?.reason.contains("sun_path") == true, "\(error!)")
    #expect(error?.reason.contains("108 bytes long") == true)
  }

  @Test func aListenerPathTooLongIsRefusedBeforeAnyFileIsMade() throws {
    try withSocketDirectory { directory in
      let long = directory.file(String(repeating: "s", count: 120))
      let error = thrownError { () throws(IPCError) in try UnixSocketAddress.path(long) }
      #expect(error?.code == .invalidArgument)
      #expect(error?.reason.contains("sun_path holds 108 bytes") == true)
      let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
      #expect(left.isEmpty)
    }
  }

  @Test func abstractNamesRefuseNULAndParseFromAtSign() throws {
    let error = thrownError { () throws(IPCError) in try UnixSocketAddress.abstract("a\u{0}b") }
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason.contains("NUL") == true)
    let parsed = try UnixSocketAddress(parsing: "@jobs")
    #expect(parsed.isAbstract && parsed.name == "jobs" && parsed.description == "@jobs")
    #expect(try UnixSocketAddress(parsing: "/tmp/x.sock").path == "/tmp/x.sock")
    #expect(
      thrownError { () throws(IPCError) in try UnixSocketAddress.abstract(String(repeating: "n", count: 108))
      }?
      .code == .invalidArgument)
    #expect(
      thrownError { () throws(IPCError) in try UnixSocketAddress(parsing: "@") }?.code == .invalidArgument)
  }

  // MARK: Listening

  @Test func aPathListenerMakesA0600SocketFileAndCloseRemovesIt() throws {
    try withSocketDirectory { directory in
      let address = try directory.address()
      let listener = try UnixListener.listen(on: address)
      let mode = try #require(fileMode(directory.file("server.sock")))
      #expect(mode & S_IFMT == S_IFSOCK)
      #expect(mode & 0o7777 == 0o600)
      try listener.close()
      #expect(fileMode(directory.file("server.sock")) == nil)
      try listener.close()  // twice: nothing
    }
  }

  @Test func anExplicitModeIsExactWhateverTheUmask() throws {
    try withSocketDirectory { directory in
      let listener = try UnixListener.listen(on: directory.address(), mode: 0o666)
      defer { try? listener.close() }
      #expect(fileMode(directory.file("server.sock")).map { $0 & 0o777 } == 0o666)
    }
  }

  @Test func aMissingDirectoryIsNamed() throws {
    try withSocketDirectory { directory in
      let address = try UnixSocketAddress.path(directory.file("missing/server.sock"))
      let error = thrownError { () throws(IPCError) in try UnixListener.listen(on: address) }
      #expect(error?.code == .notFound)
      #expect(error?.reason == "the directory \(directory.file("missing")) does not exist; create it first")
    }
  }

  /// A socket between its bind and its listen refuses connections as a
  /// stale file does; a racing listener must not unlink its file (from the
  /// review: interprocess #40). A file only accepted connections still name
  /// (its listener gone) stays reclaimable.
  @Test func aBoundSocketNotYetListeningKeepsItsFile() throws {
    try withSocketDirectory { directory in
      let path = directory.file("held.sock")
      let held = cipc_unix_socket(0, false)
      #expect(held >= 0)
      defer { close(held) }
      #expect(path.withCString { cipc_unix_bind(held, $0, path.utf8.count, false, 0o600) } == 0)
      var before = stat()
      #expect(lstat(path, &before) == 0)
      let stolen = thrownError { () throws(IPCError) in try UnixListener.listen(on: .path(path)) }
      #expect(stolen?.code == .exists)
      var after = stat()
      #expect(
        lstat(path, &after) == 0 && after.st_ino == before.st_ino, "the live socket's file was unlinked")
    }
    try withSocketDirectory { directory in
      let address = try UnixSocketAddress.path(directory.file("restart.sock"))
      let first = try UnixListener.listen(on: address)
      let client = try UnixConnection.connect(to: address)
      let accepted = try first.accept()
      // The server dies without removing its file; its accepted connection lives on.
      let fd = first.fileDescriptor
      let null = open("/dev/null", O_RDONLY)
      _ = dup2(null, fd)  // the listening socket is gone, the file stays
      close(null)
      let second = try UnixListener.listen(on: address)
      try second.close()
      _ = (client, accepted)
    }
  }

  @Test func aStaleSocketFileIsReclaimed() throws {
    try withSocketDirectory { directory in
      let path = directory.file("server.sock")
      try makeStaleSocketFile(at: path)
      #expect(fileMode(path).map { $0 & S_IFMT } == S_IFSOCK)
      let listener = try UnixListener.listen(on: directory.address())
      defer { try? listener.close() }
      let client = try UnixConnection.connect(to: directory.address())
      try client.send(Array("after reclaim".utf8))
      #expect(try listener.accept().receive() == Array("after reclaim".utf8))
    }
  }

  @Test func aLiveListenerIsNeverStolen() throws {
    try withSocketDirectory { directory in
      let first = try UnixListener.listen(on: directory.address())
      defer { try? first.close() }
      let error = thrownError { () throws(IPCError) in try UnixListener.listen(on: directory.address()) }
      #expect(error?.code == .exists)
      #expect(error?.reason.contains("a server listens at this path") == true)
      // The first one still serves.
      let client = try UnixConnection.connect(to: directory.address())
      try client.send([1])
      #expect(try first.accept().receive() == [1])
      // And of another kind: still live, still never stolen.
      let other = thrownError { () throws(IPCError) in
        try UnixListener.listen(on: directory.address(), kind: .seqpacket)
      }
      #expect(other?.code == .exists)
    }
  }

  @Test func aRegularFileAtThePathIsNeverRemoved() throws {
    try withSocketDirectory { directory in
      let path = directory.file("server.sock")
      #expect(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
      let error = thrownError { () throws(IPCError) in try UnixListener.listen(on: directory.address()) }
      #expect(error?.code == .exists)
      #expect(error?.reason.hasPrefix("a regular file is at this path and it is not a socket") == true)
      #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
      let datagram = thrownError { () throws(IPCError) in try UnixDatagramSocket.bind(to: directory.address())
      }
      #expect(datagram?.code == .exists)
      #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
    }
  }

  @Test func closeLeavesAFileThatReplacedTheSocket() throws {
    try withSocketDirectory { directory in
      let path = directory.file("server.sock")
      let listener = try UnixListener.listen(on: directory.address())
      unlink(path)
      #expect(FileManager.default.createFile(atPath: path, contents: Data("new".utf8)))
      try listener.close()
      #expect(FileManager.default.contents(atPath: path) == Data("new".utf8))
    }
  }

  @Test func anAbstractNameIsHeldOnceAndFreedOnClose() throws {
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address)
    let error = thrownError { () throws(IPCError) in try UnixListener.listen(on: address) }
    #expect(error?.code == .exists)
    #expect(error?.reason.contains("abstract name") == true)
    try listener.close()
    try UnixListener.listen(on: address).close()
  }

  @Test func datagramHasNoListenerAndBadArgumentsAreRefused() throws {
    let address = try AbstractNames.next()
    #expect(
      thrownError { () throws(IPCError) in try UnixListener.listen(on: address, kind: .datagram) }?.code
        == .invalidArgument)
    #expect(
      thrownError { () throws(IPCError) in try UnixListener.listen(on: address, backlog: -1) }?.code
        == .invalidArgument)
    #expect(
      thrownError { () throws(IPCError) in try UnixListener.listen(on: address, mode: 0o4777) }?.code
        == .invalidArgument)
    #expect(
      thrownError { () throws(IPCError) in try UnixConnection.connect(to: address, kind: .datagram) }?.code
        == .invalidArgument)
  }

  // MARK: Connecting

  @Test func connectingToNothingIsWordedClearly() throws {
    let abstract = try AbstractNames.next()
    let refused = thrownError { () throws(IPCError) in try UnixConnection.connect(to: abstract) }
    #expect(refused?.code == .connectionRefused)
    #expect(refused?.reason.hasPrefix("connection refused: no socket holds this abstract name") == true)
    try withSocketDirectory { directory in
      let missing = thrownError { () throws(IPCError) in try UnixConnection.connect(to: directory.address()) }
      #expect(missing?.code == .notFound)
      #expect(missing?.reason.contains("no socket file at this path") == true)
      try makeStaleSocketFile(at: directory.file("server.sock"))
      let stale = thrownError { () throws(IPCError) in
        try UnixConnection.connect(to: directory.address(), timeout: .milliseconds(100))
      }
      #expect(stale?.code == .connectionRefused)
      #expect(stale?.reason.contains("no server listens on it") == true, "\(stale!)")
      #expect(stale?.description.contains("[ECONNREFUSED]") == true)
    }
  }

  @Test func connectingWithTheWrongKindIsNamed() throws {
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address, kind: .stream)
    defer { try? listener.close() }
    let error = thrownError { () throws(IPCError) in try UnixConnection.connect(to: address, kind: .seqpacket)
    }
    #expect(error?.reason.contains("not a seqpacket socket") == true)
  }

  @Test(.prompt) func acceptFormsWaitTimeOutAndReturnNil() async throws {
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address)
    defer { try? listener.close() }
    #expect(try listener.tryAccept() == nil)
    let start = ContinuousClock.now
    #expect(try await listener.accept(timeout: .milliseconds(50)) == nil)
    #expect(ContinuousClock.now - start >= .milliseconds(50))
    #expect(try await listener.accept(timeout: .milliseconds(20)) == nil)
    let client = try await UnixConnection.connect(to: address)
    let accepted = try #require(try listener.tryAccept())
    #expect(try accepted.peer.pid == getpid())
    let second = try await UnixConnection.connect(to: address, timeout: .seconds(1))
    let acceptedAsync = try await listener.accept()
    try second.send(Array("async".utf8))
    #expect(try await acceptedAsync.receive() == Array("async".utf8))
    _ = client
    // Close-on-exec, as every descriptor the library makes.
    #expect(fcntl(accepted.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0)
    #expect(fcntl(client.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0)
    #expect(fcntl(listener.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0)
  }

  @Test(.prompt) func aCancelledAcceptTakesNoConnection() async throws {
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address)
    defer { try? listener.close() }
    let waiting = Task { try await listener.accept() }
    try await Task.sleep(for: .milliseconds(50))
    waiting.cancel()
    let error = await thrownError { () async throws(IPCError) in
      do { return try await waiting.value } catch { throw error as! IPCError }
    }
    #expect(error?.code == .cancelled)
    let client = try await UnixConnection.connect(to: address)
    #expect(try await listener.accept(timeout: .seconds(5)) != nil)
    _ = client
  }

  // MARK: Messages

  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func messagesOfEverySizeRoundTrip(kind: UnixSocketKind) throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    let sizes = [0, 1, 4, 100, 4092, 4096, 65_536, 150_000]
    for size in sizes {
      let message = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
      try client.send(message)
      #expect(try server.receive() == message, "\(size) bytes")
    }
    try client.close()
    #expect(try server.receive() == nil)
    #expect(try server.receive() == nil)
  }

  @Test func aStreamIsFramedExactlyAsPipesFrameIt() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    try client.send(Array("hi".utf8))
    var raw = [UInt8](repeating: 0, count: 6)
    #expect(recv(server.fileDescriptor, &raw, 6, Int32(MSG_WAITALL)) == 6)
    #expect(raw == [2, 0, 0, 0] + Array("hi".utf8))
    // And a PipeEnd reader over the same stream reads socket frames.
    try client.send(Array("to a pipe end".utf8))
    let duplicate = dup(server.fileDescriptor)
    let received = try #require(
      try ReceivedDescriptorFixture.pipeEnd(from: duplicate))
    #expect(try received.receive() == Array("to a pipe end".utf8))
  }

  @Test func aSeqpacketRecordTooBigForTheBufferIsKeptInTheError() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: .seqpacket)
    defer { try? listener.close() }
    try client.send(Array("twelve bytes".utf8))
    try client.send(Array("next".utf8))
    var small = [UInt8](repeating: 0, count: 5)
    let error = small.withUnsafeMutableBytes { buffer in
      thrownError { () throws(IPCError) in try server.receive(into: buffer) }
    }
    #expect(error?.code == .tooBig)
    #expect(error?.payload == Array("twelve bytes".utf8))
    var buffer = [UInt8](repeating: 0, count: 16)
    let count = try buffer.withUnsafeMutableBytes { try server.receive(into: $0) }
    #expect(count == 4 && Array(buffer[..<4]) == Array("next".utf8))
  }

  /// A record taken in one call lands partly in the caller's buffer and
  /// partly in the connection's spill room: both parts, in order, whole.
  @Test func aLargeSeqpacketRecordArrivesWholeWithOrWithoutABuffer() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: .seqpacket)
    defer { try? listener.close() }
    let record = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
    try client.send(record)
    try client.send(record)
    #expect(try server.receive() == record)
    var small = [UInt8](repeating: 0, count: 1000)
    let error = small.withUnsafeMutableBytes { buffer in
      thrownError { () throws(IPCError) in try server.receive(into: buffer) }
    }
    #expect(error?.code == .tooBig)
    #expect(error?.payload == record)
    try client.send(Array(record[..<1000]))
    #expect(try small.withUnsafeMutableBytes { try server.receive(into: $0) } == 1000)
    #expect(small == Array(record[..<1000]))
  }

  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func emptyMessagesAreNotTheEnd(kind: UnixSocketKind) throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    for _ in 0..<4 { try client.send([UInt8]()) }
    try client.shutdownWriting()
    #expect(try server.receive() == [])
    #expect(try server.tryReceive() == [])
    // Into a buffer too: 0 bytes, then nil at the end (the timed forms throw).
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 1)
    defer { buffer.deallocate() }
    #expect(try server.receive(into: buffer) == 0)
    #expect(try server.tryReceive(into: buffer) == 0)
    #expect(try server.receive(into: buffer) == nil)
    let endedIntoBuffer = thrownError { () throws(IPCError) in try server.tryReceive(into: buffer) }
    #expect(endedIntoBuffer?.code == .brokenPipe)
    #expect(try server.receive() == nil)
    let ended = thrownError { () throws(IPCError) in try server.tryReceive() }
    #expect(ended?.code == .brokenPipe)
    #expect(ended?.reason.hasPrefix("the connection has ended: the peer closed it") == true)
  }

  @Test(.prompt, arguments: [UnixSocketKind.stream, .seqpacket])
  func timedTryAndAsyncReceives(kind: UnixSocketKind) async throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    #expect(try server.tryReceive() == nil)
    #expect(try blocking { try server.receive(timeout: .milliseconds(30)) } == nil)
    #expect(try await server.receive(timeout: .milliseconds(30)) == nil)
    try client.send(Array("one".utf8))
    #expect(try blocking { try server.receive(timeout: .seconds(5)) } == Array("one".utf8))
    async let later = server.receive()
    try await Task.sleep(for: .milliseconds(20))
    try client.send(Array("two".utf8))
    #expect(try await later == Array("two".utf8))
    struct Job: Codable, Equatable { var id: Int; var name: String }
    try client.send(Job(id: 7, name: "seven"))
    #expect(try await server.receive(Job.self) == Job(id: 7, name: "seven"))
    try client.send(Job(id: 8, name: "eight"))
    #expect(try blocking { try server.receive(Job.self, timeout: .seconds(5)) } == Job(id: 8, name: "eight"))
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 1)
    defer { buffer.deallocate() }
    try client.send(Array("three".utf8))
    #expect(try await server.receive(into: buffer) == 5)
    #expect(Array(buffer[..<5]) == Array("three".utf8))
    // The timed async forms: nil while nothing comes, the message once it
    // does, and the end of the stream as an error (nil would read as a timeout).
    #expect(try await server.receive(Job.self, timeout: .milliseconds(20)) == nil)
    try client.send(Job(id: 9, name: "nine"))
    #expect(try await server.receive(Job.self, timeout: .seconds(5)) == Job(id: 9, name: "nine"))
    #expect(try await server.receive(into: buffer, timeout: .milliseconds(20)) == nil)
    try client.send(Array("four".utf8))
    #expect(try await server.receive(into: buffer, timeout: .seconds(5)) == 4)
    #expect(Array(buffer[..<4]) == Array("four".utf8))
    try client.close()
    let ended = await #expect(throws: IPCError.self) {
      try await server.receive(into: buffer, timeout: .seconds(5))
    }
    #expect(ended?.code == .brokenPipe)
  }

  @Test(.prompt, arguments: [UnixSocketKind.stream, .seqpacket])
  func aCancelledReceiveConsumesNothing(kind: UnixSocketKind) async throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    let waiting = Task { try await server.receive() }
    try await Task.sleep(for: .milliseconds(50))
    waiting.cancel()
    let error = await thrownError { () async throws(IPCError) in
      do { return try await waiting.value } catch { throw error as! IPCError }
    }
    #expect(error?.code == .cancelled)
    try client.send(Array("kept".utf8))
    #expect(try await server.receive() == Array("kept".utf8))
  }

  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func sendingToAClosedPeerIsBrokenPipeNotSIGPIPE(kind: UnixSocketKind) throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    try server.close()
    // SIGPIPE at its default would kill the test process: MSG_NOSIGNAL keeps it an error.
    var error: IPCError?
    for _ in 0..<3 where error == nil {
      error = thrownError { () throws(IPCError) in try client.send(Array("anyone?".utf8)) }
    }
    #expect(error?.code == .brokenPipe)
    #expect(error?.reason.contains("the peer closed the connection") == true)
  }

  @Test func aClosedConnectionIsBadDescriptor() throws {
    let (listener, client, _) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    try client.close()
    try client.close()
    #expect(thrownError { () throws(IPCError) in try client.send([1]) }?.code == .badDescriptor)
    #expect(thrownError { () throws(IPCError) in try client.receive() }?.code == .badDescriptor)
    #expect(thrownError { () throws(IPCError) in try client.peer }?.code == .badDescriptor)
  }

  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func interruptedCallsAreRetried(kind: UnixSocketKind) throws {
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address, kind: kind)
    defer { try? listener.close() }
    let connecting = InterruptInjection(.connect, count: 2)
    let client = try InterruptInjection.$current.withValue(connecting) {
      try UnixConnection.connect(to: address, kind: kind)
    }
    let accepting = InterruptInjection(.accept, count: 2)
    let server = try InterruptInjection.$current.withValue(accepting) { try listener.accept() }
    let sending = InterruptInjection(.write, count: 2)
    try InterruptInjection.$current.withValue(sending) { try client.send(Array("despite EINTR".utf8)) }
    let receiving = InterruptInjection(.read, count: 3)
    let message = try InterruptInjection.$current.withValue(receiving) { try server.receive() }
    #expect(message == Array("despite EINTR".utf8))
    #expect([connecting, accepting, sending, receiving].map(\.delivered) == [2, 2, 2, 3])
  }

  @Test(.prompt) func messagesReadAheadAreReceivedWithoutWaiting() async throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    for index in 0..<6 { try client.send(Array("frame \(index)".utf8)) }
    #expect(try blocking { try server.receive() } == Array("frame 0".utf8))
    // One recvmsg took them all: the socket is empty, the rest is read ahead,
    // and no form waits for the socket to become readable before taking it.
    var byte: UInt8 = 0
    #expect(recv(server.fileDescriptor, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == -1)
    #expect(try server.tryReceive() == Array("frame 1".utf8))
    #expect(try blocking { try server.receive(timeout: .seconds(5)) } == Array("frame 2".utf8))
    #expect(try await server.receive(timeout: .seconds(5)) == Array("frame 3".utf8))
    #expect(try await server.receive() == Array("frame 4".utf8))
    var buffer = [UInt8](repeating: 0, count: 16)
    let count = try buffer.withUnsafeMutableBytes { (bytes) throws(IPCError) in
      try server.tryReceive(into: bytes)
    }
    #expect(count.map { Array(buffer[..<$0]) } == Array("frame 5".utf8))
    #expect(try server.tryReceive() == nil)
    try client.send(Array("later".utf8))
    #expect(try blocking { try server.receive() } == Array("later".utf8))
  }

  @Test(.prompt) func aCancelledTaskTakesNothingReadAhead() async throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    for index in 0..<3 { try client.send(Array("frame \(index)".utf8)) }
    #expect(try blocking { try server.receive() } == Array("frame 0".utf8))
    // Frames 1 and 2 are read ahead; a cancelled task's receives take neither.
    let cancelled = Task {
      withUnsafeCurrentTask { $0?.cancel() }
      var codes: [IPCError.Code] = []
      do throws(IPCError) { _ = try await server.receive() } catch { codes.append(error.code) }
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
      defer { buffer.deallocate() }
      do throws(IPCError) { _ = try await server.receive(into: buffer) } catch { codes.append(error.code) }
      return codes
    }
    #expect(await cancelled.value == [IPCError.Code.cancelled, .cancelled])
    #expect(try server.tryReceive() == Array("frame 1".utf8))
    #expect(try server.tryReceive() == Array("frame 2".utf8))
  }

  // MARK: Credentials

  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func bothEndsKnowThePeer(kind: UnixSocketKind) throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: kind)
    defer { try? listener.close() }
    let me = PeerCredentials(pid: getpid(), uid: geteuid(), gid: getegid())
    #expect(try server.peer == me)
    #expect(try client.peer == me)
  }

  @Test func seqpacketMessagesReportTheirSenderWhenAsked() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next(), kind: .seqpacket)
    defer { try? listener.close() }
    try client.send([1])
    #expect(try server.receiveWithDescriptors()?.sender == nil)
    try server.setPassCredentials()
    try client.send([2])
    let message = try #require(try server.receiveWithDescriptors())
    #expect(message.sender == PeerCredentials(pid: getpid(), uid: geteuid(), gid: getegid()))
  }

  @Test func streamMessagesReadTogetherEachReportTheirSender() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    try server.setPassCredentials()
    for index in 0..<3 { try client.send([UInt8(index)]) }
    // One read takes all three (one writer): the credentials are each one's.
    for index in 0..<3 {
      let message = try #require(try server.receiveWithDescriptors())
      #expect(message.bytes == [UInt8(index)])
      #expect(message.sender == PeerCredentials(pid: getpid(), uid: geteuid(), gid: getegid()))
    }
    // Read ahead with credentials, then no longer asked for: none is reported.
    for index in 0..<3 { try client.send([UInt8(index)]) }
    #expect(try server.receiveWithDescriptors()?.sender != nil)
    try server.setPassCredentials(false)
    #expect(try server.receiveWithDescriptors()?.sender == nil)
    #expect(try server.receive() == [2])
  }

  // MARK: Datagrams

  @Test func aDatagramQueuedBeforeCredentialsWereAskedForReportsNoSender() throws {
    let name = try AbstractNames.next()
    let inbox = try UnixDatagramSocket.bind(to: name)
    let sender = try UnixDatagramSocket.unbound()
    try sender.send([1], to: name)
    // Nobody asked for credentials when it was sent: the kernel reports
    // pid 0 and the overflow ids, which are nobody's.
    try inbox.setPassCredentials()
    #expect(try inbox.receive().sender == nil)
    try sender.send([2], to: name)
    #expect(try inbox.receive().sender == PeerCredentials(pid: getpid(), uid: geteuid(), gid: getegid()))
  }

  @Test(.prompt) func datagramsCarryTheirSenderAddressAndCredentials() async throws {
    try await withSocketDirectory { directory in
      let server = try UnixDatagramSocket.bind(to: directory.address("server.sock"))
      let client = try UnixDatagramSocket.bind(to: directory.address("client.sock"))
      let anonymous = try UnixDatagramSocket.unbound()
      #expect(fileMode(directory.file("server.sock")).map { $0 & 0o777 } == 0o600)
      try server.setPassCredentials()
      try client.send(Array("ping".utf8), to: directory.address("server.sock"))
      let first = try blocking { try server.receive() }
      #expect(first.bytes == Array("ping".utf8))
      #expect(first.from == (try directory.address("client.sock")))
      #expect(first.sender == PeerCredentials(pid: getpid(), uid: geteuid(), gid: getegid()))
      try server.send(Array("pong".utf8), to: try #require(first.from))
      #expect(try blocking { try client.receive(timeout: .seconds(5)) }?.bytes == Array("pong".utf8))
      try anonymous.send([UInt8](), to: directory.address("server.sock"))
      let empty = try #require(try server.tryReceive())
      #expect(empty.bytes.isEmpty && empty.from == nil)
      #expect(try server.tryReceive() == nil)
      #expect(try await server.receive(timeout: .milliseconds(20)) == nil)
      struct Ping: Codable, Equatable { var n: Int }
      try anonymous.send(Ping(n: 3), to: directory.address("server.sock"))
      #expect(try await server.receive().decode(Ping.self) == Ping(n: 3))
      try server.close()
      try client.close()
      #expect(fileMode(directory.file("server.sock")) == nil)
      let refused = thrownError { () throws(IPCError) in
        try anonymous.send([1], to: directory.address("server.sock"))
      }
      #expect(refused?.code == .notFound)
    }
  }

  @Test func aStaleDatagramFileIsReclaimedAndALiveOneKept() throws {
    try withSocketDirectory { directory in
      let live = try UnixDatagramSocket.bind(to: directory.address())
      let error = thrownError { () throws(IPCError) in try UnixDatagramSocket.bind(to: directory.address()) }
      #expect(error?.code == .exists)
      #expect(error?.reason.contains("a server listens at this path") == true)
      try live.close()
      try makeStaleSocketFile(at: directory.file("other.sock"), kind: .datagram)
      let reclaimed = try UnixDatagramSocket.bind(to: directory.address("other.sock"))
      try reclaimed.close()
    }
  }
}

/// Leaves a socket file at `path` that nobody listens on, as a server that
/// crashed leaves it.
func makeStaleSocketFile(at path: String, kind: UnixSocketKind = .stream) throws {
  let address = try UnixSocketAddress.path(path)
  if kind == .datagram {
    let socket = try UnixDatagramSocket.bind(to: address)
    _ = socket  // released without close(): the file stays
  } else {
    let listener = try UnixListener.listen(on: address, kind: kind)
    _ = listener
  }
  // A child forked meanwhile by another test holds every descriptor until it
  // execs, this socket's too, and while it does the socket is live.
  guard eventually(within: .seconds(20), { !TestSockets.isListed(path) }) else {
    throw SpawnFailure(message: "the socket at \(path) stayed open 20 s after it was closed")
  }
}

/// PipeEnd over a socket descriptor, through the descriptor-passing path.
enum ReceivedDescriptorFixture {
  static func pipeEnd(from fd: Int32) throws -> PipeEnd? {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    let raw = try RawDescriptor(fd)
    try client.send([0], passing: [raw])
    Glibc.close(fd)
    return try server.receiveWithDescriptors()?.descriptors.first?.take(as: PipeEnd.self)
  }
}

/// A raw descriptor to pass, owned by the caller.
struct RawDescriptor: DescriptorPassable {
  let fd: Int32
  init(_ fd: Int32) throws { self.fd = fd }
  var passableDescriptor: Int32 { fd }
  static func adopting(_ descriptor: ReceivedDescriptor) throws(IPCError) -> RawDescriptor {
    RawDescriptor(unchecked: descriptor.takeDescriptor())
  }
  private init(unchecked fd: Int32) { self.fd = fd }
}
