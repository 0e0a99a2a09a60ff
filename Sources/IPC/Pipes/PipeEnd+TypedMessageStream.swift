extension PipeEnd {
  /// The messages of this end decoded as `T` with `coder` (JSON by default),
  /// as an `AsyncSequence`:
  ///
  ///     for try await job in reader.messages(of: Job.self) {
  ///       print(job.id)
  ///     }
  ///
  /// Each message is taken as ``messages()`` takes it (suspending on the
  /// library's poll thread; one pending iterator costs one poll entry, no
  /// thread) and decoded as `receive(_:coder:)` decodes it. The sequence
  /// ends at the end of the stream and when the task is cancelled (nothing
  /// is lost, as for ``messages()``); it throws `.badMessage` for a payload that does not
  /// decode (kept in the error's ``IPCError/payload``; the next iteration
  /// reads the next message).
  public func messages<T: Decodable, Coder: MessageCoder>(
    of type: T.Type, coder: Coder = JSONMessageCoder()
  ) -> TypedMessages<T, Coder> {
    TypedMessages(end: self, coder: coder)
  }

  /// An `AsyncSequence` of the decoded messages of a pipe end; see
  /// ``messages(of:coder:)``.
  public struct TypedMessages<T: Decodable, Coder: MessageCoder>: AsyncSequence, Sendable {
    /// Each element is one decoded message.
    public typealias Element = T
    /// Receiving or decoding fails with an ``IPCError``.
    public typealias Failure = IPCError

    let end: PipeEnd
    let coder: Coder

    /// Creates an iterator over the end's decoded messages.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(end: end, coder: coder) }

    /// Receives and decodes the messages one by one; see ``PipeEnd/messages(of:coder:)``.
    public struct AsyncIterator: AsyncIteratorProtocol {
      let end: PipeEnd
      let coder: Coder

      /// The next decoded message, waiting without blocking a thread; nil at
      /// the end of the stream or once the task is cancelled.
      public mutating func next() async throws(IPCError) -> T? {
        try await decoded(end.nextMessage())
      }

      /// The next decoded message, as ``next()``, for callers isolated to `actor`.
      public mutating func next(isolation actor: isolated (any Actor)?) async throws(IPCError) -> T? {
        try await decoded(end.nextMessage())
      }

      private func decoded(_ bytes: [UInt8]?) throws(IPCError) -> T? {
        guard let bytes else { return nil }
        return try coder.decodeMessage(T.self, from: bytes, object: "message from \(end.description)")
      }
    }
  }
}
