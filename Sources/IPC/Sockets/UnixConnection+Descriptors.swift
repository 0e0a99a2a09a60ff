import CIPCShims
import Glibc

/// Descriptors alongside messages (`SCM_RIGHTS`).
///
/// The receiver gets its own descriptors of the same open files,
/// close-on-exec, as ``ReceivedDescriptor``s it rebuilds with
/// ``ReceivedDescriptor/take(as:)``. On a stream the descriptors travel with
/// the frame's first bytes.
extension UnixConnection {
  /// The most descriptors one message carries: 253 (`SCM_MAX_FD`).
  public static let maxDescriptorsPerMessage = UnixSocketSupport.maxDescriptors

  /// Sends `message` with `descriptors` alongside; the sender keeps its own.
  ///
  /// The corresponding C function is `sendmsg` with an `SCM_RIGHTS` control
  /// message and `MSG_NOSIGNAL`.
  ///
  /// - Throws: `.invalidArgument` for more than 253 descriptors
  ///   (`SCM_MAX_FD`), checked before anything is sent; `.badDescriptor` for
  ///   a closed object; otherwise what ``send(_:)-(UnsafeRawBufferPointer)`` throws.
  public func send(_ message: UnsafeRawBufferPointer, passing descriptors: [any DescriptorPassable])
    throws(IPCError)
  {
    try sendMessage(message, descriptors: UnixSocketSupport.descriptors(of: descriptors, object: description))
  }

  /// Sends `message` (any sequence of bytes) with `descriptors` alongside, as
  /// ``send(_:passing:)-(UnsafeRawBufferPointer,_)`` does.
  ///
  /// The corresponding C function is `sendmsg` with `SCM_RIGHTS`.
  public func send<Bytes: Sequence<UInt8>>(_ message: Bytes, passing descriptors: [any DescriptorPassable])
    throws(IPCError)
  {
    try withContiguousBytes(message) { (buffer) throws(IPCError) in try send(buffer, passing: descriptors) }
  }

  /// Receives the next message with the descriptors that came along,
  /// waiting until one arrives.
  ///
  /// The corresponding C function is `recvmsg` with `MSG_CMSG_CLOEXEC`.
  ///
  /// - Returns: the message, or nil at a clean end of stream.
  /// - Throws: `.badMessage` if descriptors were cut off (`MSG_CTRUNC`):
  ///   those that arrived are closed and the bytes are in the error's
  ///   payload; otherwise what ``receive()-6wmme`` throws.
  public func receiveWithDescriptors() throws(IPCError) -> ReceivedMessage? {
    try receiveMessage(timeout: nil, takingDescriptors: true)
  }

  /// Receives the next message with its descriptors if one has arrived,
  /// without waiting.
  ///
  /// The corresponding C function is `recvmsg` with `MSG_DONTWAIT`.
  ///
  /// - Returns: the message; nil if none is there.
  /// - Throws: `.brokenPipe` at the end of the stream.
  public func tryReceiveWithDescriptors() throws(IPCError) -> ReceivedMessage? {
    try receiveWithDescriptors(timeout: .zero)
  }

  /// Receives the next message with its descriptors, waiting at most
  /// `timeout` for it to start.
  ///
  /// The corresponding C functions are `poll` and `recvmsg`.
  ///
  /// - Returns: the message; nil if none arrived whole within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream.
  public func receiveWithDescriptors(timeout: Duration) throws(IPCError) -> ReceivedMessage? {
    try receiveMessage(timeout: timeout, takingDescriptors: true)
  }

  /// Receives the next message with its descriptors, suspending until one
  /// arrives; the async form of ``receiveWithDescriptors()-5573o``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and
  /// `poll` (on the library's poll thread).
  ///
  /// - Returns: the message, or nil at a clean end of stream.
  /// - Throws: `.cancelled` if the task is cancelled before it started.
  public func receiveWithDescriptors() async throws(IPCError) -> ReceivedMessage? {
    try await awaitMessage(timeout: nil, throwAtEnd: false, takingDescriptors: true)
  }

  /// Receives the next message with its descriptors, suspending at most
  /// `timeout`; the async form of ``receiveWithDescriptors(timeout:)``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and `poll`.
  ///
  /// - Returns: the message; nil if none arrived whole within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.cancelled`.
  public func receiveWithDescriptors(timeout: Duration) async throws(IPCError) -> ReceivedMessage? {
    try await awaitMessage(timeout: timeout, throwAtEnd: true, takingDescriptors: true)
  }
}

extension UnixConnection: DescriptorPassable {
  /// The connection's descriptor.
  public var passableDescriptor: Int32 {
    get throws(IPCError) {
      try liveDescriptor("sendmsg")
    }
  }

  /// A connected `AF_UNIX` stream or seqpacket socket that arrived in a
  /// message (`getsockopt(SO_DOMAIN, SO_TYPE, SO_ACCEPTCONN)` check it; a
  /// listening socket is refused).
  ///
  /// A socket that arrives non-blocking (a Python socket with a timeout, say)
  /// is made blocking with `fcntl`, as the connection's blocking calls
  /// expect. The flag belongs to the open file description, which the
  /// sender's copy shares: a sender that goes on using its copy sees the
  /// change. Should the flag be set again, the blocking calls still wait.
  public static func adopting(_ descriptor: ReceivedDescriptor) throws(IPCError) -> UnixConnection {
    let fd = try descriptor.descriptor(ifOneOf: [.socket], for: "UnixConnection")
    var isUnix = false
    let code = cipc_socket_kind(fd, &isUnix)
    guard isUnix, let kind = UnixSocketKind(code: code), kind != .datagram else {
      throw descriptor.wrongKind(
        "UnixConnection", detail: isUnix ? "a Unix datagram socket" : "not a Unix socket")
    }
    var listening: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0, listening == 0 else {
      throw descriptor.wrongKind("UnixConnection", detail: "a listening socket")
    }
    try UnixSocketSupport.makeBlocking(fd, object: "a received \(kind) socket")
    let connection = try UnixConnection(accepted: fd, kind: kind, address: nil)
    _ = descriptor.release()
    return connection
  }
}
