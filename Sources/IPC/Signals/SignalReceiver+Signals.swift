extension SignalReceiver {
  /// The signals as they arrive, as an `AsyncSequence`:
  ///
  ///     for try await received in receiver.signals() {
  ///       if received.signal == .terminate { break }
  ///     }
  ///
  /// Each element is what the async ``wait()-3ryj0`` returns: while none is
  /// pending the task waits for the signalfd on the library's poll thread,
  /// never blocking a thread of the cooperative pool. The sequence ends
  /// (returns nil) when the task is cancelled, consuming nothing, and throws
  /// if the receiver is closed.
  public func signals() -> Signals { Signals(receiver: self) }

  /// An `AsyncSequence` of received signals; see ``signals()``.
  public struct Signals: AsyncSequence, Sendable {
    /// Each element is one received signal.
    public typealias Element = ReceivedSignal
    /// Receiving fails with an ``IPCError``.
    public typealias Failure = IPCError

    let receiver: SignalReceiver

    /// Creates an iterator over the received signals.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(receiver: receiver) }

    /// Takes the signals one by one; see ``SignalReceiver/signals()``.
    public struct AsyncIterator: AsyncIteratorProtocol {
      let receiver: SignalReceiver

      /// The next signal, waiting without blocking a thread; nil once the
      /// task is cancelled.
      public mutating func next() async throws(IPCError) -> ReceivedSignal? {
        try await Self.next(from: receiver)
      }

      /// The next signal, as ``next()``, for callers isolated to `actor`.
      public mutating func next(isolation actor: isolated (any Actor)?) async throws(IPCError)
        -> ReceivedSignal?
      {
        try await Self.next(from: receiver)
      }

      private static func next(from receiver: SignalReceiver) async throws(IPCError) -> ReceivedSignal? {
        do throws(IPCError) {
          return try await receiver.awaitingSignal(nil)
        } catch {
          guard error.code == .cancelled else { throw error }
          return nil
        }
      }
    }
  }
}
