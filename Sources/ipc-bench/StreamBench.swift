import CIPCBench
import Glibc
import IPC

/// The numbers at which the child finds inherited descriptors: the stream
/// it reads and the one it writes (the same socket for a socketpair), and
/// the control channel of the ready/go handshake.
enum ChildDescriptor {
  static let read: Int32 = 3
  static let write: Int32 = 4
  static let control: Int32 = 5
}

/// How an inherited-stream fixture makes the descriptors of one measurement.
protocol InheritedStreams {
  /// The parent's ends and the child's, each the reading end first; one
  /// socket read and written both ways is listed once.
  static func make() throws -> (parent: [Int32], child: [Int32])
  /// The descriptor the child writes: 4, or 3 where it reads and writes one socket.
  static var childWrite: Int32 { get }
}

/// Two fresh pipes per measurement (pipe2 with O_CLOEXEC), one per direction.
/// The child inherits its ends as descriptors 3 (read) and 4 (write).
enum AnonymousPipes: InheritedStreams {
  static let childWrite = ChildDescriptor.write

  static func make() throws -> (parent: [Int32], child: [Int32]) {
    var toChild: [Int32] = [-1, -1]
    var toParent: [Int32] = [-1, -1]
    try check(cipcb_pipe(&toChild), "pipe2", "benchmark pipe")
    do {
      try check(cipcb_pipe(&toParent), "pipe2", "benchmark pipe")
    } catch {
      for index in toChild.indices { closeDescriptor(&toChild[index]) }
      throw error
    }
    return ([toParent[0], toChild[1]], [toChild[0], toParent[1]])
  }
}

/// A fresh socketpair per measurement (AF_UNIX, SOCK_STREAM): one socket for
/// each process, read and written both ways. The child inherits its socket
/// as descriptor 3 and uses it for both directions.
enum SocketPair: InheritedStreams {
  static let childWrite = ChildDescriptor.read

  static func make() throws -> (parent: [Int32], child: [Int32]) {
    var ends: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    try check(socketpair(AF_UNIX, type, 0, &ends) == 0 ? 0 : -errno, "socketpair", "benchmark socketpair")
    return ([ends[0]], [ends[1]])
  }
}

typealias AnonymousPipeFixture = InheritedStreamFixture<AnonymousPipes>
typealias SocketPairFixture = InheritedStreamFixture<SocketPair>

/// A fixture whose streams the child inherits: its ends as descriptors 3
/// (read) and 4 (write), or 3 alone for a socket used both ways.
final class InheritedStreamFixture<Streams: InheritedStreams>: Fixture {
  private var parentEnds: [Int32]
  private var childEnds: [Int32]

  init(size: Int) throws {
    (parentEnds, childEnds) = try Streams.make()
  }

  deinit { remove() }

  var childArguments: [String] { [] }
  var inherited: [(child: Int32, parent: Int32)] {
    Array(zip([ChildDescriptor.read, ChildDescriptor.write], childEnds))
  }

  func childStarted() {
    for index in childEnds.indices { closeDescriptor(&childEnds[index]) }
  }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    try StreamLoops.make(impl, readFD: parentEnds[0], writeFD: parentEnds[parentEnds.count - 1])
  }

  /// The child's ends close when it ends: the parent reads end-of-stream or writes EPIPE.
  func childFailed() -> Bool { true }

  func remove() {
    for index in parentEnds.indices { closeDescriptor(&parentEnds[index]) }
    childStarted()
  }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    try StreamLoops.make(impl, readFD: ChildDescriptor.read, writeFD: Streams.childWrite)
  }
}

/// Two fresh FIFOs per measurement in /tmp, one per direction, mode 0600.
///
/// Opening a FIFO blocks until the other end is open, so every open here is
/// non-blocking (then the descriptor is made blocking again), in an order
/// that always finds the other end: the parent opens its reading end before
/// it starts the child; the child opens its reading end and then its writing
/// end before it reports ready; the parent opens its writing end after that.
/// Then both files are unlinked, before the clock starts.
final class NamedPipeFixture: Fixture {
  /// Parent to child, and child to parent.
  let toChild: String
  let toParent: String
  private var entries: [CleanupEntry]
  private var parentRead: Int32 = -1
  private var parentWrite: Int32 = -1

  init(size: Int) throws {
    (toChild, toParent) = UniqueName.directions(under: "/tmp/")
    entries = try CleanupEntry.makeNamed([toChild, toParent], register: CleanupEntry.file) { path in
      try check(mkfifo(path, 0o600) == 0 ? 0 : -errno, "mkfifo", path)
    } unmake: { path in
      _ = unlink(path)
    }
    do {
      parentRead = try Self.open(toParent, O_RDONLY)
    } catch {
      remove()
      throw error
    }
  }

  deinit { remove() }

  var childArguments: [String] { ["--to-child", toChild, "--to-parent", toParent] }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    parentWrite = try Self.open(toChild, O_WRONLY)
    removeNames()
    return try StreamLoops.make(impl, readFD: parentRead, writeFD: parentWrite)
  }

  /// The child's ends close when it ends: end-of-stream or EPIPE for the parent.
  func childFailed() -> Bool { true }

  func remove() {
    closeDescriptor(&parentRead)
    closeDescriptor(&parentWrite)
    removeNames()
  }

  private func removeNames() {
    entries.forEach { $0.remove() }
    entries = []
  }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    // Left open until the child exits.
    let read = try open(try arguments.string("--to-child"), O_RDONLY)
    let write = try open(try arguments.string("--to-parent"), O_WRONLY)
    return try StreamLoops.make(impl, readFD: read, writeFD: write)
  }

  /// Opens a FIFO without waiting for its other end (a writing end fails
  /// with ENXIO if no reader has it open), then makes the descriptor blocking.
  private static func open(_ path: String, _ access: Int32) throws -> Int32 {
    let fd = try descriptor(Glibc.open(path, access | O_NONBLOCK | O_CLOEXEC), "open", path)
    guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0 else {
      let code = errno
      _ = close(fd)
      throw IPCError(code: IPCError.Code(rawValue: code), operation: "fcntl", object: path)
    }
    return fd
  }
}

/// The loops of every byte stream: C or Swift.
enum StreamLoops {
  /// Loops over descriptors the fixture owns and closes (lent, not given).
  static func make(_ impl: Implementation, readFD: Int32, writeFD: Int32) throws -> any MessageLoops {
    switch impl {
    case .c: CStreamLoops(readFD: readFD, writeFD: writeFD)
    case .swift: try SwiftStreamLoops(readFD: readFD, writeFD: writeFD)
    }
  }
}

/// The plain C baseline: write() and read() loops of exactly `size` bytes per message.
struct CStreamLoops: MessageLoops {
  let readFD: Int32
  let writeFD: Int32

  func ping(rounds: Int, size: Int) throws {
    try check(cipcb_fd_ping(readFD, writeFD, rounds, size), "cipcb_fd_ping", "benchmark stream")
  }

  func pong(rounds: Int, size: Int) throws {
    try check(cipcb_fd_pong(readFD, writeFD, rounds, size), "cipcb_fd_pong", "benchmark stream")
  }

  func send(count: Int, size: Int) throws {
    try check(cipcb_fd_send(readFD, writeFD, count, size), "cipcb_fd_send", "benchmark stream")
  }

  func receive(count: Int, size: Int) throws {
    try check(cipcb_fd_receive(readFD, writeFD, count, size), "cipcb_fd_receive", "benchmark stream")
  }
}

/// The Swift side of the named pipe, anonymous pipe and socketpair rows,
/// through `PipeEnd`: the same loops as `cipcb_fd_*` in fd_stream.c, every
/// message exactly `size` bytes, buffers made once before the clock starts.
final class SwiftStreamLoops: MessageLoops {
  private let reader: PipeEnd
  private let writer: PipeEnd
  private let buffer: UnsafeMutableRawBufferPointer

  /// Wraps copies of the lent descriptors (the fixture closes its own), before
  /// the clock starts; for a socketpair `readFD == writeFD`, one end both ways.
  init(readFD: Int32, writeFD: Int32) throws {
    if readFD == writeFD {
      reader = try PipeEnd(adopting: dup(readFD), direction: .both)
      writer = reader
    } else {
      reader = try PipeEnd(adopting: dup(readFD), direction: .reading)
      writer = try PipeEnd(adopting: dup(writeFD), direction: .writing)
    }
    buffer = .allocate(byteCount: 64 * 1024, alignment: 64)
  }

  deinit { buffer.deallocate() }

  func ping(rounds: Int, size: Int) throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    message.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "p"))
    for _ in 0..<rounds {
      try writer.write(UnsafeRawBufferPointer(message))
      try reader.read(filling: message)
    }
  }

  func pong(rounds: Int, size: Int) throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    for _ in 0..<rounds {
      try reader.read(filling: message)
      try writer.write(UnsafeRawBufferPointer(message))
    }
  }

  func send(count: Int, size: Int) throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    message.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "s"))
    for _ in 0..<count { try writer.write(UnsafeRawBufferPointer(message)) }
  }

  func receive(count: Int, size: Int) throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    for _ in 0..<count { try reader.read(filling: message) }
  }

  // The async reads: bytes already there are read without a hop; an empty
  // stream suspends the task on the library's poll thread. A write has no
  // async form: 64 bytes into a pipe or socket with room never wait.
  func asyncPing(rounds: Int, size: Int) async throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    message.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "p"))
    for _ in 0..<rounds {
      try writer.write(UnsafeRawBufferPointer(message))
      try await reader.read(filling: message)
    }
  }

  func asyncReceive(count: Int, size: Int) async throws {
    let message = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
    for _ in 0..<count { try await reader.read(filling: message) }
  }
}
