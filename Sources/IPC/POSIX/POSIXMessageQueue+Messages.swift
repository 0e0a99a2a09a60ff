extension POSIX.MessageQueue {
  /// The messages of this queue as they arrive, as an `AsyncSequence`:
  ///
  ///     for try await message in queue.messages() {
  ///       print(message.priority, message.text)
  ///     }
  ///
  /// Each element is what the async ``receive()-6mzf4`` returns: a non-blocking
  /// receive first, and while the queue is empty the task waits for its
  /// descriptor to become readable on the library's poll thread, never
  /// blocking a thread of the cooperative pool. The sequence ends (returns
  /// nil) when the task is cancelled, consuming nothing, and throws if the
  /// queue is closed or a receive fails. Several iterators, in this or other
  /// processes, share the messages: each goes to one of them.
  public func messages() -> Messages { Messages(queue: self) }

  /// An `AsyncSequence` of the messages of a queue; see ``messages()``.
  public struct Messages: AsyncSequence, Sendable {
    /// Each element is one received message.
    public typealias Element = POSIX.Message
    /// Receiving fails with an ``IPCError``.
    public typealias Failure = IPCError

    let queue: POSIX.MessageQueue

    /// Creates an iterator over the queue's messages.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: queue) }

    /// Receives the messages one by one; see ``POSIX/MessageQueue/messages()``.
    public struct AsyncIterator: AsyncIteratorProtocol {
      let queue: POSIX.MessageQueue

      /// The next message, waiting without blocking a thread; nil once the
      /// task is cancelled.
      public mutating func next() async throws(IPCError) -> POSIX.Message? {
        try await Self.next(from: queue)
      }

      /// The next message, as ``next()``, for callers isolated to `actor`.
      public mutating func next(isolation actor: isolated (any Actor)?) async throws(IPCError)
        -> POSIX.Message?
      {
        try await Self.next(from: queue)
      }

      /// The async ``POSIX/MessageQueue/receive()``, with cancellation as the end.
      private static func next(from queue: POSIX.MessageQueue) async throws(IPCError) -> POSIX.Message? {
        do throws(IPCError) {
          return try await queue.awaitingReceive(nil) { () throws(IPCError) in try queue.tryReceive() }
        } catch {
          guard error.code == .cancelled else { throw error }
          return nil
        }
      }
    }
  }
}
