import CIPCShims
import Glibc

// As for the producer (see SharedChannelProducer+Async.swift): a receive
// tries at once on the caller's thread, and only an empty channel hands the
// wait (`cipc_channel_wait_message`, which takes nothing) to one of the
// library's waiting threads while the task is suspended; the message is
// then taken, or read in place, back on the caller. A futex cannot be
// polled, so this is the library's way for waits without a descriptor;
// cancelling the task interrupts the futex sleep and ends the wait with
// nothing consumed.

extension SharedChannelConsumer {
  /// Receives the next message, suspending the task (not its thread) until
  /// one arrives: the async form of ``receive()-24pr0``.
  ///
  /// The corresponding C calls are `cipc_channel_receive` with no wait on
  /// the caller's thread, then, if the channel is empty,
  /// `cipc_channel_wait_message` (a short spin, then `futex` waits) on one of
  /// the library's waiting threads (one pending call holds one thread), and
  /// `cipc_channel_receive` again.
  ///
  /// - Returns: the message; nil at the end of the stream.
  /// - Throws: `.cancelled` if the task is cancelled first (nothing
  ///   consumed: a message that arrived meanwhile stays in the channel);
  ///   otherwise as the blocking form.
  public nonisolated(nonsending) func receive() async throws(IPCError) -> [UInt8]? {
    try await awaiting(deadline: nil) { () throws(IPCError) -> Outcome<[UInt8]> in
      switch try receiveArray(timeout: .zero) {
      case .message(let message): .value(message)
      case .nothing: .nothing
      case .ended: .ended
      }
    }
  }

  /// Receives the next message into `buffer`, suspending the task until one
  /// arrives: the async form of ``receive(into:)``. See ``receive()-8fjft``
  /// for the calls.
  ///
  /// - Returns: the number of bytes of `buffer` the message fills; nil at
  ///   the end of the stream.
  /// - Throws: as the blocking form; `.cancelled` as ``receive()-8fjft``.
  public nonisolated(nonsending) func receive(into buffer: UnsafeMutableRawBufferPointer)
    async throws(IPCError)
    -> Int?
  {
    try await awaiting(deadline: nil) { () throws(IPCError) -> Outcome<Int> in
      switch try take(into: buffer, timeout: .zero) {
      case .message(let count): return .value(count)
      case .tooLong(let length):
        throw IPCError(
          code: .tooBig, operation: "receive", object: description,
          reason: "the next message is \(length) bytes, longer than the \(buffer.count)-byte buffer;"
            + " it stays in the channel")
      case .nothing: return .nothing
      case .ended: return .ended
      }
    }
  }

  /// Receives the next message, suspending the task at most `timeout`
  /// (monotonic clock, from this call): nil if none came in time. The async
  /// form of ``receive(timeout:)``; see ``receive()-8fjft`` for the calls.
  ///
  /// - Throws: `.brokenPipe` at the end of the stream; `.cancelled` as
  ///   ``receive()-8fjft``.
  public nonisolated(nonsending) func receive(timeout: Duration) async throws(IPCError) -> [UInt8]? {
    let message = try await awaiting(deadline: MonotonicDeadline(after: timeout)) {
      () throws(IPCError) -> Outcome<[UInt8]> in
      switch try receiveArray(timeout: .zero) {
      case .message(let message): .value(message)
      case .nothing: .nothing
      case .ended: throw endOfStream("receive")
      }
    }
    return message
  }

  /// Receives the next message and decodes it as a `T` with `coder`,
  /// suspending the task until one arrives: the async form of
  /// ``receive(_:coder:)``.
  ///
  /// - Returns: the value; nil at the end of the stream.
  /// - Throws: `.badMessage` if the bytes are not a `T`; as ``receive()-8fjft``.
  public nonisolated(nonsending) func receive<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> T? {
    guard let bytes = try await receive() else { return nil }
    return try coder.decodeMessage(T.self, from: bytes, object: description)
  }

  /// Reads the next message in place (``receive(_:)-1jbg``), suspending the task
  /// (not its thread) until one arrives; `body` runs on the caller's task.
  ///
  /// The corresponding C calls are `cipc_channel_peek` with no wait on the
  /// caller's thread, then, if the channel is empty,
  /// `cipc_channel_wait_message` on one of the library's waiting threads
  /// (one pending call holds one thread), `cipc_channel_peek` again and
  /// `cipc_channel_release`.
  ///
  /// - Returns: what `body` returned; nil at the end of the stream.
  /// - Throws: `.cancelled` if the task is cancelled before `body` ran
  ///   (nothing consumed); otherwise as the blocking form.
  public nonisolated(nonsending) func receive<R>(_ body: (UnsafeRawBufferPointer) throws -> R) async throws
    -> R?
  {
    let found = try await awaiting(deadline: nil) {
      () throws(IPCError) -> Outcome<(Int32, UnsafeRawBufferPointer)> in
      switch try peek(timeout: .zero) {
      case .message(let slot, let bytes): .value((slot, bytes))
      case .nothing: .nothing
      case .ended: .ended
      }
    }
    guard let (slot, bytes) = found else { return nil }
    return try read(bytes, slot: slot, body)
  }

  /// Reads the next message in place, suspending the task at most `timeout`
  /// (monotonic clock): nil if none came in time (and `body` did not run).
  /// The async form of ``receive(timeout:_:)``; see ``receive(_:)-8tqvz`` for the calls.
  ///
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise as
  ///   ``receive(_:)-8tqvz``.
  public nonisolated(nonsending) func receive<R>(
    timeout: Duration, _ body: (UnsafeRawBufferPointer) throws -> R
  ) async throws -> R? {
    let found = try await awaiting(deadline: MonotonicDeadline(after: timeout)) {
      () throws(IPCError) -> Outcome<(Int32, UnsafeRawBufferPointer)> in
      switch try peek(timeout: .zero) {
      case .message(let slot, let bytes): .value((slot, bytes))
      case .nothing: .nothing
      case .ended: throw endOfStream("receive")
      }
    }
    guard let (slot, bytes) = found else { return nil }
    return try read(bytes, slot: slot, body)
  }

  // MARK: Waiting

  /// What one try gave.
  enum Outcome<Value> {
    case value(Value)
    case nothing
    case ended
  }

  /// Checks for cancellation, then tries `attempt` and, while it finds
  /// nothing, suspends on ``messageAwaited(deadline:)`` and tries again.
  /// Nil at the end of the stream or once `deadline` passed.
  private nonisolated(nonsending) func awaiting<Value>(
    deadline: MonotonicDeadline?, _ attempt: () throws(IPCError) -> Outcome<Value>
  ) async throws(IPCError) -> Value? {
    guard !Task.isCancelled else { throw IPCError.cancelled("receive", object: description) }
    while true {
      switch try attempt() {
      case .value(let value): return value
      case .ended: return nil
      case .nothing:
        guard try await messageAwaited(deadline: deadline) else { return nil }
      }
    }
  }

  /// Suspends until a message is there (or the stream ended), the wait
  /// running on one of the library's waiting threads: true then; false once
  /// `deadline` passed. The region is entered for the wait, so a ``close()``
  /// meanwhile cannot unmap what that thread reads.
  private nonisolated(nonsending) func messageAwaited(deadline: MonotonicDeadline?) async throws(IPCError)
    -> Bool
  {
    let place = self.place
    let status = try await SharedChannel.awaitingWait(
      in: region, operation: "receive", object: description, deadline: deadline
    ) { nanoseconds in cipc_channel_wait_message(place.base, nanoseconds) }
    switch status {
    case 0, -EPIPE: return true
    case -EAGAIN: return false
    case -ECANCELED: throw IPCError.cancelled("receive", object: description)
    default: throw IPCError(code: IPCError.Code(rawValue: -status), operation: "receive", object: description)
    }
  }
}
