import Glibc

/// The async forms of the message receives. Each one takes what has arrived
/// with reads that never wait (see PipeEnd+NonBlocking.swift; the
/// descriptor's `O_NONBLOCK` flag is left alone) and, while nothing is there,
/// waits on the library's poll thread: one pending call costs one poll entry,
/// no thread. No thread of Swift's cooperative pool ever blocks in the kernel.
///
/// **Cancellation** is honoured until the first byte of a message is read:
/// the call then ends with ``IPCError/Code-swift.struct/cancelled`` and the
/// message stays in the pipe for the next receive. Once a message's first
/// byte is read, the call reads the whole message (or reports the end of the
/// stream inside it as `.badMessage`), however long the writer takes and
/// even if the task is cancelled meanwhile: a pipe cannot put bytes back, and
/// giving up there would leave the stream out of step. A timeout likewise
/// limits only the wait for a message to start.
extension PipeEnd {
  /// Receives the next message, suspending until one arrives; the async form
  /// of ``receive()``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` (`recv`
  /// with `MSG_DONTWAIT` on a duplex pipe; `read` on a non-blocking second
  /// descriptor of a FIFO) and `poll`. Waits on the library's poll thread:
  /// one pending call costs one poll entry, no thread.
  ///
  /// - Returns: the payload, or nil at a clean end of stream.
  /// - Throws: `.cancelled` if the task is cancelled before the message
  ///   started (it stays in the pipe); otherwise what ``receive()`` throws.
  public func receive() async throws(IPCError) -> [UInt8]? {
    switch try await awaitFrameStart(nil) {
    case nil, .endOfStream: return nil
    case .length(let length): return try await receivePayload(length: length)
    }
  }

  /// Receives the next message, suspending at most `timeout` (monotonic
  /// clock) for it to start; the async form of ``receive(timeout:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: the payload; nil if no message started within `timeout`.
  /// - Throws: ``IPCError/Code-swift.struct/brokenPipe`` at the end of the
  ///   stream, so that nil means only that nothing arrived in time;
  ///   `.cancelled` if the task is cancelled before the message started.
  public func receive(timeout: Duration) async throws(IPCError) -> [UInt8]? {
    switch try await awaitFrameStart(timeout) {
    case nil: return nil
    case .endOfStream: throw endOfStream()
    case .length(let length): return try await receivePayload(length: length)
    }
  }

  /// Receives the next message into `buffer`, suspending until one arrives;
  /// the async form of ``receive(into:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil at a clean
  ///   end of stream.
  /// - Throws: `.cancelled` if the task is cancelled before the message
  ///   started; otherwise what ``receive(into:)`` throws (`.tooBig` keeps the
  ///   message in the error's payload).
  public func receive(into buffer: UnsafeMutableRawBufferPointer) async throws(IPCError) -> Int? {
    switch try await awaitFrameStart(nil) {
    case nil, .endOfStream: return nil
    case .length(let length): return try await receivePayload(length: length, into: buffer)
    }
  }

  /// Receives the next message into `buffer`, suspending at most `timeout`
  /// for it to start; the async form of ``receive(into:timeout:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil if no
  ///   message started within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.cancelled` if the
  ///   task is cancelled before the message started.
  public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) async throws(IPCError)
    -> Int?
  {
    switch try await awaitFrameStart(timeout) {
    case nil: return nil
    case .endOfStream: throw endOfStream()
    case .length(let length): return try await receivePayload(length: length, into: buffer)
    }
  }

  /// Receives the next message and decodes it as a `T` with `coder` (JSON by
  /// default), suspending until one arrives; the async form of
  /// ``receive(_:coder:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: the value, or nil at a clean end of stream.
  /// - Throws: `.cancelled` if the task is cancelled before the message
  ///   started; `.badMessage` if the payload does not decode (kept in the
  ///   error's ``IPCError/payload``).
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> T? {
    guard let bytes = try await receive() else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }

  /// Receives the next message and decodes it as a `T` with `coder`,
  /// suspending at most `timeout` for it to start; the async form of
  /// ``receive(_:coder:timeout:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: the value; nil if no message started within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.cancelled` if the
  ///   task is cancelled before the message started; `.badMessage` if the
  ///   payload does not decode.
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder(), timeout: Duration
  ) async throws(IPCError) -> T? {
    guard let bytes = try await receive(timeout: timeout) else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }

  // MARK: Internals

  /// Suspends until a frame starts (at most `timeout`; nil: no limit), then
  /// reads the rest of its header whatever happens to the task; nil if
  /// nothing arrived in time.
  private func awaitFrameStart(_ timeout: Duration?) async throws(IPCError) -> FrameStart? {
    var header: UInt32 = 0
    let first = try await awaitingRead(timeout) { fd throws(IPCError) -> Int? in
      try tryReadHeader(&header, from: fd)
    }
    guard let first else { return nil }
    guard first > 0 else { return .endOfStream }
    var count = first
    if count < Self.headerSize {
      // Rare: the header arrived split. Its rest must be read, cancelled or not.
      let rest = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.headerSize - count, alignment: 1)
      defer { rest.deallocate() }
      let more = try await fillCompleting(rest)
      withUnsafeMutableBytes(of: &header) { buffer in
        buffer[count..<(count + more)].copyBytes(from: rest[..<more])
      }
      count += more
    }
    return .length(try checkedLength(header, count: count))
  }

  /// Reads the payload of a frame whose header announced `length` bytes.
  private func receivePayload(length: Int) async throws(IPCError) -> [UInt8] {
    var bytes: [UInt8] = []
    // Grown as bytes arrive (64 KiB, then doubling), as the blocking form does.
    while bytes.count < length {
      let start = bytes.count
      let chunk = min(length - start, max(start, 64 * 1024))
      bytes.append(contentsOf: repeatElement(0, count: chunk))
      var got = 0
      while got < chunk {
        let fd = try descriptor(for: .reading)
        let range = (start + got)..<(start + chunk)
        let result = bytes.withUnsafeMutableBytes { buffer in
          Result { () throws(IPCError) in
            try tryReadSome(UnsafeMutableRawBufferPointer(rebasing: buffer[range]), from: fd)
          }
        }
        guard let count = try result.get() else {
          try await awaitReadableIgnoringCancellation()
          continue
        }
        guard count > 0 else {
          bytes.removeLast(chunk - got)
          throw endedInside(count: bytes.count, length: length, payload: bytes)
        }
        got += count
      }
    }
    return bytes
  }

  /// Reads the payload of a frame whose header announced `length` bytes into
  /// `buffer`, or into the error if it does not fit.
  private func receivePayload(length: Int, into buffer: UnsafeMutableRawBufferPointer) async throws(IPCError)
    -> Int
  {
    guard length <= buffer.count else {
      throw tooBig(length: length, buffer: buffer, payload: try await receivePayload(length: length))
    }
    let count = try await fillCompleting(UnsafeMutableRawBufferPointer(rebasing: buffer[..<length]))
    guard count == length else {
      throw endedInside(count: count, length: length, payload: Array(buffer[..<count]))
    }
    return length
  }

  /// Reads until `buffer` is full or the stream ends, whatever happens to the
  /// task; returns how many bytes arrived.
  private func fillCompleting(_ buffer: UnsafeMutableRawBufferPointer) async throws(IPCError) -> Int {
    var filled = 0
    while filled < buffer.count {
      let fd = try descriptor(for: .reading)
      guard let count = try tryReadSome(UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), from: fd)
      else {
        try await awaitReadableIgnoringCancellation()
        continue
      }
      if count == 0 { break }
      filled += count
    }
    return filled
  }
}
