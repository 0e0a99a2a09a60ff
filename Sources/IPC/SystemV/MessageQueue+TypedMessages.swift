extension SystemV.MessageQueue {
  /// The messages of type `M.messageType`, decoded with `coder` (JSON by
  /// default), as they arrive, as an `AsyncSequence`:
  ///
  ///     for try await order in queue.messages(of: OrderPlaced.self) {
  ///       print(order)
  ///     }
  ///
  /// Each message is taken as the async `receive(_:coder:)` takes it:
  /// `msgrcv(..., IPC_NOWAIT)` on the caller's thread, and while none
  /// qualifies, `msgrcv` on one of the library's waiting threads (one pending
  /// iterator holds one thread). Messages of other types stay in the queue.
  /// The sequence ends (returns nil) when the task is cancelled, consuming
  /// nothing, and throws if a receive fails, or `.badMessage` for bytes that
  /// do not decode (the error's ``IPCError/payload`` holds them).
  public func messages<M: TypedMessage, Coder: MessageCoder>(
    of type: M.Type, coder: Coder = JSONMessageCoder()
  ) -> TypedMessages<M, Coder> {
    TypedMessages(queue: self, coder: coder)
  }

  /// An `AsyncSequence` of the decoded messages of one ``TypedMessage`` type;
  /// see ``SystemV/MessageQueue/messages(of:coder:)``.
  public struct TypedMessages<M: TypedMessage, Coder: MessageCoder>: AsyncSequence, Sendable {
    /// Each element is one received, decoded message.
    public typealias Element = M
    /// Receiving or decoding fails with an ``IPCError``.
    public typealias Failure = IPCError

    let queue: SystemV.MessageQueue
    let coder: Coder

    /// Creates an iterator over the queue's messages of type `M.messageType`.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: queue, coder: coder) }

    /// Receives and decodes the messages one by one; see
    /// ``SystemV/MessageQueue/messages(of:coder:)``.
    public struct AsyncIterator: AsyncIteratorProtocol {
      let queue: SystemV.MessageQueue
      let coder: Coder

      /// The next message, waiting without blocking a thread of the
      /// cooperative pool; nil once the task is cancelled.
      public mutating func next() async throws(IPCError) -> M? {
        try await next(isolation: nil)
      }

      /// The next message, as ``next()``, for callers isolated to `actor`.
      public mutating func next(isolation actor: isolated (any Actor)?) async throws(IPCError) -> M? {
        do {
          return try await queue.receive(M.self, coder: coder)
        } catch {
          // Cancelled before a message was taken: the sequence ends.
          guard error.code == .cancelled else { throw error }
          return nil
        }
      }
    }
  }
}
