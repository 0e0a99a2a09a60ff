import Glibc

/// The timed and non-blocking forms of reads and receives: they wait at most
/// a `Duration` on the monotonic clock (or not at all) for bytes to arrive,
/// and return nil when none did. The descriptor's `O_NONBLOCK` flag is left
/// alone: see PipeEnd+NonBlocking.swift.
///
/// A message receive takes what arrives in time. If a message has only
/// partly arrived when the time is up, the call returns nil and the end
/// keeps the bytes it took: the next receive (of any form) goes on from
/// them, so nothing is lost and the stream stays in step. A writer that
/// stalls inside a message never holds a timed receive past its limit.
extension PipeEnd {
  /// Reads what has arrived, at most `buffer.count` bytes, waiting at most
  /// `timeout` for the first byte.
  ///
  /// The corresponding C functions are `poll` and a read that never waits
  /// (`preadv2` with `RWF_NOWAIT`, `recv` with `MSG_DONTWAIT` on a duplex
  /// pipe, `read` on a non-blocking second descriptor of a FIFO).
  ///
  /// - Returns: how many bytes were read, 0 at the end of the stream (or for
  ///   an empty `buffer`); nil if nothing arrived within `timeout`.
  public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> Int? {
    let fd = try descriptor(for: .reading)
    return try Readiness.until(timeout, descriptor: fd, events: Readiness.readable) { () throws(IPCError) in
      try tryReadSome(buffer, from: fd)
    }
  }

  /// Reads what has arrived, at most `buffer.count` bytes, without waiting.
  ///
  /// The corresponding C function is `preadv2` with `RWF_NOWAIT` (`recv`
  /// with `MSG_DONTWAIT` on a duplex pipe; `read` on a non-blocking second
  /// descriptor of a FIFO).
  ///
  /// - Returns: how many bytes were read, 0 at the end of the stream (or for
  ///   an empty `buffer`); nil if nothing has arrived.
  public func tryRead(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
    try tryReadSome(buffer, from: descriptor(for: .reading))
  }

  /// Receives the next message, waiting at most `timeout` for it to arrive
  /// whole; the part of one that arrived in time is kept for the next receive.
  ///
  /// The corresponding C functions are `poll` and reads that never wait
  /// (see ``tryRead(into:)``).
  ///
  /// - Returns: the payload; nil if no whole message arrived within `timeout`.
  /// - Throws: ``IPCError/Code-swift.struct/brokenPipe`` at the end of the
  ///   stream (every write end closed), so that nil means only that nothing
  ///   arrived in time; otherwise what `receive()` throws.
  public func receive(timeout: Duration) throws(IPCError) -> [UInt8]? {
    try receiveFrame(within: timeout, from: descriptor(for: .reading))
  }

  /// Receives the next message into `buffer`, waiting at most `timeout` for
  /// it to start; see `receive(timeout:)`.
  ///
  /// The corresponding C functions are `poll` and `read`.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil if no
  ///   whole message arrived within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise what
  ///   `receive(into:)` throws (`.tooBig` keeps the message in the error).
  public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> Int?
  {
    try receiveFrame(into: buffer, within: timeout, from: descriptor(for: .reading))
  }

  /// Receives the next message and decodes it as a `T` with `coder`,
  /// waiting at most `timeout` for it to start; see `receive(timeout:)`.
  ///
  /// The corresponding C functions are `poll` and `read`.
  ///
  /// - Returns: the value; nil if no whole message arrived within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.badMessage` if the
  ///   payload does not decode (kept in the error's ``IPCError/payload``).
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder(), timeout: Duration
  ) throws(IPCError) -> T? {
    guard let bytes = try receive(timeout: timeout) else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }

  /// Receives the next message if it has arrived whole, without waiting; the
  /// part of one that has arrived is kept for the next receive.
  ///
  /// The corresponding C function is `preadv2` with `RWF_NOWAIT` (see
  /// ``tryRead(into:)``).
  ///
  /// - Returns: the payload; nil if no message is there.
  /// - Throws: `.brokenPipe` at the end of the stream (every write end
  ///   closed), so that nil means only that nothing is there yet; otherwise
  ///   what `receive()` throws.
  public func tryReceive() throws(IPCError) -> [UInt8]? {
    try receive(timeout: .zero)
  }

  /// Receives the next message into `buffer` if it has arrived whole,
  /// without waiting; see ``tryReceive()``.
  ///
  /// The corresponding C function is `preadv2` with `RWF_NOWAIT`.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil if no
  ///   message is there.
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise what
  ///   `receive(into:)` throws.
  public func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
    try receive(into: buffer, timeout: .zero)
  }

  /// Receives the next message and decodes it as a `T` with `coder` if one
  /// has arrived whole, without waiting; see ``tryReceive()``.
  ///
  /// The corresponding C function is `preadv2` with `RWF_NOWAIT`.
  ///
  /// - Returns: the value; nil if no message is there.
  /// - Throws: `.brokenPipe` at the end of the stream; `.badMessage` if the
  ///   payload does not decode (kept in the error's ``IPCError/payload``).
  public func tryReceive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> T? {
    try receive(type, coder: coder, timeout: .zero)
  }
}
