import Glibc
import IPC
import IPCToolSupport

/// `ipc socket ...`: Unix-domain sockets, by path or abstract name.
enum SocketCommand {
  static let kind = Option<UnixSocketKind>.choice(
    "--kind", valueName: "KIND",
    help: "stream: a connection, each message framed as pipes frame them (default); seqpacket: a connection"
      + " whose records the kernel keeps whole; datagram: no connection, one datagram per message")
  static let count = Option<Int>.integer(
    "--count", 1...Int.max, what: "a number of messages",
    help: "print N messages, then end (default: until interrupted or --timeout)")
  static let showPeer = Flag(
    "--show-peer",
    help: "print each message's sender after a tab: its pid and uid, tab-separated (SO_PEERCRED for a"
      + " connection, SCM_CREDENTIALS for a datagram)")
  static let listenTimeout = CommonOptions.timeout.help(
    "stop after SECONDS (decimals allowed); with --count, fewer than N messages by then is a failure")
  static let sendTimeout = CommonOptions.timeout.help(
    "stream and seqpacket: fail if no connection is made within SECONDS (a listener whose backlog is full"
      + " makes a client wait); a datagram is sent at once or waits while the receiver's queue is full")
  static let address = Positional(
    "PATH|@NAME",
    help: "the socket: a file's path (at most 107 bytes), or @NAME for a Linux abstract name, which makes"
      + " no file")

  static let discussion = """
    A path is made with mode 0600; a socket file left by a server that is gone is reclaimed, a live one is never taken, and a file that is not a socket is never removed. An abstract name (@NAME) makes no file and is gone with its last socket; any process of the machine's network namespace can connect to it, so check the peer (--show-peer).
    Both sides work with other programs: Python's socket module (AF_UNIX) reads and writes the same messages; on a stream each message is a 4-byte little-endian length and the bytes.
    Exit status: 0 success, 1 failure (nothing listens there, timeout, ...), 2 usage error.
    """

  static let group = CommandGroup(
    path: "ipc socket",
    abstract: "Unix-domain sockets: a server listens by path or abstract name, clients connect and send.",
    discussion: discussion,
    commands: [
      Command(
        "ipc socket listen",
        abstract:
          "listen at PATH|@NAME and print each message as one line (control characters escaped); the"
          + " socket file it made is removed when it ends, also on SIGINT, SIGTERM or SIGHUP",
        options: [kind, count, showPeer, listenTimeout], positionals: [address], body: listen),
      Command(
        "ipc socket send", abstract: "connect to PATH|@NAME (or, for a datagram, send to it) and send TEXT",
        options: [kind, sendTimeout], positionals: [address, Positional("TEXT", help: "the message")],
        body: send),
    ])

  /// The address a user typed; one that can name no socket is a usage error.
  static func parseAddress(_ text: String) throws -> UnixSocketAddress {
    do throws(IPCError) {
      return try UnixSocketAddress(parsing: text)
    } catch {
      throw UsageError("\(address.name): \(error.reason), got '\(UsageError.shown(text))'")
    }
  }

  private static func send(_ parsed: ParsedArguments) throws {
    let address = try parseAddress(parsed.positionals[0])
    let message = Array(parsed.positionals[1].utf8)
    let timeout = parsed[Self.sendTimeout]
    switch parsed[Self.kind] ?? .stream {
    case .datagram:
      let socket = try UnixDatagramSocket.unbound()
      try socket.send(message, to: address)
      try socket.close()
    case let kind:
      let connection = try UnixConnection.connect(to: address, kind: kind, timeout: timeout)
      try connection.send(message)
      try connection.close()
    }
  }

  private static func listen(_ parsed: ParsedArguments) throws {
    let address = try parseAddress(parsed.positionals[0])
    let kind = parsed[Self.kind] ?? .stream
    var listening = SocketListening(
      count: parsed[Self.count], timeout: parsed[Self.listenTimeout], showPeer: parsed[Self.showPeer])
    // An abstract name makes no file: nothing to remove on a signal.
    func binding<T>(_ bind: () throws -> T) throws -> T {
      address.isAbstract ? try bind() : try SocketFileRemoval.arming(address.description, bind)
    }
    if kind == .datagram {
      let socket = try binding { try UnixDatagramSocket.bind(to: address) }
      defer {
        SocketFileRemoval.disarm()
        try? socket.close()
      }
      // Each datagram then carries its sender's credentials (SCM_CREDENTIALS).
      if parsed[Self.showPeer] { try socket.setPassCredentials() }
      try listening.run(socket)
      SocketFileRemoval.disarm()
      try socket.close()
    } else {
      let listener = try binding { try UnixListener.listen(on: address, kind: kind) }
      defer {
        SocketFileRemoval.disarm()
        try? listener.close()
      }
      try listening.run(listener)
      SocketFileRemoval.disarm()
      try listener.close()
    }
  }
}
