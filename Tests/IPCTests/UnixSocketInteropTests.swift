import Foundation
import IPC
import Testing

/// Unix-domain sockets of the library and of Python's `socket` module
/// (AF_UNIX) are the same kernel objects, both ways: a Swift listener with a
/// Python client, a Python listener with a Swift client; stream frames as
/// `struct.pack('<I', len)` writes them and seqpacket records; descriptors
/// with `socket.send_fds` and `socket.recv_fds`; peer credentials
/// (`SO_PEERCRED`) as each side sees the other.
@Suite("Unix socket interoperability with Python")
struct UnixSocketInteropTests {
  /// A Python client connects to a Swift listener on a path, sends three
  /// messages (text, every byte value, and on a stream an empty frame), reads
  /// the reply, and prints who it is and whom it sees on the other end.
  @Test(.enabled(if: Python.unixSockets), arguments: UnixSocketKind.connected)
  func aSwiftListenerServesAPythonClient(kind: UnixSocketKind) throws {
    try withSocketDirectory { (directory) throws in
      let path = directory + "/server.sock"
      let listener = try UnixListener.listen(on: .path(path), kind: kind)
      defer { try? listener.close() }
      let python = try PythonPeer.start(
        kind: kind,
        """
        s = socket.socket(socket.AF_UNIX, TYPE)
        s.settimeout(20)
        s.connect(\(PythonPeer.literal(path)))
        send(s, b"hello from python")
        send(s, bytes(range(256)) * 4)
        if KIND == "stream":
            send(s, b"")
        reply = receive(s)
        print(os.getpid(), *peer(s), reply.decode())
        """)
      let connection = try #require(try listener.accept(timeout: .seconds(20)))
      #expect(try connection.receive(timeout: .seconds(20)) == Array("hello from python".utf8))
      let everyByte = (0..<4).flatMap { _ in (0...255).map { UInt8($0) } }
      #expect(try connection.receive(timeout: .seconds(20)) == everyByte)
      if kind == .stream { #expect(try connection.receive(timeout: .seconds(20)) == []) }
      try connection.send(Array("hello from swift".utf8))
      #expect(python.wait())
      #expect(python.exitStatus == 0, "\(python.standardError)")
      let fields = python.standardOutput.split(separator: " ", maxSplits: 4).map(String.init)
      let pythonPID = try #require(fields.first.flatMap { pid_t($0) }, "\(python.standardOutput)")
      // Each sees the other: the credentials of the peer's process.
      #expect(try connection.peer == PeerCredentials(pid: pythonPID, uid: getuid(), gid: getgid()))
      #expect(
        Array(fields.dropFirst()) == ["\(getpid())", "\(getuid())", "\(getgid())", "hello from swift\n"])
      // Python closed its socket: a clean end of stream (blocking receive:
      // its timed form reports the end as an error).
      #expect(try connection.receive() == nil)
    }
  }

  /// A Swift client connects to a Python listener on an abstract name; the
  /// listener answers every message with its bytes reversed.
  @Test(.enabled(if: Python.unixSockets), arguments: UnixSocketKind.connected)
  func aSwiftClientTalksToAPythonListener(kind: UnixSocketKind) throws {
    let name = String(TestNames.next().dropFirst())
    let python = try PythonPeer.start(
      kind: kind,
      """
      s = socket.socket(socket.AF_UNIX, TYPE)
      s.bind("\\0" + \(PythonPeer.literal(name)))
      s.listen(1)
      print("listening", os.getpid(), flush=True)
      s.settimeout(20)
      c, _ = s.accept()
      c.settimeout(20)
      for _ in range(2):
          send(c, receive(c)[::-1])
      print(*peer(c))
      """)
    #expect(eventually(within: .seconds(20)) { python.standardOutput.hasPrefix("listening ") })
    let connection = try UnixConnection.connect(to: .abstract(name), kind: kind, timeout: .seconds(20))
    try connection.send(Array("abc\0def".utf8))
    #expect(try connection.receive(timeout: .seconds(20)) == Array("fed\0cba".utf8))
    try connection.send([UInt8](repeating: 7, count: 3000) + [1])
    #expect(try connection.receive(timeout: .seconds(20)) == [1] + [UInt8](repeating: 7, count: 3000))
    #expect(python.wait())
    #expect(python.exitStatus == 0, "\(python.standardError)")
    let lines = python.standardOutput.split(separator: "\n").map(String.init)
    #expect(lines.count == 2, "\(python.standardOutput)")
    let pythonPID = try #require(lines.first.flatMap { pid_t($0.dropFirst("listening ".count)) })
    #expect(try connection.peer == PeerCredentials(pid: pythonPID, uid: getuid(), gid: getgid()))
    #expect(lines.last == "\(getpid()) \(getuid()) \(getgid())")
    #expect(try connection.receive() == nil)
  }

  /// Python sends a pipe's read end with `socket.send_fds` (after writing
  /// into the pipe and closing its write end); Swift takes it as a `PipeEnd`
  /// and reads what Python wrote.
  @Test(.enabled(if: Python.unixSockets), arguments: UnixSocketKind.connected)
  func aPipePythonSendsIsReadInSwiftAsAPipeEnd(kind: UnixSocketKind) throws {
    try withSocketDirectory { (directory) throws in
      let path = directory + "/fds.sock"
      let listener = try UnixListener.listen(on: .path(path), kind: kind)
      defer { try? listener.close() }
      let python = try PythonPeer.start(
        kind: kind,
        """
        s = socket.socket(socket.AF_UNIX, TYPE)
        s.settimeout(20)
        s.connect(\(PythonPeer.literal(path)))
        r, w = os.pipe()
        os.write(w, b"through a pipe from python")
        os.close(w)
        send(s, b"here is a pipe", fds=[r])
        os.close(r)
        send(s, b"and nothing else")
        """)
      let connection = try #require(try listener.accept(timeout: .seconds(20)))
      #expect(python.wait())
      #expect(python.exitStatus == 0, "\(python.standardError)")
      // Python is gone; what it sent, the descriptor included, is still in the socket.
      let message = try #require(try connection.receiveWithDescriptors())
      #expect(message.bytes == Array("here is a pipe".utf8))
      try #require(message.descriptors.count == 1)
      #expect(message.descriptors[0].kind == .pipe)
      let reader = try message.descriptors[0].take(as: PipeEnd.self)
      #expect(try reader.readToEnd() == Array("through a pipe from python".utf8))
      try reader.close()
      let plain = try #require(try connection.receiveWithDescriptors())
      #expect(plain.bytes == Array("and nothing else".utf8) && plain.descriptors.isEmpty)
      #expect(try connection.receive() == nil)
    }
  }

  /// Swift passes a pipe's write end and a POSIX shared-memory object with
  /// one message to a Python listener, which takes them with
  /// `socket.recv_fds`, writes into the pipe, and reads and writes the
  /// shared memory through `mmap`; Swift then sees both.
  @Test(.enabled(if: Python.unixSockets), arguments: UnixSocketKind.connected)
  func aPipeEndAndSharedMemorySwiftSendsAreUsedByPython(kind: UnixSocketKind) throws {
    let name = String(TestNames.next().dropFirst())
    let memory = try POSIX.SharedMemory.create(TestNames.next(), size: 4096)
    defer { try? memory.unlink() }
    try Array("from swift".utf8).withUnsafeBytes { try memory.write($0, at: 0) }
    let (reader, writer) = try AnonymousPipe.make()
    let python = try PythonPeer.start(
      kind: kind,
      """
      s = socket.socket(socket.AF_UNIX, TYPE)
      s.bind("\\0" + \(PythonPeer.literal(name)))
      s.listen(1)
      print("listening", flush=True)
      s.settimeout(20)
      c, _ = s.accept()
      c.settimeout(20)
      payload, fds, truncated = receive_with_fds(c)
      pipe, shm = fds
      is_fifo = stat.S_ISFIFO(os.fstat(pipe).st_mode)
      is_file = stat.S_ISREG(os.fstat(shm).st_mode)
      os.write(pipe, b"written by python")
      os.close(pipe)
      region = mmap.mmap(shm, 4096)
      seen = region[:10].decode()
      region[100:115] = b"python was here"
      region.close()
      os.close(shm)
      print(payload.decode(), len(fds), truncated, is_fifo, is_file, seen)
      """)
    #expect(eventually(within: .seconds(20)) { python.standardOutput.hasPrefix("listening") })
    let connection = try UnixConnection.connect(to: .abstract(name), kind: kind, timeout: .seconds(20))
    try connection.send(Array("take these".utf8), passing: [writer, memory])
    // Python holds its own copy: the pipe ends when Python closes it.
    try writer.close()
    #expect(python.wait())
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(python.standardOutput == "listening\ntake these 2 False True True from swift\n")
    #expect(try reader.readToEnd() == Array("written by python".utf8))
    var seen = [UInt8](repeating: 0, count: 15)
    _ = try seen.withUnsafeMutableBytes { try memory.read(at: 100, into: $0) }
    #expect(seen == Array("python was here".utf8))
  }
}
