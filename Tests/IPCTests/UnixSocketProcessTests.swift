import CIPCShims
import Foundation
import IPC
import Testing

/// Unix sockets between real processes: echo over each kind, a peer that
/// dies inside a frame, a client of another user refused by its
/// credentials, objects handed across in messages, datagrams with their
/// sender.
@Suite("Unix sockets across processes")
struct UnixSocketProcessTests {
  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func aPeerProcessEchoesEveryMessage(kind: UnixSocketKind) throws {
    try withSocketDirectory { directory in
      let address = try directory.address()
      let listener = try UnixListener.listen(on: address, kind: kind)
      defer { try? listener.close() }
      let peer = try startPeer("socket-echo", arguments: [address.description, kind.rawValue])
      let connection = try #require(try listener.accept(timeout: .seconds(30)))
      #expect(try connection.peer.pid == peer.child.pid)
      for size in [0, 1, 4096, 100_000] {
        let message = (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ size) }
        try connection.send(message)
        #expect(try connection.receive(timeout: .seconds(30)) == message, "\(size) bytes")
      }
      try connection.shutdownWriting()
      #expect(try connection.receive() == nil)
      #expect(try peer.child.wait() == .exited(0))
    }
  }

  @Test func aPeerThatDiesInsideAFrameIsABadMessageNotAMessage() throws {
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address)
    defer { try? listener.close() }
    let peer = try startPeer("socket-partial-frame", arguments: [address.description])
    let connection = try #require(try listener.accept(timeout: .seconds(30)))
    _ = try peer.child.wait()
    let error = thrownError { () throws(IPCError) in try connection.receive() }
    #expect(error?.code == .badMessage)
    #expect(
      error?.reason.hasPrefix("the stream ended after 10 of 100 bytes of a message") == true, "\(error!)")
    #expect(error?.payload == Array(repeating: 7, count: 10))
    #expect(try connection.receive() == nil)
  }

  @Test(.enabled(if: geteuid() == 0, "needs root to start a client as nobody"))
  func aClientOfAnotherUserIsRefusedByItsCredentials() throws {
    // An abstract name: no file permission keeps nobody out, only the check below.
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address, kind: .seqpacket)
    defer { try? listener.close() }
    let peer = try startPeer("socket-as-nobody", arguments: [address.description, "seqpacket"])
    let connection = try #require(try listener.accept(timeout: .seconds(30)))
    let credentials = try connection.peer
    #expect(credentials.uid == 65534 && credentials.gid == 65534 && credentials.pid == peer.child.pid)
    // The server's policy: only its own user. The client is refused unheard.
    if credentials.uid != geteuid() { try connection.close() }
    let status = try peer.child.wait()
    #expect(status == .exited(0), "\(status) \(peer.errors.text)")
    #expect(peer.output.text.hasPrefix("refused: "), "\(peer.output.text)")
  }

  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func aPeerHandsOverAPipeSharedMemoryAndAQueue(kind: UnixSocketKind) throws {
    let address = try AbstractNames.next()
    let memoryName = TestNames.next()
    let memory = try POSIX.SharedMemory.create(memoryName, size: 4096)
    defer { try? memory.unlink() }
    try withPOSIXQueue { queue in
      let listener = try UnixListener.listen(on: address, kind: kind)
      defer { try? listener.close() }
      let peer = try startPeer(
        "socket-pass", arguments: [address.description, kind.rawValue, memoryName, queue.name])
      let connection = try #require(try listener.accept(timeout: .seconds(30)))
      let message = try #require(try connection.receiveWithDescriptors())
      #expect(message.bytes == Array("three objects".utf8))
      #expect(message.descriptors.map(\.kind) == [.pipe, .sharedMemory, .posixMessageQueue])
      let pipe = try message.descriptors[0].take(as: PipeEnd.self)
      #expect(pipe.direction == .reading)
      #expect(try pipe.receive() == Array("through the pipe".utf8))
      let passedMemory = try message.descriptors[1].take(as: POSIX.SharedMemory.self)
      #expect(passedMemory.name == memoryName)
      #expect(try passedMemory.map().load(Int64.self, at: 0) == 4242)
      let passedQueue = try message.descriptors[2].take(as: POSIX.MessageQueue.self)
      #expect(passedQueue.name == queue.name && passedQueue.access == .writeOnly)
      #expect(try queue.receive().bytes == Array("through the queue".utf8))
      // Each arrived close-on-exec.
      #expect(fcntl(pipe.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0)
      #expect(fcntl(passedQueue.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0)
      try connection.close()
      #expect(try peer.child.wait() == .exited(0))
    }
  }

  @Test func aPeerTakesAPipeEndItIsHandedAndWritesThroughIt() throws {
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address)
    defer { try? listener.close() }
    let peer = try startPeer("socket-take", arguments: [address.description])
    let connection = try #require(try listener.accept(timeout: .seconds(30)))
    let (reader, writer) = try AnonymousPipe.make()
    try connection.send(Array("a socket".utf8), passing: [writer])
    try writer.close()
    #expect(try reader.receive() == Array("from \(peer.child.pid) via a socket".utf8))
    #expect(try reader.receive() == nil)  // the peer's copy is gone with it
    #expect(try peer.child.wait() == .exited(0))
    #expect(peer.output.text == "sent on write end\n")
  }

  @Test func descriptorsStayWithTheirMessageWhenManyMessagesAreReadAtOnce() throws {
    let address = try AbstractNames.next()
    let listener = try UnixListener.listen(on: address)
    defer { try? listener.close() }
    let peer = try startPeer("socket-burst", arguments: [address.description])
    let connection = try #require(try listener.accept(timeout: .seconds(30)))
    // All of them queued first, so that receives read several at a time.
    #expect(peer.output.waitFor("sent"))
    for index in 0..<60 {
      let message = try #require(try connection.receiveWithDescriptors(timeout: .seconds(30)))
      #expect(message.bytes == Array("message \(index)".utf8))
      guard index % 3 == 0 else {
        #expect(message.descriptors.isEmpty, "message \(index) carries none")
        continue
      }
      try #require(message.descriptors.count == 1, "message \(index) carries one")
      // The pipe's read end: it holds the index of the message it was sent with.
      let pipe = try PipeEnd.adopting(message.descriptors[0])
      #expect(try pipe.receive() == Array("\(index)".utf8), "the pipe sent with message \(index)")
    }
    try connection.close()
    #expect(try peer.child.wait() == .exited(0))
  }

  @Test func aDatagramPeerIsAnsweredAtItsAddressWithItsCredentials() throws {
    try withSocketDirectory { directory in
      let server = try UnixDatagramSocket.bind(to: directory.address("server.sock"))
      defer { try? server.close() }
      try server.setPassCredentials()
      // The peer's own socket: writable for it (it runs as this user).
      let peer = try startPeer(
        "socket-datagram", arguments: [directory.file("server.sock"), directory.file("peer.sock")])
      let message = try #require(try server.receive(timeout: .seconds(30)))
      #expect(message.bytes == Array("ping".utf8))
      #expect(message.sender?.pid == peer.child.pid)
      #expect(message.from == (try directory.address("peer.sock")))
      try server.send(Array("pong".utf8), to: try #require(message.from))
      #expect(try peer.child.wait() == .exited(0))
      #expect(peer.output.text == "reply: pong\n")
    }
  }
}
