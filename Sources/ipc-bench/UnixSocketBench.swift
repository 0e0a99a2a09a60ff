import CIPCBench
import Glibc
import IPC

/// What a `unix-*` row sends over its connection, and how each side loops.
protocol UnixSocketProtocol {
  /// The kind of socket the listener and the child's connection are.
  static var kind: UnixSocketKind { get }
  /// The C loops over a connected descriptor, which they own and close.
  static func cLoops(_ fd: Int32) throws -> any MessageLoops
  /// The Swift loops over a connection of the library.
  static func swiftLoops(_ connection: UnixConnection) throws -> any MessageLoops
}

/// Frames as the library frames a stream (and PipeEnd a pipe): a 4-byte
/// little-endian length, then the payload.
enum UnixStreamFrames: UnixSocketProtocol {
  static let kind = UnixSocketKind.stream
  static func cLoops(_ fd: Int32) throws -> any MessageLoops { try CUnixLoops(fd, .stream) }
  static func swiftLoops(_ connection: UnixConnection) throws -> any MessageLoops {
    SwiftUnixLoops(connection)
  }
}

/// One seqpacket record per message; the C loop keeps the library's
/// guarantees as the library does (`recvmsg` with a spill room, room for
/// descriptors and credentials, `SO_PASSCRED`): the same work in C.
enum UnixSeqpacketRecords: UnixSocketProtocol {
  static let kind = UnixSocketKind.seqpacket
  static func cLoops(_ fd: Int32) throws -> any MessageLoops { try CUnixLoops(fd, .seqpacket(exact: true)) }
  static func swiftLoops(_ connection: UnixConnection) throws -> any MessageLoops {
    SwiftUnixLoops(connection)
  }
}

/// The same Swift loops against a plain C `recv` loop that keeps none of
/// those guarantees: the row shows what they cost.
enum UnixSeqpacketPlainRecords: UnixSocketProtocol {
  static let kind = UnixSocketKind.seqpacket
  static func cLoops(_ fd: Int32) throws -> any MessageLoops { try CUnixLoops(fd, .seqpacket(exact: false)) }
  static func swiftLoops(_ connection: UnixConnection) throws -> any MessageLoops {
    SwiftUnixLoops(connection)
  }
}

/// Stream frames that each carry one descriptor (`SCM_RIGHTS`): the read end
/// of a pipe each side made before the clock starts. The receiver closes
/// the descriptor it got.
enum UnixDescriptorFrames: UnixSocketProtocol {
  static let kind = UnixSocketKind.stream
  static func cLoops(_ fd: Int32) throws -> any MessageLoops { try CUnixDescriptorLoops(fd) }
  static func swiftLoops(_ connection: UnixConnection) throws -> any MessageLoops {
    try SwiftUnixDescriptorLoops(connection)
  }
}

typealias UnixStreamFixture = UnixSocketFixture<UnixStreamFrames>
typealias UnixSeqpacketFixture = UnixSocketFixture<UnixSeqpacketRecords>
typealias UnixSeqpacketPlainFixture = UnixSocketFixture<UnixSeqpacketPlainRecords>
typealias UnixDescriptorFixture = UnixSocketFixture<UnixDescriptorFrames>

/// A listener per measurement at a Linux abstract name with a random part
/// (`@ipc-bench-PID-N-` and 64 random bits): no file to leave behind, and the
/// name is gone as soon as the listener is closed or this process dies. The
/// child connects to it (C: `socket` and `connect`; Swift:
/// `UnixConnection.connect`) before it says ready; the parent accepts (C:
/// `accept4`; Swift: `UnixListener.accept`), checks that the connection is its
/// child's (`SO_PEERCRED`: anyone may connect to an abstract name) and
/// closes the listener, all before the clock starts.
final class UnixSocketFixture<Protocol: UnixSocketProtocol>: Fixture {
  let address: UnixSocketAddress
  private var listener: UnixListener?
  private var child: pid_t = 0

  init(size: Int) throws {
    address = try .abstract(UniqueName.next())
    listener = try UnixListener.listen(on: address, kind: Protocol.kind, backlog: 1)
  }

  deinit { remove() }

  var childArguments: [String] { ["--address", address.description] }

  func childRunning(as pid: pid_t) { child = pid }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    guard let listener else { throw BenchFailure("\(address): the listener is closed") }
    defer { remove() }
    switch impl {
    case .c:
      let fd = try descriptor(cipcb_unix_accept(listener.fileDescriptor), "accept4", address.description)
      let peer = cipcb_unix_peer_pid(fd)
      guard peer == child else {
        _ = cipcb_unix_close(fd)
        throw BenchFailure("\(address): a connection from process \(peer), not the child \(child)")
      }
      return try Protocol.cLoops(fd)
    case .swift:
      let connection = try listener.accept()
      let peer = try connection.peer.pid
      guard peer == child else {
        throw BenchFailure("\(address): a connection from process \(peer), not the child \(child)")
      }
      return try Protocol.swiftLoops(connection)
    }
  }

  /// The child's connection closes when it ends: end of stream or EPIPE for the parent.
  func childFailed() -> Bool { true }

  func remove() {
    try? listener?.close()
    listener = nil
  }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    let text = try arguments.string("--address")
    switch impl {
    case .c:
      let type = Protocol.kind == .seqpacket ? SOCK_SEQPACKET : SOCK_STREAM
      return try Protocol.cLoops(descriptor(cipcb_unix_connect(text, Int32(type.rawValue)), "connect", text))
    case .swift:
      return try Protocol.swiftLoops(
        UnixConnection.connect(to: UnixSocketAddress(parsing: text), kind: Protocol.kind))
    }
  }
}

/// The C baseline (unix_socket.c): framed stream, or seqpacket records read
/// exactly as the library reads them or plainly (see UnixSeqpacketRecords).
final class CUnixLoops: MessageLoops {
  enum Framing {
    case stream
    case seqpacket(exact: Bool)
  }
  private let fd: Int32
  private let framing: Framing

  /// Takes `fd`, which it closes (also when an exact loop cannot set `SO_PASSCRED`).
  init(_ fd: Int32, _ framing: Framing) throws {
    // Before the properties are set: a throw then runs no deinit, which would close `fd` again.
    if case .seqpacket(exact: true) = framing {
      let status = cipcb_unix_pass_credentials(fd)
      if status < 0 {
        _ = cipcb_unix_close(fd)
        try check(status, "setsockopt(SO_PASSCRED)", "benchmark socket")
      }
    }
    self.fd = fd
    self.framing = framing
  }

  deinit { _ = cipcb_unix_close(fd) }

  func ping(rounds: Int, size: Int) throws {
    let status =
      switch framing {
      case .stream: cipcb_unix_stream_ping(fd, rounds, size)
      case .seqpacket(let exact): cipcb_unix_seqpacket_ping(fd, rounds, size, exact)
      }
    try check(status, "cipcb_unix_ping", "benchmark socket")
  }

  func pong(rounds: Int, size: Int) throws {
    let status =
      switch framing {
      case .stream: cipcb_unix_stream_pong(fd, rounds, size)
      case .seqpacket(let exact): cipcb_unix_seqpacket_pong(fd, rounds, size, exact)
      }
    try check(status, "cipcb_unix_pong", "benchmark socket")
  }

  func send(count: Int, size: Int) throws {
    let status =
      switch framing {
      case .stream: cipcb_unix_stream_send(fd, count, size)
      case .seqpacket: cipcb_unix_seqpacket_send(fd, count, size)
      }
    try check(status, "cipcb_unix_send", "benchmark socket")
  }

  func receive(count: Int, size: Int) throws {
    let status =
      switch framing {
      case .stream: cipcb_unix_stream_receive(fd, count, size)
      case .seqpacket(let exact): cipcb_unix_seqpacket_receive(fd, count, size, exact)
      }
    try check(status, "cipcb_unix_receive", "benchmark socket")
  }
}

/// The Swift side, through `UnixConnection`: `send` from a buffer and
/// `receive(into:)` a buffer made once before the clock starts (64 KiB, as
/// C's), every message exactly `size` bytes.
final class SwiftUnixLoops: MessageLoops {
  private let connection: UnixConnection
  private let buffer: UnsafeMutableRawBufferPointer

  init(_ connection: UnixConnection) {
    self.connection = connection
    buffer = .allocate(byteCount: 64 * 1024, alignment: 64)
  }

  deinit { buffer.deallocate() }

  func ping(rounds: Int, size: Int) throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    message.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "p"))
    let outgoing = UnsafeRawBufferPointer(message)
    for _ in 0..<rounds {
      try connection.send(outgoing)
      try expect(connection.receive(into: buffer), size)
    }
  }

  func pong(rounds: Int, size: Int) throws {
    let message = UnsafeRawBufferPointer(rebasing: buffer[0..<size])
    for _ in 0..<rounds {
      try expect(connection.receive(into: buffer), size)
      try connection.send(message)
    }
  }

  func send(count: Int, size: Int) throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    message.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "s"))
    let outgoing = UnsafeRawBufferPointer(message)
    for _ in 0..<count { try connection.send(outgoing) }
  }

  func receive(count: Int, size: Int) throws {
    for _ in 0..<count { try expect(connection.receive(into: buffer), size) }
  }
}

/// A received message's size is the size sent; end of stream is a failure.
private func expect(_ received: Int?, _ size: Int) throws {
  guard received == size else {
    throw BenchFailure(
      received.map { "a message of \($0) bytes, not \(size)" } ?? "the peer closed the socket")
  }
}

/// The plain C baseline of the descriptor row (unix_socket.c): a pipe made
/// here, whose read end goes with every message.
final class CUnixDescriptorLoops: MessageLoops {
  private let fd: Int32
  private var pipe: [Int32] = [-1, -1]

  init(_ fd: Int32) throws {
    self.fd = fd
    do {
      try check(cipcb_pipe(&pipe), "pipe2", "passed pipe")
    } catch {
      _ = cipcb_unix_close(fd)
      throw error
    }
  }

  deinit {
    _ = cipcb_unix_close(fd)
    for index in pipe.indices { closeDescriptor(&pipe[index]) }
  }

  func ping(rounds: Int, size: Int) throws {
    try check(cipcb_unix_fdpass_ping(fd, pipe[0], rounds, size), "cipcb_unix_fdpass_ping", "benchmark socket")
  }

  func pong(rounds: Int, size: Int) throws {
    try check(cipcb_unix_fdpass_pong(fd, pipe[0], rounds, size), "cipcb_unix_fdpass_pong", "benchmark socket")
  }

  func send(count: Int, size: Int) throws { throw BenchFailure.roundTripsOnlyForDescriptors }
  func receive(count: Int, size: Int) throws { throw BenchFailure.roundTripsOnlyForDescriptors }
}

/// The Swift side of the descriptor row: `send(_:passing:)` with a `PipeEnd`
/// and `receiveWithDescriptors()`; the `ReceivedDescriptor` that came is
/// dropped, which closes it.
final class SwiftUnixDescriptorLoops: MessageLoops {
  private let connection: UnixConnection
  private let buffer: UnsafeMutableRawBufferPointer
  /// The pipe's read end goes with every message; the writer keeps it alive.
  private let pipe: (reader: PipeEnd, writer: PipeEnd)
  private let passing: [any DescriptorPassable]

  init(_ connection: UnixConnection) throws {
    self.connection = connection
    pipe = try AnonymousPipe.make()
    passing = [pipe.reader]
    buffer = .allocate(byteCount: 64 * 1024, alignment: 64)
  }

  deinit { buffer.deallocate() }

  func ping(rounds: Int, size: Int) throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    message.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "p"))
    let outgoing = UnsafeRawBufferPointer(message)
    for _ in 0..<rounds {
      try connection.send(outgoing, passing: passing)
      _ = try receiveOne(size)
    }
  }

  /// Sends back the bytes that came, as C's pong does.
  func pong(rounds: Int, size: Int) throws {
    for _ in 0..<rounds {
      let bytes = try receiveOne(size)
      try bytes.withUnsafeBytes { try connection.send($0, passing: passing) }
    }
  }

  func send(count: Int, size: Int) throws { throw BenchFailure.roundTripsOnlyForDescriptors }
  func receive(count: Int, size: Int) throws { throw BenchFailure.roundTripsOnlyForDescriptors }

  /// The bytes of one message of `size` bytes that brought exactly one
  /// descriptor, which is closed on return.
  private func receiveOne(_ size: Int) throws -> [UInt8] {
    guard let message = try connection.receiveWithDescriptors() else {
      throw BenchFailure("the peer closed the socket")
    }
    guard message.bytes.count == size, message.descriptors.count == 1 else {
      throw BenchFailure("\(message.bytes.count) bytes and \(message.descriptors.count) descriptors")
    }
    return message.bytes
  }
}

extension BenchFailure {
  /// A one-way pattern asked of the descriptor row.
  static let roundTripsOnlyForDescriptors = BenchFailure(
    "the descriptor-passing row measures round trips only")
}
