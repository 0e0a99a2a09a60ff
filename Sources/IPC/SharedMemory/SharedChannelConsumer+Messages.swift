extension SharedChannelConsumer {
  /// The channel's messages as they arrive, as an `AsyncSequence`:
  ///
  ///     for try await message in consumer.messages() {
  ///       print(message.count)
  ///     }
  ///
  /// Each element is what the async ``receive()-8fjft`` returns: a
  /// non-blocking receive first (`cipc_channel_receive` with no wait), and
  /// while the channel is empty the wait (`cipc_channel_wait_message`) runs on
  /// one of the library's waiting threads, never on a thread of the
  /// cooperative pool. The sequence ends (returns nil) at the end of the
  /// stream (every producer gone, every message read) and when the task is
  /// cancelled, consuming nothing; it throws if the consumer is closed. Like
  /// the consumer, the sequence stays with the task that iterates it.
  public func messages() -> Messages { Messages(consumer: self) }

  /// An `AsyncSequence` of a channel's messages; see ``messages()``.
  public struct Messages: AsyncSequence {
    /// Each element is one message's bytes.
    public typealias Element = [UInt8]
    /// Receiving fails with an ``IPCError``.
    public typealias Failure = IPCError

    let consumer: SharedChannelConsumer

    /// Creates an iterator over the channel's messages.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }

    /// Receives the messages one by one; see ``SharedChannelConsumer/messages()``.
    public struct AsyncIterator: AsyncIteratorProtocol {
      let consumer: SharedChannelConsumer

      /// The next message, waiting without blocking a thread; nil at the end
      /// of the stream or once the task is cancelled.
      public mutating func next() async throws(IPCError) -> [UInt8]? {
        try await Self.next(from: consumer)
      }

      /// The next message, as ``next()``, for callers isolated to `actor`.
      public mutating func next(isolation actor: isolated (any Actor)?) async throws(IPCError) -> [UInt8]? {
        try await Self.next(from: consumer)
      }

      /// The async receive, with cancellation as the end.
      private nonisolated(nonsending) static func next(from consumer: SharedChannelConsumer)
        async throws(IPCError) -> [UInt8]?
      {
        do throws(IPCError) {
          return try await consumer.receive()
        } catch {
          guard error.code == .cancelled else { throw error }
          return nil
        }
      }
    }
  }
}
