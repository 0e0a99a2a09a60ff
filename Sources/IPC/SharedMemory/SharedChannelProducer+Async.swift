import CIPCShims
import Glibc

// The channel sleeps on a futex word in the region, and no descriptor can
// poll a futex: so, as for every wait without a descriptor (msgrcv, semop,
// sem_wait), an async send tries at once on the caller's thread (no hop
// while the ring has room, so a busy stream costs what the blocking form
// does) and only a send that must wait hands the wait to one of the
// library's waiting threads (WaitThreads) and suspends. That thread only
// waits for room (`cipc_channel_reserve` with no buffer, which changes
// nothing); the copy or the loan's `fill` runs back on the caller, so the
// endpoint stays with its task. Cancelling the task interrupts the futex
// sleep (the wake signal, EINTR) and ends the wait with nothing published.
// Spinning and then polling with `Task.sleep` was not chosen: a message
// would wait for the end of a sleep (latency grows with the backoff), and
// an idle wait would still cost a wake-up per backoff step.

extension SharedChannelProducer {
  /// Sends `message`, suspending the task (not its thread) while the ring is
  /// full: the async form of the blocking `send(_:)` of a buffer.
  ///
  /// The corresponding C calls are `cipc_channel_send` with no wait on the
  /// caller's thread, then, if the ring is full, `cipc_channel_reserve` (a
  /// short spin, then `futex` waits) on one of the library's waiting threads
  /// (one pending call holds one thread), and `cipc_channel_send` again.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before the message went
  ///   in (nothing sent); otherwise as the blocking form.
  public nonisolated(nonsending) func send(_ message: UnsafeRawBufferPointer) async throws(IPCError) {
    _ = try await send(message, deadline: nil, operation: "send")
  }

  /// Sends `message` (any sequence of bytes), suspending the task while the
  /// ring is full: the async form of ``send(_:)-(Bytes)``. See
  /// the async `send(_:)` of a buffer for the calls and errors.
  public nonisolated(nonsending) func send<Bytes: Sequence<UInt8>>(_ message: Bytes) async throws(IPCError) {
    _ = try await send(message, deadline: nil)
  }

  /// Sends `message`, suspending the task at most `timeout` (monotonic
  /// clock, from this call) for room: false (nothing sent) if none came in
  /// time. The async form of ``send(_:timeout:)``; see
  /// the async `send(_:)` of a buffer for the calls and errors.
  public nonisolated(nonsending) func send<Bytes: Sequence<UInt8>>(_ message: Bytes, timeout: Duration)
    async throws(IPCError) -> Bool
  {
    try await send(message, deadline: MonotonicDeadline(after: timeout))
  }

  /// Encodes `value` with `coder` and sends it, suspending the task while the
  /// ring is full: the async form of ``send(_:coder:)``.
  @_disfavoredOverload
  public nonisolated(nonsending) func send<T: Encodable, Coder: MessageCoder>(
    _ value: T, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) {
    try await send(try coder.encodeMessage(value))
  }

  /// The loan (``send(reservingUpTo:_:)-2prqz``), suspending the task (not its
  /// thread) while the ring is full. `fill` runs on the caller's task once
  /// there is room, and its bytes are published as by the blocking form.
  ///
  /// The corresponding C calls are `cipc_channel_reserve` with no wait on
  /// the caller's thread, then, if the ring is full, `cipc_channel_reserve`
  /// waiting on one of the library's waiting threads (one pending call holds
  /// one thread), and `cipc_channel_commit`.
  ///
  /// - Returns: the bytes published (0: nothing was).
  /// - Throws: `.cancelled` if the task is cancelled before `fill` ran
  ///   (nothing published); otherwise as the blocking form.
  @discardableResult
  public nonisolated(nonsending) func send(
    reservingUpTo capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int
  ) async throws -> Int {
    guard let sent = try await loan(capacity, deadline: nil, fill) else {
      throw IPCError(code: .timedOut, operation: "send", object: description)  // not without a deadline
    }
    return sent
  }

  /// The async loan, suspending the task at most `timeout` (monotonic clock)
  /// for room: nil if none came in time (and `fill` did not run). The async
  /// form of ``send(reservingUpTo:timeout:_:)``.
  ///
  /// - Throws: as ``send(reservingUpTo:_:)-7nzil``.
  public nonisolated(nonsending) func send(
    reservingUpTo capacity: Int, timeout: Duration, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int
  ) async throws -> Int? {
    try await loan(capacity, deadline: MonotonicDeadline(after: timeout), fill)
  }

  // MARK: Waiting

  private nonisolated(nonsending) func send<Bytes: Sequence<UInt8>>(
    _ message: Bytes, deadline: MonotonicDeadline?
  ) async throws(IPCError) -> Bool {
    guard !Task.isCancelled else { throw IPCError.cancelled("send", object: description) }
    while true {
      if try trySend(message) { return true }
      let count = try withContiguousBytes(message) { (bytes) throws(IPCError) in bytes.count }
      guard try await roomAwaited(for: count, deadline: deadline, operation: "send") else { return false }
    }
  }

  private nonisolated(nonsending) func send(
    _ message: UnsafeRawBufferPointer, deadline: MonotonicDeadline?, operation: String
  ) async throws(IPCError) -> Bool {
    guard !Task.isCancelled else { throw IPCError.cancelled(operation, object: description) }
    while true {
      if try send(message, timeout: .zero, operation: operation) { return true }
      guard try await roomAwaited(for: message.count, deadline: deadline, operation: operation) else {
        return false
      }
    }
  }

  private nonisolated(nonsending) func loan(
    _ capacity: Int, deadline: MonotonicDeadline?, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int
  ) async throws -> Int? {
    guard !Task.isCancelled else { throw IPCError.cancelled("send", object: description) }
    while true {
      if let room = try reserve(capacity, timeout: .zero, operation: "send") {
        return try commit(room, operation: "send", fill)
      }
      guard try await roomAwaited(for: capacity, deadline: deadline, operation: "send") else { return nil }
    }
  }

  /// Suspends until the ring has room for a message of `count` bytes, the
  /// wait running on one of the library's waiting threads: true then; false
  /// once `deadline` passed. The region is entered for the wait, so a
  /// ``close()`` meanwhile cannot unmap what that thread reads.
  private nonisolated(nonsending) func roomAwaited(
    for count: Int, deadline: MonotonicDeadline?, operation: String
  ) async throws(IPCError) -> Bool {
    let place = self.place
    let status = try await SharedChannel.awaitingWait(
      in: region, operation: operation, object: description, deadline: deadline
    ) { nanoseconds in cipc_channel_reserve(place.base, place.slot, count, nanoseconds, nil) }
    return try outcome(status, count: count, operation: operation)
  }
}
