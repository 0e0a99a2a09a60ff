extension PipeEnd {
  /// The messages (frames) of this end as they arrive, as an `AsyncSequence`:
  ///
  ///     for try await message in reader.messages() {
  ///       print(message.count)
  ///     }
  ///
  /// Each message is taken as `receive()` (async) takes it: with reads that
  /// never wait, suspending on the library's poll thread while the pipe is
  /// empty (one pending iterator costs one poll entry, no thread). The
  /// sequence ends (returns nil) at the end of the stream and when the task is
  /// cancelled (a message not begun stays in the pipe; the part of one that
  /// arrived is kept for the next receive). It throws
  /// what `receive()` throws: a stream that ends inside a message, a closed
  /// end. Works on every end that reads: anonymous, duplex and named pipes.
  public func messages() -> Messages { Messages(end: self) }

  /// An `AsyncSequence` of the messages of a pipe end; see ``messages()``.
  public struct Messages: AsyncSequence, Sendable {
    /// Each element is one message's payload.
    public typealias Element = [UInt8]
    /// Receiving fails with an ``IPCError``.
    public typealias Failure = IPCError

    let end: PipeEnd

    /// Creates an iterator over the end's messages.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(end: end) }

    /// Receives the messages one by one; see ``PipeEnd/messages()``.
    public struct AsyncIterator: AsyncIteratorProtocol {
      let end: PipeEnd

      /// The next message, waiting without blocking a thread; nil at the end
      /// of the stream or once the task is cancelled.
      public mutating func next() async throws(IPCError) -> [UInt8]? {
        try await end.nextMessage()
      }

      /// The next message, as ``next()``, for callers isolated to `actor`.
      public mutating func next(isolation actor: isolated (any Actor)?) async throws(IPCError) -> [UInt8]? {
        try await end.nextMessage()
      }
    }
  }

  /// The next message for an iterator: nil at the end of the stream and on cancellation.
  func nextMessage() async throws(IPCError) -> [UInt8]? {
    do {
      return try await receive()
    } catch {
      guard error.code == .cancelled else { throw error }
      return nil
    }
  }
}
