import Glibc
import IPC

/// `ipc demo --mechanism socket`: the receiver is a server on the abstract
/// name `@ipc-demo-PID`; each sender connects by that name, the server checks
/// who it is (SO_PEERCRED: a client of another user is refused) and hands it
/// the write end of a private pipe through the socket (SCM_RIGHTS), on which
/// the client then sends its frames as over a named pipe. An abstract name
/// makes no file: nothing is left behind, whatever ends the demo.
enum SocketDemo {
  /// How the parent tells its children the name: one argument `socket=@NAME`.
  static let argumentPrefix = "socket="

  /// The name the demo of process `pid` listens on.
  static func address(for pid: pid_t) -> String { "@ipc-demo-\(pid)" }

  /// The argument that carries the name to each child.
  static func argument(for pid: pid_t) -> String { argumentPrefix + address(for: pid) }

  /// The name a child was given, if it runs over a socket.
  static func address(in context: ChildContext) -> String? {
    context.arguments.last { $0.hasPrefix(argumentPrefix) }.map { String($0.dropFirst(argumentPrefix.count)) }
  }

  /// A sender's channel: connects to the receiver by name (waiting for it to
  /// listen: it is started first, but may not be there yet), takes the pipe it
  /// hands over, and sends on that pipe.
  static func client(of name: String, as label: String) throws -> PipeDemoChannel {
    let address = try UnixSocketAddress(parsing: name)
    let connection = try connectWhenListening(address)
    defer { try? connection.close() }
    guard let welcome = try connection.receiveWithDescriptors() else {
      throw CommandFailure("the receiver at \(name) closed the connection without handing over a pipe")
    }
    guard welcome.descriptors.count == 1, let handed = welcome.descriptors.first else {
      throw CommandFailure(
        "the receiver at \(name) handed over \(welcome.descriptors.count) descriptors, not one pipe")
    }
    let end = try handed.take(as: PipeEnd.self)
    Output.line("\(label) (pid \(getpid())): connected to \(name); the receiver handed over a pipe")
    return PipeDemoChannel(end: end)
  }

  /// Connects, trying again while nothing listens yet, for up to 10 seconds.
  private static func connectWhenListening(_ address: UnixSocketAddress) throws -> UnixConnection {
    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
    while true {
      switch Result(catching: { () throws(IPCError) in
        try UnixConnection.connect(to: address, timeout: .seconds(10))
      }) {
      case .success(let connection): return connection
      case .failure(let error) where error.code == .connectionRefused && ContinuousClock.now < deadline:
        usleep(10_000)
      case .failure(let error): throw error
      }
    }
  }

  /// The receiver's side: a listener, and the read end of each admitted
  /// client's pipe. It accepts clients for as long as it runs, so a client
  /// that comes late (or an intruder) is seen and checked too.
  final class Server: DemoChannel {
    let listener: UnixListener
    private var readers: [PipeEnd] = []
    /// Where the next look for a message starts, so a busy pipe cannot starve the others.
    private var next = 0

    init(_ name: String) throws {
      listener = try UnixListener.listen(on: try UnixSocketAddress(parsing: name))
      Output.line("receiver (pid \(getpid())): listening on \(name)")
    }

    func send(_ message: DemoMessage) throws {
      throw CommandFailure("the receiver of a socket demo sends nothing")
    }

    /// The next message from any client's pipe, accepting clients meanwhile.
    ///
    /// The corresponding C function is `poll`, over the listener and the pipes.
    func receive() throws -> DemoMessage {
      while true {
        var entries = ([listener.fileDescriptor] + readers.map(\.fileDescriptor)).map {
          pollfd(fd: $0, events: Int16(POLLIN), revents: 0)
        }
        if poll(&entries, nfds_t(entries.count), -1) < 0 {
          if errno == EINTR { continue }
          throw CommandFailure("poll failed: \(String(cString: strerror(errno)))")
        }
        // The pipes polled, before a new client adds its own.
        let ready = entries.indices.dropFirst().filter { entries[$0].revents != 0 }.map { $0 - 1 }
        if entries[0].revents != 0, let connection = try listener.tryAccept() { admit(connection) }
        guard let index = ready.first(where: { $0 >= next }) ?? ready.first else { continue }
        next = index + 1
        let reader = readers[index]
        let frame = try reader.receive()
        // Its sender sends nothing after its end-of-stream (or it is gone).
        guard let frame else {
          drop(at: index)
          continue
        }
        let message = try PipeDemoChannel.decode(frame)
        if case .end = message { drop(at: index) }
        return message
      }
    }

    private func drop(at index: Int) {
      try? readers[index].close()
      readers.remove(at: index)
    }

    /// Checks who connected, then hands a client of this user a pipe of its own.
    private func admit(_ connection: UnixConnection) {
      defer { try? connection.close() }
      do throws(IPCError) {
        let peer = try connection.peer
        guard peer.uid == getuid() else {
          Output.line(
            "receiver: refused a client: pid \(peer.pid) runs as uid \(peer.uid), not as this user (uid \(getuid()))"
          )
          return
        }
        let (reader, writer) = try AnonymousPipe.make()
        try connection.send(Array("your pipe".utf8), passing: [writer])
        try writer.close()
        readers.append(reader)
        Output.line("receiver: client pid \(peer.pid) (uid \(peer.uid)) checked; handed it a private pipe")
      } catch {
        Output.line("receiver: a client left before it was handed a pipe: \(ErrorText.describe(error))")
      }
    }
  }
}
