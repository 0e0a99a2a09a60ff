import CIPCShims
import Glibc
import Synchronization

/// A connected Unix-domain stream or seqpacket socket, from
/// ``connect(to:kind:timeout:)-3bxvl`` or ``UnixListener/accept()-d61g``.
///
///     let connection = try UnixConnection.connect(to: .path("/tmp/jobs.sock"))
///     try connection.send(Array("hello".utf8))
///     let reply = try connection.receive()       // nil once the server closed
///
/// **Messages.** On a stream socket a message is framed exactly as
/// ``PipeEnd`` frames it (a 4-byte little-endian length, then the payload),
/// so pipe and socket peers share one format. On a seqpacket socket each
/// message is one record and the kernel keeps its boundaries. Sends use
/// `MSG_NOSIGNAL`: a peer that is gone is `.brokenPipe`, never a `SIGPIPE`.
/// Every receive goes through `recvmsg` with room for descriptors, so a
/// descriptor sent to a receiver that does not expect one is closed and
/// reported, never leaked (see ``receiveWithDescriptors()-5573o``).
///
/// **Who is on the other end**: ``peer`` (`SO_PEERCRED`).
///
/// Use a connection from one sending and one receiving thread at a time:
/// large frames sent from two threads at once on a stream can interleave.
///
/// The connection owns its descriptor (close-on-exec, blocking) and closes
/// it in `deinit`, or earlier with ``close()``. The timed, non-blocking and
/// async forms never change its `O_NONBLOCK` flag: they pass
/// `MSG_DONTWAIT` to each call.
public final class UnixConnection: Sendable, CustomStringConvertible {
  /// `.stream` or `.seqpacket`.
  public let kind: UnixSocketKind
  /// The address connected to (for an accepted connection, the listener's);
  /// nil for a connection rebuilt from a passed descriptor.
  public let address: UnixSocketAddress?
  /// The descriptor (blocking, close-on-exec).
  private let descriptor: OwnedDescriptor
  /// Whether received messages report their sender (``setPassCredentials(_:)``).
  let reportsSender = Atomic<Bool>(false)
  /// A stream message that a timed, non-blocking or cancelled receive left
  /// unfinished, with what came alongside, and the bytes read ahead of the
  /// messages received; the next receive goes on from them.
  let partialFrame = PartialSocketFrame()
  /// Where a seqpacket record that does not fit the caller's buffer goes.
  let recordSpill = RecordSpill()

  /// Takes ownership of `fd`, a connected socket of `kind`. A seqpacket
  /// socket gets `SO_PASSCRED`: every record then carries credentials and
  /// the end of the stream none, which tells an empty record from the end.
  /// On failure `fd` is left open, for the caller to close.
  init(accepted fd: Int32, kind: UnixSocketKind, address: UnixSocketAddress?) throws(IPCError) {
    self.kind = kind
    self.address = address
    if kind == .seqpacket, case .failure(let code) = once({ cipc_unix_pass_credentials(fd, true) }) {
      throw IPCError(code: code, operation: "setsockopt", object: "unix seqpacket connection (fd \(fd))")
    }
    self.descriptor = OwnedDescriptor(fd)
  }

  /// The descriptor, or -1 once closed; it stays owned by the connection.
  ///
  /// A stream connection reads ahead: messages may be waiting in the
  /// connection while the descriptor has nothing to read. Before waiting on
  /// it with your own `poll`, call `tryReceive()` until it returns nil.
  public var fileDescriptor: Int32 { descriptor.current }

  /// Whether ``close()`` was called.
  public var isClosed: Bool { fileDescriptor < 0 }

  /// `unix stream connection to /tmp/jobs.sock (fd 6)`.
  public var description: String { describe(fd: fileDescriptor) }

  func describe(fd: Int32) -> String {
    let target = address.map { " to \($0)" } ?? ""
    return "unix \(kind) connection\(target) (\(fd < 0 ? "closed" : "fd \(fd)"))"
  }

  /// Connects to the listener at `address`.
  ///
  /// The corresponding C functions are `socket(AF_UNIX, ...)` and `connect`;
  /// with a timeout the socket is made non-blocking until connected, and a
  /// full backlog (EAGAIN) is retried until the deadline.
  ///
  /// - Parameters:
  ///   - address: the listener's path or abstract name.
  ///   - kind: `.stream` (default) or `.seqpacket`, as the listener's.
  ///   - timeout: how long to wait while the listener's backlog is full
  ///     (monotonic clock); nil waits as long as it takes.
  /// - Throws: `.connectionRefused` (ECONNREFUSED) when no server
  ///   listens there (a stale socket file, or an abstract name nobody
  ///   holds); `.notFound` when nothing is at the path; `.timedOut`.
  public static func connect(
    to address: UnixSocketAddress, kind: UnixSocketKind = .stream, timeout: Duration? = nil
  ) throws(IPCError) -> UnixConnection {
    try checkKind(kind, address: address)
    let fd = try UnixSocketSupport.makeSocket(kind, nonblocking: timeout != nil, object: address.description)
    do throws(IPCError) {
      if let timeout {
        let connected = try Polling.until(timeout) { () throws(IPCError) -> Bool? in
          try connectOnce(fd, to: address, kind: kind) ? true : nil
        }
        guard connected != nil else { throw backlogFull(address, timeout: timeout) }
        try UnixSocketSupport.makeBlocking(fd, object: address.description)
      } else {
        let result = address.withName { name, length, abstract in
          retryingInterrupts(.connect) { cipc_unix_connect(fd, name, length, abstract) }
        }
        if case .failure(let code) = result {
          throw UnixSocketSupport.connectError(code, address: address, kind: kind)
        }
      }
      return try UnixConnection(accepted: fd, kind: kind, address: address)
    } catch {
      _ = Glibc.close(fd)
      throw error
    }
  }

  /// Connects to the listener at `address`, suspending while its backlog is
  /// full; the async form of ``connect(to:kind:timeout:)-3bxvl``.
  ///
  /// The corresponding C functions are `socket` (non-blocking) and
  /// `connect`, retried after short sleeps of the task (never of a pool
  /// thread) while the backlog is full.
  ///
  /// - Throws: as the blocking form; `.cancelled` if the task is cancelled.
  public static func connect(
    to address: UnixSocketAddress, kind: UnixSocketKind = .stream, timeout: Duration? = nil
  ) async throws(IPCError) -> UnixConnection {
    try checkKind(kind, address: address)
    let fd = try UnixSocketSupport.makeSocket(kind, nonblocking: true, object: address.description)
    do throws(IPCError) {
      let deadline = timeout.map(MonotonicDeadline.init(after:))
      var pause = Duration.milliseconds(1)
      while true {
        guard !Task.isCancelled else { throw IPCError.cancelled("connect", object: address.description) }
        if try connectOnce(fd, to: address, kind: kind) { break }
        if let deadline, deadline.timeLeft <= .zero {
          throw backlogFull(address, timeout: timeout ?? .zero)
        }
        // A full backlog gives no readiness to wait for: sleep the task briefly.
        try? await Task.sleep(for: min(pause, deadline?.timeLeft ?? pause))
        pause = min(pause * 2, .milliseconds(50))
      }
      try UnixSocketSupport.makeBlocking(fd, object: address.description)
      return try UnixConnection(accepted: fd, kind: kind, address: address)
    } catch {
      _ = Glibc.close(fd)
      throw error
    }
  }

  private static func checkKind(_ kind: UnixSocketKind, address: UnixSocketAddress) throws(IPCError) {
    guard kind != .datagram else {
      throw IPCError(
        code: .invalidArgument, operation: "connect", object: address.description,
        reason: "a datagram socket has no connection; use UnixDatagramSocket and send(_:to:)")
    }
  }

  /// One non-blocking `connect`: true once connected, false while the
  /// backlog is full (EAGAIN).
  private static func connectOnce(_ fd: Int32, to address: UnixSocketAddress, kind: UnixSocketKind)
    throws(IPCError) -> Bool
  {
    let result = address.withName { name, length, abstract in
      retryingInterrupts(.connect) { cipc_unix_connect(fd, name, length, abstract) }
    }
    switch result {
    case .success, .failure(IPCError.Code(rawValue: EISCONN)): return true
    case .failure(.wouldBlock), .failure(IPCError.Code(rawValue: EINPROGRESS)),
      .failure(IPCError.Code(rawValue: EALREADY)):
      return false
    case .failure(let code): throw UnixSocketSupport.connectError(code, address: address, kind: kind)
    }
  }

  private static func backlogFull(_ address: UnixSocketAddress, timeout: Duration) -> IPCError {
    IPCError(
      code: .timedOut, operation: "connect", object: address.description,
      reason: "the server's backlog of pending connections stayed full for \(timeout);"
        + " it is not accepting fast enough")
  }

  /// Who is on the other end: the process that connected (or listened, for
  /// a client), as it was at that moment.
  ///
  /// The corresponding C function is `getsockopt(SO_PEERCRED)`.
  public var peer: PeerCredentials {
    get throws(IPCError) {
      let fd = try liveDescriptor("getsockopt")
      var pid: pid_t = 0
      var uid: uid_t = 0
      var gid: gid_t = 0
      if case .failure(let code) = once({ cipc_unix_peer_credentials(fd, &pid, &uid, &gid) }) {
        throw IPCError(code: code, operation: "getsockopt(SO_PEERCRED)", object: description)
      }
      return PeerCredentials(pid: pid, uid: uid, gid: gid)
    }
  }

  /// Whether each received message reports its sender in
  /// ``ReceivedMessage/sender`` (`SCM_CREDENTIALS`). Meaningful on seqpacket
  /// connections; on a stream, credentials describe the bytes of one read.
  ///
  /// The corresponding C function is `setsockopt(SO_PASSCRED)` (always on
  /// for seqpacket connections, which use it to tell an empty record from
  /// the end of the stream; this then only decides what is reported).
  public func setPassCredentials(_ enabled: Bool = true) throws(IPCError) {
    let fd = try liveDescriptor("setsockopt")
    if kind == .stream, case .failure(let code) = once({ cipc_unix_pass_credentials(fd, enabled) }) {
      throw IPCError(code: code, operation: "setsockopt(SO_PASSCRED)", object: description)
    }
    reportsSender.store(enabled, ordering: .releasing)
  }

  /// Ends the sending direction: the peer's next receive returns nil (end
  /// of stream) once it has read what was sent; this side can still receive.
  ///
  /// The corresponding C function is `shutdown(SHUT_WR)`.
  public func shutdownWriting() throws(IPCError) {
    let fd = try liveDescriptor("shutdown")
    if case .failure(let code) = once({ Glibc.shutdown(fd, Int32(SHUT_WR)) }) {
      throw IPCError(code: code, operation: "shutdown", object: description)
    }
  }

  /// Closes the connection; the peer sees the end of the stream. Closing
  /// twice does nothing.
  ///
  /// The corresponding C function is `close`, never retried (Linux releases
  /// the descriptor even when it reports EINTR).
  public func close() throws(IPCError) {
    descriptor.close()
    // What was received but not yet taken can no longer be: close its descriptors now.
    partialFrame.drop()
  }

  /// The descriptor, or `.badDescriptor` once closed.
  func liveDescriptor(_ operation: String) throws(IPCError) -> Int32 {
    try descriptor.live(
      operation, object: description, reason: "this connection was closed; it can no longer be used")
  }
}
