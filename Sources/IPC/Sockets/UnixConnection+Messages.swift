import Glibc

/// Whole messages over a connection: stream sockets frame them as
/// ``PipeEnd`` does, seqpacket sockets send each as one record.
extension UnixConnection {
  /// Sends `message` as one message: on a stream, its length as 4 bytes
  /// little-endian, then its bytes; on a seqpacket connection, one record.
  ///
  /// The corresponding C function is `sendmsg` with `MSG_NOSIGNAL` (`send`
  /// for a message of at most 512 bytes with its frame header).
  ///
  /// - Throws: `.brokenPipe` when the peer is gone (never a `SIGPIPE`);
  ///   `.invalidArgument` for a stream payload above
  ///   ``PipeEnd/maxMessageSize``; `.messageTooLong` for a seqpacket record
  ///   larger than the socket's send buffer. Nothing is sent on these
  ///   errors except `.brokenPipe` after part of a large stream message.
  public func send(_ message: UnsafeRawBufferPointer) throws(IPCError) {
    try sendMessage(message, descriptors: [])
  }

  /// Sends `message` (any sequence of bytes) as one message, as
  /// ``send(_:)-(UnsafeRawBufferPointer)`` does.
  ///
  /// The corresponding C function is `sendmsg` with `MSG_NOSIGNAL` (`send`
  /// for a message of at most 512 bytes with its frame header).
  public func send<Bytes: Sequence<UInt8>>(_ message: Bytes) throws(IPCError) {
    try withContiguousBytes(message) { (buffer) throws(IPCError) in try send(buffer) }
  }

  /// Encodes `value` with `coder` (JSON by default) and sends it as one
  /// message. A `[UInt8]` goes to the raw ``send(_:)-(Bytes)`` overload.
  ///
  /// The corresponding C function is `sendmsg` (`send` for a small message).
  ///
  /// - Throws: `.invalidArgument` with operation `encode` if the value
  ///   cannot be encoded (nothing is sent), or what `send` throws.
  @_disfavoredOverload
  public func send<T: Encodable, Coder: MessageCoder>(
    _ value: T, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) {
    try send(coder.encodeMessage(value))
  }

  /// Receives the next message, waiting until one arrives.
  ///
  /// The corresponding C function is `recvmsg` (with a control buffer and
  /// `MSG_CMSG_CLOEXEC`): on a stream, for the length, then until the
  /// payload is complete; on seqpacket, one record.
  ///
  /// - Returns: the payload, or nil at a clean end of stream (the peer
  ///   closed or shut down writing after a complete message).
  /// - Throws: `.badMessage` if the stream ends inside a message (the bytes
  ///   that arrived are in the error's ``IPCError/payload``), or if
  ///   descriptors came with the message: they are closed, and the message's
  ///   bytes are in the error's payload (use ``receiveWithDescriptors()-5573o``).
  public func receive() throws(IPCError) -> [UInt8]? {
    try receiveMessage(timeout: nil, takingDescriptors: false)?.bytes
  }

  /// Receives the next message into `buffer`, waiting until one arrives.
  ///
  /// The corresponding C function is `recvmsg`.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil at a clean
  ///   end of stream.
  /// - Throws: `.tooBig` if the message is longer than `buffer`: it is taken
  ///   all the same and kept in the error's ``IPCError/payload``, so nothing
  ///   is lost and the next receive starts at the next message;
  ///   `.badMessage` as for `receive()`.
  public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
    try receiveMessage(into: buffer, timeout: nil)
  }

  /// Receives the next message and decodes it as a `T` with `coder` (JSON
  /// by default), waiting until one arrives.
  ///
  /// The corresponding C function is `recvmsg`.
  ///
  /// - Returns: the value, or nil at a clean end of stream.
  /// - Throws: `.badMessage` if the payload does not decode (kept in the
  ///   error's ``IPCError/payload``).
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> T? {
    guard let bytes = try receive() else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }
}
