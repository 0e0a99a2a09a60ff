import Glibc

/// The async receives. Each one takes what has arrived with `recvmsg` and
/// `MSG_DONTWAIT` and, while nothing is there, waits on the library's poll
/// thread: one pending call costs one poll entry, no thread, and no thread
/// of Swift's cooperative pool ever blocks in the kernel.
///
/// **Cancellation** and timeouts are honoured at any point: the call ends
/// with ``IPCError/Code-swift.struct/cancelled`` (or nil when timed) and
/// nothing is lost. The part of a stream frame that arrived is kept by the
/// connection, with its descriptors, for the next receive, as ``PipeEnd``'s
/// async receives do; a seqpacket record is taken in one call, so it is
/// never cut.
extension UnixConnection {
  /// Receives the next message, suspending until one arrives; the async
  /// form of ``receive()-6wmme``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and
  /// `poll` (on the library's poll thread).
  ///
  /// - Returns: the payload, or nil at a clean end of stream.
  /// - Throws: `.cancelled` if the task is cancelled before the message
  ///   started (it stays in the socket); otherwise what ``receive()-6wmme`` throws.
  public func receive() async throws(IPCError) -> [UInt8]? {
    try await awaitMessage(timeout: nil, throwAtEnd: false, takingDescriptors: false)?.bytes
  }

  /// Receives the next message, suspending at most `timeout` for it to
  /// start; the async form of ``receive(timeout:)-5yfzv``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and `poll`.
  ///
  /// - Returns: the payload; nil if no whole message arrived within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.cancelled`.
  public func receive(timeout: Duration) async throws(IPCError) -> [UInt8]? {
    try await awaitMessage(timeout: timeout, throwAtEnd: true, takingDescriptors: false)?.bytes
  }

  /// Receives the next message into `buffer`, suspending until one
  /// arrives; the async form of ``receive(into:)``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and `poll`.
  public func receive(into buffer: UnsafeMutableRawBufferPointer) async throws(IPCError) -> Int? {
    try await awaitMessage(into: buffer, timeout: nil, throwAtEnd: false)
  }

  /// Receives the next message into `buffer`, suspending at most `timeout`
  /// for it to start; the async form of ``receive(into:timeout:)``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and `poll`.
  public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) async throws(IPCError)
    -> Int?
  {
    try await awaitMessage(into: buffer, timeout: timeout, throwAtEnd: true)
  }

  /// Receives the next message and decodes it as a `T` with `coder`,
  /// suspending until one arrives; the async form of ``receive(_:coder:)``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and `poll`.
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> T? {
    guard let bytes = try await receive() else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }

  /// Receives the next message and decodes it as a `T`, suspending at most
  /// `timeout` for it to start; the async form of ``receive(_:coder:timeout:)``.
  ///
  /// The corresponding C functions are `recvmsg` with `MSG_DONTWAIT` and `poll`.
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder(), timeout: Duration
  ) async throws(IPCError) -> T? {
    guard let bytes = try await receive(timeout: timeout) else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }
}
