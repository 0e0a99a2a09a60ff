extension SystemV.MessageQueue {
  /// The messages `selector` admits as they arrive, as an `AsyncSequence`:
  ///
  ///     for try await message in queue.messages(.type(2)) {
  ///       print(message.type, message.text)
  ///     }
  ///
  /// Each message is taken as the async `receive(_:truncating:)` takes it:
  /// `msgrcv(..., IPC_NOWAIT)` on the caller's thread, and while none
  /// qualifies, `msgrcv` on one of the library's waiting threads (one pending
  /// iterator holds one thread, never one of the cooperative pool). The
  /// sequence ends (returns nil) when the task is cancelled, consuming
  /// nothing, and throws if a receive fails (`.removed` if the queue is
  /// removed while it waits). Several iterators, in this or other processes,
  /// share the messages: each goes to one of them.
  public func messages(_ selector: Selector = .any, truncating: Bool = false) -> Messages {
    Messages(queue: self, selector: selector, truncating: truncating)
  }

  /// An `AsyncSequence` of the messages of a System V queue that a selector
  /// admits; see ``SystemV/MessageQueue/messages(_:truncating:)``.
  public struct Messages: AsyncSequence, Sendable {
    /// Each element is one received message.
    public typealias Element = SystemV.Message
    /// Receiving fails with an ``IPCError``.
    public typealias Failure = IPCError

    let queue: SystemV.MessageQueue
    let selector: Selector
    let truncating: Bool

    /// Creates an iterator over the queue's messages.
    public func makeAsyncIterator() -> AsyncIterator {
      AsyncIterator(queue: queue, selector: selector, truncating: truncating)
    }

    /// Receives the messages one by one; see ``SystemV/MessageQueue/messages(_:truncating:)``.
    public struct AsyncIterator: AsyncIteratorProtocol {
      let queue: SystemV.MessageQueue
      let selector: Selector
      let truncating: Bool

      /// The next message, waiting without blocking a thread of the
      /// cooperative pool; nil once the task is cancelled.
      public mutating func next() async throws(IPCError) -> SystemV.Message? {
        try await next(isolation: nil)
      }

      /// The next message, as ``next()``, for callers isolated to `actor`.
      public mutating func next(isolation actor: isolated (any Actor)?) async throws(IPCError)
        -> SystemV.Message?
      {
        do {
          return try await queue.receive(selector, truncating: truncating)
        } catch {
          // Cancelled before a message was taken: the sequence ends.
          guard error.code == .cancelled else { throw error }
          return nil
        }
      }
    }
  }
}
