import Glibc

/// The timed and non-blocking receives: they wait at most a `Duration` on
/// the monotonic clock (or not at all) for a message, and return nil when
/// none arrived whole. Each call passes `MSG_DONTWAIT`; the descriptor's
/// `O_NONBLOCK` flag is left alone.
///
/// On a stream, the part of a frame that arrived in time is kept by the
/// connection, with any descriptors that came with it, and the next receive
/// goes on from it: nothing is lost, and a peer that stalls inside a message
/// never holds a call past its limit (as ``PipeEnd`` does). At the end of the stream these forms throw
/// `.brokenPipe`, so that nil only means that nothing arrived in time.
extension UnixConnection {
  /// Receives the next message if one has arrived, without waiting.
  ///
  /// The corresponding C function is `recvmsg` with `MSG_DONTWAIT`.
  ///
  /// - Returns: the payload; nil if no message is there.
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise what
  ///   ``receive()-6wmme`` throws.
  public func tryReceive() throws(IPCError) -> [UInt8]? {
    try receive(timeout: .zero)
  }

  /// Receives the next message into `buffer` if one has arrived, without
  /// waiting; see ``tryReceive()``.
  ///
  /// The corresponding C function is `recvmsg` with `MSG_DONTWAIT`.
  public func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
    try receive(into: buffer, timeout: .zero)
  }

  /// Receives the next message and decodes it as a `T` if one has arrived,
  /// without waiting; see ``tryReceive()``.
  ///
  /// The corresponding C function is `recvmsg` with `MSG_DONTWAIT`.
  public func tryReceive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> T? {
    try receive(type, coder: coder, timeout: .zero)
  }

  /// Receives the next message, waiting at most `timeout` for it to start.
  ///
  /// The corresponding C functions are `poll` and `recvmsg` with
  /// `MSG_DONTWAIT`.
  ///
  /// - Returns: the payload; nil if no whole message arrived within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise what
  ///   ``receive()-6wmme`` throws.
  public func receive(timeout: Duration) throws(IPCError) -> [UInt8]? {
    try receiveMessage(timeout: timeout, takingDescriptors: false)?.bytes
  }

  /// Receives the next message into `buffer`, waiting at most `timeout`
  /// for it to start; see ``receive(timeout:)-5yfzv``.
  ///
  /// The corresponding C functions are `poll` and `recvmsg`.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil if no
  ///   whole message arrived within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.tooBig` keeps a
  ///   longer message in the error's payload.
  public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> Int?
  {
    try receiveMessage(into: buffer, timeout: timeout)
  }

  /// Receives the next message and decodes it as a `T` with `coder`,
  /// waiting at most `timeout` for it to start.
  ///
  /// The corresponding C functions are `poll` and `recvmsg`.
  ///
  /// - Returns: the value; nil if no whole message arrived within `timeout`.
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder(), timeout: Duration
  ) throws(IPCError) -> T? {
    guard let bytes = try receive(timeout: timeout) else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }
}
