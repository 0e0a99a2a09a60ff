import Glibc

/// The async forms of the message receives. Each one takes what has arrived
/// with reads that never wait (see PipeEnd+NonBlocking.swift; the
/// descriptor's `O_NONBLOCK` flag is left alone) and, while nothing is there,
/// waits on the library's poll thread: one pending call costs one poll entry,
/// no thread. No thread of Swift's cooperative pool ever blocks in the kernel.
///
/// **Cancellation** is honoured at any point: the call ends with
/// ``IPCError/Code-swift.struct/cancelled``, and nothing is lost. A message
/// not yet begun stays in the pipe; the part of one that arrived is kept by
/// the end, and the next receive (of any form) goes on from it, so the
/// stream stays in step. A timeout likewise ends the call with nil when the
/// message has not arrived whole, keeping its part.
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
    try await awaitFrame(nil, throwAtEnd: false)
  }

  /// Receives the next message, suspending at most `timeout` (monotonic
  /// clock) for it to start; the async form of ``receive(timeout:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: the payload; nil if no whole message arrived within `timeout`.
  /// - Throws: ``IPCError/Code-swift.struct/brokenPipe`` at the end of the
  ///   stream, so that nil means only that nothing arrived in time;
  ///   `.cancelled` if the task is cancelled (the part of a message that arrived is kept).
  public func receive(timeout: Duration) async throws(IPCError) -> [UInt8]? {
    try await awaitFrame(timeout, throwAtEnd: true)
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
    try await awaitFrame(into: buffer, nil, throwAtEnd: false)
  }

  /// Receives the next message into `buffer`, suspending at most `timeout`
  /// for it to start; the async form of ``receive(into:timeout:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: how many bytes of `buffer` hold the payload; nil if no
  ///   whole message arrived within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.cancelled` if the
  ///   task is cancelled (the part of a message that arrived is kept).
  public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) async throws(IPCError)
    -> Int?
  {
    try await awaitFrame(into: buffer, timeout, throwAtEnd: true)
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
  /// - Returns: the value; nil if no whole message arrived within `timeout`.
  /// - Throws: `.brokenPipe` at the end of the stream; `.cancelled` if the
  ///   task is cancelled (the part of a message that arrived is kept); `.badMessage` if the
  ///   payload does not decode.
  public func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder(), timeout: Duration
  ) async throws(IPCError) -> T? {
    guard let bytes = try await receive(timeout: timeout) else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: "message from \(description)")
  }
}
