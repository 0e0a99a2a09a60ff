import Glibc

/// Whole messages over a pipe's byte stream.
///
/// A frame is a 4-byte little-endian unsigned length, then that many payload
/// bytes; any C, Python or shell peer can speak it (see Docs/Pipes.md). A frame
/// of at most `PIPE_BUF` (4096) bytes, so a payload of at most
/// ``PipeEnd/atomicMessageLimit`` bytes, is written with one `write` call,
/// which the kernel makes atomic: frames from several writers of one pipe are
/// never interleaved. Larger frames may be interleaved with other writers'
/// bytes, so give each writer its own pipe if messages can be larger. Duplex
/// pipes (socket pairs) make no such promise at any size: use each end from
/// one writer.
extension PipeEnd {
  /// Bytes of the length that precedes every payload.
  static let headerSize = Frame.headerSize

  /// The largest payload whose frame (length plus payload) is `PIPE_BUF`
  /// bytes, the most a pipe writes atomically: 4092 on Linux.
  public static let atomicMessageLimit = Int(PIPE_BUF) - headerSize

  /// The largest payload ``send(_:)-(UnsafeRawBufferPointer)`` accepts and
  /// `receive()` believes: `Int32.max` bytes, so a peer may read the length
  /// as a signed 32-bit number. A header announcing more means the stream is
  /// not framed this way.
  public static let maxMessageSize = Frame.maxPayload

  /// Sends `message` as one frame: its length as 4 bytes little-endian, then
  /// its bytes.
  ///
  /// A payload of at most ``atomicMessageLimit`` bytes is copied behind its
  /// length in scratch memory (no allocation) and written with one `write`
  /// call, atomically. A larger one is written as the length, then the
  /// payload straight from `message`, without copying it.
  ///
  /// The corresponding C function is `write` (`send` with `MSG_NOSIGNAL` on a
  /// duplex pipe).
  ///
  /// - Throws: `.invalidArgument` for a payload above ``maxMessageSize``
  ///   (nothing is written); `.brokenPipe` when no reader is left.
  public func send(_ message: UnsafeRawBufferPointer) throws(IPCError) {
    let fd = try descriptor(for: .writing)
    let count = message.count
    let length = try Frame.header(count: count, operation: isSocket ? "send" : "write", object: description)
    let header = Self.headerSize
    if count <= Self.atomicMessageLimit {
      let result = ScratchBuffer.with(byteCount: header + count) { frame in
        frame.storeBytes(of: length, as: UInt32.self)
        if let source = message.baseAddress, count > 0 {
          (frame.baseAddress! + header).copyMemory(from: source, byteCount: count)
        }
        return Result { () throws(IPCError) in
          try writeAll(UnsafeRawBufferPointer(rebasing: frame[..<(header + count)]), to: fd)
        }
      }
      try result.get()
    } else {
      let result = withUnsafeBytes(of: length) { bytes in
        Result { () throws(IPCError) in try writeAll(bytes, to: fd) }
      }
      try result.get()
      try writeAll(message, to: fd)
    }
  }

  /// Sends `message` (any sequence of bytes) as one frame, as
  /// ``send(_:)-(UnsafeRawBufferPointer)`` does.
  ///
  /// The corresponding C function is `write`.
  public func send<Bytes: Sequence<UInt8>>(_ message: Bytes) throws(IPCError) {
    try withContiguousBytes(message) { (buffer) throws(IPCError) in try send(buffer) }
  }

  /// Receives the next message, waiting until one arrives.
  ///
  /// The corresponding C function is `read`: once for the length, then until
  /// the payload is complete.
  ///
  /// - Returns: the payload, or nil at a clean end of stream: every write end
  ///   is closed and the last message was complete.
  /// - Throws: `.badMessage` if the stream ends inside a message ("stream
  ///   ended after 2 of 4 header bytes", "after 10 of 200 bytes"; the bytes
  ///   that arrived are in the error's ``IPCError/payload``), or if a header
  ///   announces more than ``maxMessageSize`` bytes. Never a silent truncation.
  public func receive() throws(IPCError) -> [UInt8]? {
    try receiveFrame(from: descriptor(for: .reading))
  }

  /// Receives the next message into `buffer`, waiting until one arrives.
  ///
  /// The corresponding C function is `read`.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil at a clean
  ///   end of stream.
  /// - Throws: `.tooBig` if the payload is longer than `buffer`. A pipe cannot
  ///   put bytes back, so the message is read all the same and kept in the
  ///   error's ``IPCError/payload``: nothing is lost, and the next receive
  ///   starts at the next message. `.badMessage` as for `receive()`.
  public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
    try receiveFrame(into: buffer, from: descriptor(for: .reading))
  }

  /// Encodes `value` with `coder` (JSON by default) and sends it as one frame.
  ///
  /// The corresponding C function is `write`.
  ///
  /// Bytes stay bytes: a `[UInt8]` (or any `Sequence<UInt8>`) goes to the raw
  /// ``send(_:)-(Bytes)`` overload, which this one yields to, so `send([1, 2])`
  /// sends two bytes, not the JSON text `[1,2]`. Pass a `coder` to encode a
  /// byte array as a value.
  ///
  /// - Throws: `.invalidArgument` with operation `encode` if the value cannot
  ///   be encoded (nothing is written), or any error ``send(_:)-(UnsafeRawBufferPointer)`` throws.
  @_disfavoredOverload
  public func send<T: Encodable, Coder: MessageCoder>(
    _ value: T, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) {
    try send(coder.encodeMessage(value))
  }

  /// Receives the next message and decodes it as a `T` with `coder` (JSON by
  /// default), waiting until one arrives.
  ///
  /// The corresponding C function is `read`.
  ///
  /// - Returns: the value, or nil at a clean end of stream.
  /// - Throws: `.badMessage` if the payload does not decode; the error's
  ///   ``IPCError/payload`` holds it, so nothing is lost.
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> T? {
    guard let bytes = try receive() else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }
}
