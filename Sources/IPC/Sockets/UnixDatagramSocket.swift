import CIPCShims
import Glibc
import Synchronization

/// A Unix-domain datagram socket: connectionless messages, each kept whole,
/// sent to an address and received with the sender's address (and, when
/// enabled, its credentials).
///
///     let server = try UnixDatagramSocket.bind(to: .abstract("events"))
///     let client = try UnixDatagramSocket.unbound()
///     try client.send(Array("ping".utf8), to: server.address!)
///     let message = try server.receive()      // bytes, from, sender
///
/// A bound path is created with mode 0600 unless asked (as
/// ``UnixListener/listen(on:kind:backlog:mode:)`` does, stale files
/// reclaimed, live ones and other files never taken); ``close()`` removes
/// the file it bound. Every receive goes through `recvmsg` with room for
/// descriptors, so none is ever leaked.
public final class UnixDatagramSocket: Sendable, CustomStringConvertible {
  /// The bound address; nil for an unbound socket (its peers cannot reply).
  public let address: UnixSocketAddress?
  /// The descriptor (blocking, close-on-exec).
  private let descriptor: OwnedDescriptor
  /// The socket file's device and inode right after bind.
  let boundFile: FileIdentity?
  /// Whether received messages report their sender (``setPassCredentials(_:)``).
  let reportsSender = Atomic<Bool>(false)

  init(adopting fd: Int32, address: UnixSocketAddress?, boundFile: FileIdentity?) {
    self.descriptor = OwnedDescriptor(fd)
    self.address = address
    self.boundFile = boundFile
  }

  /// The descriptor, or -1 once closed; it stays owned by the socket.
  public var fileDescriptor: Int32 { descriptor.current }

  /// `unix datagram socket @events (fd 5)`.
  public var description: String {
    "unix datagram socket \(address?.description ?? "(unbound)") (\(descriptor.state))"
  }

  /// A datagram socket bound to `address`, to receive messages sent there.
  ///
  /// The corresponding C functions are `socket(AF_UNIX, SOCK_DGRAM)` and
  /// `bind` (a path created with exactly `mode`, as the listener does).
  ///
  /// - Throws: `.exists` if a live socket is bound there or a file that is
  ///   not a socket is there; `.notFound` for a missing directory.
  public static func bind(to address: UnixSocketAddress, mode: mode_t = 0o600) throws(IPCError)
    -> UnixDatagramSocket
  {
    try UnixSocketSupport.checkMode(mode, operation: "bind", object: address.description)
    let fd = try UnixSocketSupport.makeSocket(.datagram, nonblocking: false, object: address.description)
    do throws(IPCError) {
      let identity = try UnixSocketSupport.bind(fd, to: address, kind: .datagram, mode: mode)
      return UnixDatagramSocket(adopting: fd, address: address, boundFile: identity)
    } catch {
      _ = Glibc.close(fd)
      throw error
    }
  }

  /// A datagram socket bound to no address: it can send; receivers see no
  /// sender address.
  ///
  /// The corresponding C function is `socket(AF_UNIX, SOCK_DGRAM)`.
  public static func unbound() throws(IPCError) -> UnixDatagramSocket {
    let fd = try UnixSocketSupport.makeSocket(.datagram, nonblocking: false, object: "unix datagram socket")
    return UnixDatagramSocket(adopting: fd, address: nil, boundFile: nil)
  }

  /// Whether each received message reports its sender in
  /// ``ReceivedMessage/sender`` (`SCM_CREDENTIALS`).
  ///
  /// The corresponding C function is `setsockopt(SO_PASSCRED)`.
  public func setPassCredentials(_ enabled: Bool = true) throws(IPCError) {
    let fd = try liveDescriptor("setsockopt")
    if case .failure(let code) = once({ cipc_unix_pass_credentials(fd, enabled) }) {
      throw IPCError(code: code, operation: "setsockopt(SO_PASSCRED)", object: description)
    }
    reportsSender.store(enabled, ordering: .releasing)
  }

  /// Sends `message` as one datagram to `address`, with `descriptors`
  /// alongside (`SCM_RIGHTS`).
  ///
  /// The corresponding C function is `sendmsg` with `MSG_NOSIGNAL` (`sendto`
  /// for at most 512 bytes without descriptors); it waits while the
  /// receiver's queue is full.
  ///
  /// - Throws: `.connectionRefused` when no socket is bound at `address`;
  ///   `.messageTooLong` for a datagram larger than the send buffer;
  ///   `.invalidArgument` for more than 253 descriptors (checked first).
  public func send(
    _ message: UnsafeRawBufferPointer, to address: UnixSocketAddress,
    passing descriptors: [any DescriptorPassable] = []
  ) throws(IPCError) {
    let descriptors = try UnixSocketSupport.descriptors(of: descriptors, object: description)
    let fd = try liveDescriptor("sendmsg")
    let result = UnixSocketSupport.sendOnce(
      fd, header: nil, bytes: message, descriptors: descriptors, to: address, flags: 0)
    guard case .failure(let code) = result else { return }
    switch code {
    case .connectionRefused, .notFound, .permissionDenied, IPCError.Code(rawValue: EPROTOTYPE):
      var error = UnixSocketSupport.connectError(code, address: address, kind: .datagram)
      error.operation = "sendmsg"
      throw error
    case .messageTooLong:
      throw IPCError(
        code: code, operation: "sendmsg", object: address.description,
        reason: "a datagram of \(message.count) bytes is larger than the socket's send buffer allows"
          + " (SO_SNDBUF, see /proc/sys/net/core/wmem_default); nothing was sent")
    case .wouldBlock:
      // Only if another holder of this socket set O_NONBLOCK: poll cannot say
      // when the receiver has room, so this is not waited out.
      throw IPCError(
        code: code, operation: "sendmsg", object: address.description,
        reason: "the receiver's queue is full and this socket was made non-blocking (O_NONBLOCK) by"
          + " another process or descriptor sharing it; nothing was sent")
    default:
      throw IPCError(code: code, operation: "sendmsg", object: address.description)
    }
  }

  /// Sends `message` (any sequence of bytes) as one datagram to `address`,
  /// as ``send(_:to:passing:)-(UnsafeRawBufferPointer,_,_)`` does.
  ///
  /// The corresponding C function is `sendmsg` (`sendto` or `send` for a small message).
  public func send<Bytes: Sequence<UInt8>>(
    _ message: Bytes, to address: UnixSocketAddress, passing descriptors: [any DescriptorPassable] = []
  ) throws(IPCError) {
    try withContiguousBytes(message) { (buffer) throws(IPCError) in
      try send(buffer, to: address, passing: descriptors)
    }
  }

  /// Encodes `value` with `coder` (JSON by default) and sends it as one
  /// datagram to `address`. Decode it with ``ReceivedMessage/decode(_:coder:)``.
  ///
  /// The corresponding C function is `sendmsg` (`sendto` or `send` for a small message).
  @_disfavoredOverload
  public func send<T: Encodable, Coder: MessageCoder>(
    _ value: T, to address: UnixSocketAddress, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) {
    try send(coder.encodeMessage(value), to: address)
  }

  /// Receives the next datagram, waiting until one arrives.
  ///
  /// The corresponding C function is `recvmsg` with `MSG_CMSG_CLOEXEC`.
  ///
  /// - Returns: the bytes, the descriptors that came along, the sender's
  ///   address and (with ``setPassCredentials(_:)``) its credentials.
  public func receive() throws(IPCError) -> ReceivedMessage {
    while true {
      let fd = try liveDescriptor("recvmsg")
      if let message = try deliver(attempt(fd, wait: true)) { return message }
      // Would block: another holder of the socket set O_NONBLOCK.
      UnixSocketSupport.waitWhileNonBlocking(fd, for: Readiness.readable)
    }
  }

  /// Receives the next datagram if one is there, without waiting.
  ///
  /// The corresponding C function is `recvmsg` with `MSG_DONTWAIT`.
  public func tryReceive() throws(IPCError) -> ReceivedMessage? {
    try receive(timeout: .zero)
  }

  /// Receives the next datagram, waiting at most `timeout` (monotonic clock).
  ///
  /// The corresponding C functions are `poll` and `recvmsg`.
  ///
  /// - Returns: the message; nil if none arrived within `timeout`.
  public func receive(timeout: Duration) throws(IPCError) -> ReceivedMessage? {
    let fd = try liveDescriptor("recvmsg")
    let outcome = try Readiness.until(timeout, descriptor: fd, events: Readiness.readable) {
      () throws(IPCError) -> RecordOutcome? in
      try attempt(liveDescriptor("recvmsg"), wait: false)
    }
    return try deliver(outcome)
  }

  /// Receives the next datagram, suspending until one arrives; the async
  /// form of ``receive()``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and
  /// `poll` (on the library's poll thread).
  ///
  /// - Throws: `.cancelled` if the task is cancelled first (nothing taken).
  public func receive() async throws(IPCError) -> ReceivedMessage {
    guard let message = try await awaitMessage(nil) else {
      throw IPCError(code: .timedOut, operation: "recvmsg", object: description)
    }
    return message
  }

  /// Receives the next datagram, suspending at most `timeout`; the async
  /// form of ``receive(timeout:)``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and `poll`.
  public func receive(timeout: Duration) async throws(IPCError) -> ReceivedMessage? {
    try await awaitMessage(timeout)
  }

  /// Closes the socket and removes the file it bound, if the path still
  /// names that socket (same device and inode). Closing twice does nothing.
  ///
  /// The corresponding C functions are `close`, `lstat` and `unlink`.
  public func close() throws(IPCError) {
    descriptor.close(removing: address, boundFile: boundFile)
  }
}

extension UnixDatagramSocket {
  /// The descriptor, or `.badDescriptor` once closed.
  func liveDescriptor(_ operation: String) throws(IPCError) -> Int32 {
    try descriptor.live(
      operation, object: description, reason: "this socket was closed; it can no longer be used")
  }

  /// One attempt at the next datagram; nil if none is there.
  private func attempt(_ fd: Int32, wait: Bool) throws(IPCError) -> RecordOutcome? {
    try UnixSocketSupport.attemptRecord(
      fd, into: nil, wait: wait, endsWithoutCredentials: false, object: description)
  }

  private func awaitMessage(_ timeout: Duration?) async throws(IPCError) -> ReceivedMessage? {
    let outcome = try await Readiness.awaiting(
      timeout, cancelled: .cancelled("recvmsg", object: description),
      descriptor: { () throws(IPCError) in try liveDescriptor("recvmsg") }, events: Readiness.readable
    ) { () throws(IPCError) -> RecordOutcome? in
      try attempt(liveDescriptor("recvmsg"), wait: false)
    }
    return try deliver(outcome)
  }

  /// The message of an attempt: descriptors owned by it, or closed and
  /// reported if some were cut off (`MSG_CTRUNC`).
  private func deliver(_ outcome: RecordOutcome?) throws(IPCError) -> ReceivedMessage? {
    guard case .message(let bytes, var arrivals) = outcome else {
      if case .count(_, var arrivals) = outcome { arrivals.closeDescriptors() }
      return nil
    }
    if arrivals.controlTruncated {
      let count = arrivals.descriptors.count
      arrivals.closeDescriptors()
      throw UnixSocketSupport.descriptorsCut(count, bytes: bytes, operation: "recvmsg", object: description)
    }
    let sender = reportsSender.load(ordering: .acquiring) ? arrivals.credentials : nil
    return ReceivedMessage(
      bytes: bytes, descriptors: arrivals.takeDescriptors(), sender: sender, from: arrivals.from)
  }
}

extension UnixDatagramSocket: DescriptorPassable {
  /// The socket's descriptor.
  public var passableDescriptor: Int32 {
    get throws(IPCError) {
      try liveDescriptor("sendmsg")
    }
  }

  /// An `AF_UNIX` datagram socket that arrived in a message
  /// (`getsockopt(SO_DOMAIN, SO_TYPE)` check it). One that arrives
  /// non-blocking is made blocking with `fcntl`, as
  /// ``UnixConnection/adopting(_:)`` does.
  public static func adopting(_ descriptor: ReceivedDescriptor) throws(IPCError) -> UnixDatagramSocket {
    let fd = try descriptor.descriptor(ifOneOf: [.socket], for: "UnixDatagramSocket")
    var isUnix = false
    guard cipc_socket_kind(fd, &isUnix) == UnixSocketKind.datagram.code, isUnix else {
      throw descriptor.wrongKind(
        "UnixDatagramSocket", detail: isUnix ? "a Unix connection" : "not a Unix socket")
    }
    try UnixSocketSupport.makeBlocking(fd, object: "a received datagram socket")
    return UnixDatagramSocket(adopting: descriptor.release(), address: nil, boundFile: nil)
  }
}
