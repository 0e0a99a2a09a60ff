import CIPCShims
import Glibc
import Synchronization

/// A listening Unix-domain stream or seqpacket socket: clients connect to its
/// address, and ``accept()-d61g`` hands each one over as a ``UnixConnection``.
///
///     let address = try UnixSocketAddress.path("/tmp/jobs.sock")
///     let listener = try UnixListener.listen(on: address)
///     let client = try listener.accept()
///     print(try client.peer)                 // pid, uid, gid of the client
///     try listener.close()                   // also removes /tmp/jobs.sock
///
/// **The socket file.** A path is created with mode 0600 unless `mode` says
/// otherwise, exactly, whatever the umask (see
/// ``listen(on:kind:backlog:mode:)``). A socket file whose server is gone
/// (connecting to it is refused) is stale: it is removed and the path
/// reclaimed. A socket with a live server is never taken over, and a file
/// that is not a socket is never removed: both are `.exists`. ``close()``
/// removes the file it bound, and only that file.
///
/// The listener owns its descriptor (non-blocking, close-on-exec) and closes
/// it in `deinit`; `deinit` does not remove the socket file, ``close()`` does.
public final class UnixListener: Sendable, CustomStringConvertible {
  /// The address the listener is bound to.
  public let address: UnixSocketAddress
  /// `.stream` or `.seqpacket`.
  public let kind: UnixSocketKind
  /// The descriptor (non-blocking, close-on-exec).
  private let descriptor: OwnedDescriptor
  /// The socket file's device and inode right after bind, so that close
  /// removes it only if the path still names that socket.
  let boundFile: FileIdentity?

  init(descriptor fd: Int32, address: UnixSocketAddress, kind: UnixSocketKind, boundFile: FileIdentity?) {
    self.descriptor = OwnedDescriptor(fd)
    self.address = address
    self.kind = kind
    self.boundFile = boundFile
  }

  /// The descriptor, or -1 once closed; it stays owned by the listener.
  public var fileDescriptor: Int32 { descriptor.current }

  /// `unix stream listener /tmp/jobs.sock (fd 5)`.
  public var description: String { "unix \(kind) listener \(address) (\(descriptor.state))" }

  /// Creates a socket, binds it to `address` and listens on it.
  ///
  /// The corresponding C functions are `socket(AF_UNIX, SOCK_STREAM or
  /// SOCK_SEQPACKET)`, `bind` and `listen`. A path's file is created with
  /// exactly `mode`: the bind runs on a short-lived thread with its own
  /// umask (`unshare(CLONE_FS)`), so no other thread's umask changes; where
  /// that is refused, the file is `chmod`-ed right after bind (a umask only
  /// removes permission bits, so it never has more than `mode`).
  ///
  /// - Parameters:
  ///   - address: a path or an abstract name.
  ///   - kind: `.stream` (default) or `.seqpacket`; `.datagram` has no
  ///     listener (use ``UnixDatagramSocket``).
  ///   - backlog: connections the kernel queues before `accept` (0 to
  ///     `Int32.max`; the kernel caps it at /proc/sys/net/core/somaxconn).
  ///   - mode: the socket file's permissions, 0600 by default. Connecting
  ///     needs write permission on it.
  /// - Throws: `.exists` if a live server listens at `address`, or if a file
  ///   that is not a socket is there (never removed); the `unlink` error
  ///   (`.notPermitted`, `.permissionDenied`) if a stale socket file there
  ///   cannot be removed, saying why (another user's file in a sticky
  ///   directory such as /tmp); `.notFound` if the path's directory does not
  ///   exist; `.invalidArgument` for `.datagram` or a bad backlog or mode.
  public static func listen(
    on address: UnixSocketAddress, kind: UnixSocketKind = .stream, backlog: Int = 128, mode: mode_t = 0o600
  ) throws(IPCError) -> UnixListener {
    guard kind != .datagram else {
      throw IPCError(
        code: .invalidArgument, operation: "listen", object: address.description,
        reason: "a datagram socket has no connections to listen for; use UnixDatagramSocket.bind(to:)")
    }
    guard backlog >= 0, let queue = Int32(exactly: backlog) else {
      throw IPCError(
        code: .invalidArgument, operation: "listen", object: address.description,
        reason: "a backlog of \(backlog) is invalid: it must be 0 to \(Int32.max)")
    }
    try UnixSocketSupport.checkMode(mode, operation: "bind", object: address.description)
    // Non-blocking, so that tryAccept never waits; accept() waits in poll.
    let fd = try UnixSocketSupport.makeSocket(kind, nonblocking: true, object: address.description)
    let identity: FileIdentity?
    do {
      identity = try UnixSocketSupport.bind(fd, to: address, kind: kind, mode: mode)
    } catch {
      _ = Glibc.close(fd)
      throw error
    }
    if case .failure(let code) = once({ Glibc.listen(fd, queue) }) {
      _ = Glibc.close(fd)
      UnixSocketSupport.unlinkBound(address, identity: identity)
      throw IPCError(code: code, operation: "listen", object: address.description)
    }
    return UnixListener(descriptor: fd, address: address, kind: kind, boundFile: identity)
  }

  /// Accepts the next connection, waiting until a client connects.
  ///
  /// The corresponding C function is `accept4` with `SOCK_CLOEXEC`; while no
  /// client is waiting, `poll`. A signal (EINTR) is retried.
  ///
  /// - Throws: `.badDescriptor` on a closed listener. A close from another
  ///   thread does not wake an `accept` that waits: cancel the async form
  ///   instead.
  public func accept() throws(IPCError) -> UnixConnection {
    while true {
      let fd = try liveDescriptor()
      if let connection = try acceptOnce(fd) { return connection }
      Readiness.wait(descriptor: fd, events: Readiness.readable, for: Duration.longestWait)
    }
  }

  /// Accepts a connection if a client is waiting, without waiting for one.
  ///
  /// The corresponding C function is `accept4` with `SOCK_CLOEXEC`.
  ///
  /// - Returns: the connection, or nil if no client is waiting (EAGAIN).
  public func tryAccept() throws(IPCError) -> UnixConnection? {
    try acceptOnce(liveDescriptor())
  }

  /// Accepts the next connection, waiting at most `timeout` (monotonic
  /// clock) for a client.
  ///
  /// The corresponding C functions are `accept4` and `poll`.
  ///
  /// - Returns: the connection, or nil if no client came in time.
  public func accept(timeout: Duration) throws(IPCError) -> UnixConnection? {
    let fd = try liveDescriptor()
    return try Readiness.until(timeout, descriptor: fd, events: Readiness.readable) {
      () throws(IPCError) -> UnixConnection? in
      try acceptOnce(liveDescriptor())
    }
  }

  /// Accepts the next connection, suspending until a client connects; the
  /// async form of ``accept()-d61g``.
  ///
  /// The corresponding C functions are `accept4` and `poll`, on the
  /// library's poll thread: a pending accept costs one poll entry, no thread,
  /// and never blocks a thread of Swift's cooperative pool.
  ///
  /// - Throws: `.cancelled` if the task is cancelled first (no connection is
  ///   taken from the queue).
  public func accept() async throws(IPCError) -> UnixConnection {
    guard let connection = try await awaitingAccept(nil) else {
      throw IPCError(code: .timedOut, operation: "accept4", object: description)
    }
    return connection
  }

  /// Accepts the next connection, suspending at most `timeout`; the async
  /// form of ``accept(timeout:)``.
  ///
  /// The corresponding C functions are `accept4` and `poll`.
  ///
  /// - Returns: the connection, or nil if no client came in time.
  /// - Throws: `.cancelled` if the task is cancelled first.
  public func accept(timeout: Duration) async throws(IPCError) -> UnixConnection? {
    try await awaitingAccept(timeout)
  }

  /// Stops listening: closes the descriptor and removes the socket file it
  /// bound, if the path still names that very socket (same device and
  /// inode: a file someone put there since is left alone). Closing twice
  /// does nothing.
  ///
  /// The corresponding C functions are `close`, `lstat` and `unlink`.
  /// Connections accepted earlier stay open.
  public func close() throws(IPCError) {
    descriptor.close(removing: address, boundFile: boundFile)
  }

  // MARK: Internals

  private func liveDescriptor() throws(IPCError) -> Int32 {
    try descriptor.live(
      "accept4", object: description, reason: "the listener was closed; it accepts no more connections")
  }

  /// One `accept4`; nil if no client is waiting.
  private func acceptOnce(_ fd: Int32) throws(IPCError) -> UnixConnection? {
    while true {
      switch retryingInterrupts(.accept, { cipc_unix_accept(fd) }) {
      case .success(let client):
        do {
          return try UnixConnection(accepted: client, kind: kind, address: address)
        } catch {
          _ = Glibc.close(client)
          throw error
        }
      case .failure(.wouldBlock):
        return nil
      case .failure(let code) where code.rawValue == ECONNABORTED:
        continue  // the client gave up while queued: take the next one
      case .failure(let code):
        let reason: String? =
          code == .tooManyOpen || code.rawValue == ENFILE
          ? "no descriptor is left for the new connection (see ulimit -n); it stays queued" : nil
        throw IPCError(code: code, operation: "accept4", object: description, reason: reason)
      }
    }
  }

  private func awaitingAccept(_ timeout: Duration?) async throws(IPCError) -> UnixConnection? {
    try await Readiness.awaiting(
      timeout, cancelled: .cancelled("accept4", object: description),
      descriptor: { () throws(IPCError) in try liveDescriptor() }, events: Readiness.readable
    ) { () throws(IPCError) -> UnixConnection? in
      try acceptOnce(liveDescriptor())
    }
  }
}

/// A file's device and inode: what a path named at some moment.
struct FileIdentity: Sendable, Hashable {
  let device: UInt64
  let inode: UInt64

  /// The identity of what `path` names now (not following a symbolic link).
  static func of(path: String) -> (FileIdentity, mode_t)? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return (FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)), info.st_mode)
  }
}
