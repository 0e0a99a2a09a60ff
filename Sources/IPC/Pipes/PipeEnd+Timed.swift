import Glibc

/// The timed and non-blocking forms of reads and receives: they wait at most
/// a `Duration` on the monotonic clock (or not at all) for bytes to arrive,
/// and return nil when none did. The descriptor's `O_NONBLOCK` flag is left
/// alone: see PipeEnd+NonBlocking.swift.
///
/// A pipe cannot put bytes back, so the limit applies to the start of a
/// message only: once the first byte of a frame is read, the call reads the
/// whole frame, waiting as long as the writer takes (or until the stream
/// ends, which is a `.badMessage`), so the stream stays in step.
extension PipeEnd {
  /// How a frame began.
  enum FrameStart {
    /// Its header arrived, announcing this many payload bytes.
    case length(Int)
    /// The stream ended cleanly: every writer closed before a new frame.
    case endOfStream
  }

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

  /// Receives the next message, waiting at most `timeout` for it to start.
  ///
  /// Once its first byte is read, the whole message is read, however long
  /// the rest takes: a pipe cannot put bytes back.
  ///
  /// The corresponding C functions are `poll` and a read that never waits
  /// (see ``tryRead(into:)``), then `read` for the rest of the message.
  ///
  /// - Returns: the payload; nil if no message started within `timeout`.
  /// - Throws: ``IPCError/Code-swift.struct/brokenPipe`` at the end of the
  ///   stream (every write end closed), so that nil means only that nothing
  ///   arrived in time; otherwise what `receive()` throws.
  public func receive(timeout: Duration) throws(IPCError) -> [UInt8]? {
    let fd = try descriptor(for: .reading)
    switch try startFrame(within: timeout, from: fd) {
    case nil: return nil
    case .endOfStream: throw endOfStream()
    case .length(let length): return try receivePayload(length: length, from: fd)
    }
  }

  /// Receives the next message into `buffer`, waiting at most `timeout` for
  /// it to start; see `receive(timeout:)`.
  ///
  /// The corresponding C functions are `poll` and `read`.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil if no
  ///   message started within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise what
  ///   `receive(into:)` throws (`.tooBig` keeps the message in the error).
  public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) throws(IPCError) -> Int?
  {
    let fd = try descriptor(for: .reading)
    switch try startFrame(within: timeout, from: fd) {
    case nil: return nil
    case .endOfStream: throw endOfStream()
    case .length(let length): return try receivePayload(length: length, into: buffer, from: fd)
    }
  }

  /// Receives the next message and decodes it as a `T` with `coder`,
  /// waiting at most `timeout` for it to start; see `receive(timeout:)`.
  ///
  /// The corresponding C functions are `poll` and `read`.
  ///
  /// - Returns: the value; nil if no message started within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.badMessage` if the
  ///   payload does not decode (kept in the error's ``IPCError/payload``).
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder(), timeout: Duration
  ) throws(IPCError) -> T? {
    guard let bytes = try receive(timeout: timeout) else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }

  /// Receives the next message if one has started to arrive, without
  /// waiting for one; once its first byte is read, the rest is read however
  /// long it takes (a pipe cannot put bytes back).
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` (see
  /// ``tryRead(into:)``), then `read` for the rest of the message.
  ///
  /// - Returns: the payload; nil if no message is there.
  /// - Throws: `.brokenPipe` at the end of the stream (every write end
  ///   closed), so that nil means only that nothing is there yet; otherwise
  ///   what `receive()` throws.
  public func tryReceive() throws(IPCError) -> [UInt8]? {
    try receive(timeout: .zero)
  }

  /// Receives the next message into `buffer` if one has started to arrive,
  /// without waiting for one; see ``tryReceive()``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and `read`.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil if no
  ///   message is there.
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise what
  ///   `receive(into:)` throws.
  public func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
    try receive(into: buffer, timeout: .zero)
  }

  /// Receives the next message and decodes it as a `T` with `coder` if one
  /// has started to arrive, without waiting for one; see ``tryReceive()``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and `read`.
  ///
  /// - Returns: the value; nil if no message is there.
  /// - Throws: `.brokenPipe` at the end of the stream; `.badMessage` if the
  ///   payload does not decode (kept in the error's ``IPCError/payload``).
  public func tryReceive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> T? {
    try receive(type, coder: coder, timeout: .zero)
  }

  // MARK: Internals

  /// Waits at most `timeout` for a frame to start, then reads the rest of
  /// its header, blocking; nil if nothing arrived in time.
  private func startFrame(within timeout: Duration, from fd: Int32) throws(IPCError) -> FrameStart? {
    var header: UInt32 = 0
    let first = try Readiness.until(timeout, descriptor: fd, events: Readiness.readable) {
      () throws(IPCError) -> Int? in
      try tryReadHeader(&header, from: fd)
    }
    guard let first else { return nil }
    guard first > 0 else { return .endOfStream }
    var count = first
    if count < Self.headerSize {
      let result = withUnsafeMutableBytes(of: &header) { buffer in
        Result { () throws(IPCError) in
          try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[first...]), from: fd)
        }
      }
      count += try result.get()
    }
    return .length(try checkedLength(header, count: count))
  }

  /// One read that never waits of a frame's first bytes into `header`: how
  /// many arrived (0 at the end of the stream), or nil if none has. Shared by
  /// the timed and the async receives.
  func tryReadHeader(_ header: inout UInt32, from fd: Int32) throws(IPCError) -> Int? {
    let result = withUnsafeMutableBytes(of: &header) { buffer in
      Result { () throws(IPCError) in try tryReadSome(buffer, from: fd) }
    }
    return try result.get()
  }

  /// What a timed, non-blocking or async timed receive throws at the end of the stream.
  func endOfStream() -> IPCError {
    IPCError(
      code: .brokenPipe, operation: "read", object: description,
      reason: "the stream has ended: every write end is closed. A timed or non-blocking receive"
        + " reports the end as this error, so that nil only means that no message arrived in time")
  }
}
