import Glibc

/// The async forms of the queue's blocking and timed sends and receives.
///
/// System V queues give no descriptor to poll, so each form first tries the
/// non-blocking call on the caller's thread (a message or free space already
/// there is used with no thread hop), and only then runs the blocking form on
/// one of the library's waiting threads: one pending call holds one thread,
/// never a thread of Swift's cooperative pool. Cancelling the task ends the
/// wait promptly with `IPCError.Code.cancelled` and consumes (or sends)
/// nothing; a message that arrives as the cancel happens is either returned
/// or left in the queue, never dropped.
extension SystemV.MessageQueue {
  // MARK: Receiving

  /// Receives the first message `selector` admits, suspending until there is one.
  ///
  /// The corresponding C calls are `msgrcv(..., IPC_NOWAIT)` on the caller's
  /// thread, then `msgrcv` on one of the library's waiting threads: one
  /// pending call holds one thread.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before a message is
  ///   taken (nothing consumed); `.removed` if the queue is removed while
  ///   waiting; `.invalidArgument` for a selector type below 1.
  public func receive(_ selector: Selector = .any, truncating: Bool = false) async throws(IPCError)
    -> SystemV.Message
  {
    try await WaitThreads.attempt(cancelled: cancelled("msgrcv")) { () throws(IPCError) in
      try tryReceive(selector, truncating: truncating)
    } orWait: { () throws(IPCError) in
      try receive(selector, truncating: truncating)
    }
  }

  /// Receives the first message `selector` admits, waiting at most `timeout`
  /// on the monotonic clock, as the blocking `receive(_:timeout:truncating:)` does.
  ///
  /// The corresponding C call is `msgrcv(..., IPC_NOWAIT)`, tried on the
  /// caller's thread, then repeated (polling) on one of the library's waiting
  /// threads: one pending call holds one thread.
  ///
  /// - Returns: nil, with nothing consumed, if the timeout expired.
  /// - Throws: `.cancelled` if the task is cancelled first (nothing consumed).
  public func receive(
    _ selector: Selector = .any, timeout: Duration, truncating: Bool = false
  ) async throws(IPCError) -> SystemV.Message? {
    let deadline = MonotonicDeadline(after: timeout)
    return try await WaitThreads.attempt(cancelled: cancelled("msgrcv")) {
      () throws(IPCError) -> SystemV.Message?? in
      if let message = try tryReceive(selector, truncating: truncating) { return message }
      // Expired already (a zero timeout is one try): no hop.
      return deadline.timeLeft <= .zero ? .some(nil) : nil
    } orWait: { () throws(IPCError) in
      try receive(selector, timeout: deadline.timeLeft, truncating: truncating)
    }
  }

  /// Receives the first message `selector` admits into `buffer`, suspending
  /// until there is one.
  ///
  /// The corresponding C calls are `msgrcv(..., IPC_NOWAIT)` on the caller's
  /// thread, then `msgrcv` on one of the library's waiting threads (which
  /// writes into `buffer`): one pending call holds one thread.
  ///
  /// - Returns: the message type and how many bytes of `buffer` hold its text.
  /// - Throws: `.tooBig` if the message is longer than `buffer` and
  ///   `truncating` is false (it stays in the queue); `.cancelled` if the task
  ///   is cancelled first (nothing consumed, `buffer` untouched).
  public func receive(
    _ selector: Selector = .any, into buffer: UnsafeMutableRawBufferPointer,
    truncating: Bool = false
  ) async throws(IPCError) -> (type: Int, count: Int) {
    let handoff = BufferHandoff(buffer: buffer)
    let received = try await WaitThreads.attempt(cancelled: cancelled("msgrcv")) {
      () throws(IPCError) -> Received? in
      try tryReceive(selector, into: buffer, truncating: truncating).map(Received.init)
    } orWait: { () throws(IPCError) in
      Received(try receive(selector, into: handoff.buffer, truncating: truncating))
    }
    return (received.type, received.count)
  }

  /// Receives the first message `selector` admits into `buffer`, waiting at
  /// most `timeout` on the monotonic clock.
  ///
  /// The corresponding C call is `msgrcv(..., IPC_NOWAIT)`, tried on the
  /// caller's thread, then repeated (polling) on one of the library's waiting
  /// threads: one pending call holds one thread.
  ///
  /// - Returns: nil, with nothing consumed, if the timeout expired.
  /// - Throws: `.cancelled` if the task is cancelled first (nothing consumed).
  public func receive(
    _ selector: Selector = .any, into buffer: UnsafeMutableRawBufferPointer, timeout: Duration,
    truncating: Bool = false
  ) async throws(IPCError) -> (type: Int, count: Int)? {
    let deadline = MonotonicDeadline(after: timeout)
    let handoff = BufferHandoff(buffer: buffer)
    let received = try await WaitThreads.attempt(cancelled: cancelled("msgrcv")) {
      () throws(IPCError) -> Received?? in
      if let received = try tryReceive(selector, into: buffer, truncating: truncating) {
        return Received(received)
      }
      return deadline.timeLeft <= .zero ? .some(nil) : nil
    } orWait: { () throws(IPCError) in
      try receive(selector, into: handoff.buffer, timeout: deadline.timeLeft, truncating: truncating)
        .map(Received.init)
    }
    return received.map { ($0.type, $0.count) }
  }

  /// Receives the oldest message of type `M.messageType` and decodes it,
  /// suspending until there is one. Messages of other types stay in the queue.
  ///
  /// The corresponding C calls are those of `receive(_:truncating:)`:
  /// `msgrcv(..., IPC_NOWAIT)`, then `msgrcv` on one of the library's
  /// waiting threads (one pending call holds one thread).
  ///
  /// - Throws: `.badMessage` if the bytes do not decode (the error's
  ///   ``IPCError/payload`` and ``IPCError/messageType`` hold the message);
  ///   `.cancelled` if the task is cancelled first (nothing consumed).
  public func receive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> M {
    try await receive(.type(M.messageType)).decode(M.self, coder: coder)
  }

  /// Receives and decodes the oldest message of type `M.messageType`, waiting
  /// at most `timeout`; nil, with nothing consumed, if it expired.
  ///
  /// The corresponding C call is `msgrcv(..., IPC_NOWAIT)`, repeated
  /// (polling) on one of the library's waiting threads after a first try on
  /// the caller's: one pending call holds one thread.
  public func receive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, timeout: Duration, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> M? {
    try await receive(.type(M.messageType), timeout: timeout)?.decode(M.self, coder: coder)
  }

  // MARK: Sending

  /// Sends `bytes` as one message of type `type`, suspending while the queue is full.
  ///
  /// The corresponding C calls are `msgsnd(..., IPC_NOWAIT)` on the caller's
  /// thread, then `msgsnd` on one of the library's waiting threads: one
  /// pending call holds one thread.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before the message is
  ///   queued (nothing sent); the errors of `send(_:type:)`.
  public func send(_ bytes: UnsafeRawBufferPointer, type: Int) async throws(IPCError) {
    let handoff = BytesHandoff(bytes: bytes)
    try await WaitThreads.attempt(cancelled: cancelled("msgsnd")) { () throws(IPCError) -> Void? in
      try trySend(bytes, type: type) ? () : nil
    } orWait: { () throws(IPCError) in
      try send(handoff.bytes, type: type)
    }
  }

  /// Sends `bytes` (any sequence of bytes) as one message of type `type`,
  /// suspending while the queue is full.
  ///
  /// The corresponding C calls are `msgsnd(..., IPC_NOWAIT)` on the caller's
  /// thread, then `msgsnd` on one of the library's waiting threads: one
  /// pending call holds one thread.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before the message is
  ///   queued (nothing sent).
  public func send<Bytes: Sequence<UInt8>>(_ bytes: Bytes, type: Int) async throws(IPCError) {
    try await sending(bytes) { (buffer) throws(IPCError) -> Void? in
      try trySend(buffer, type: type) ? () : nil
    } orWait: { (copy) throws(IPCError) in
      try send(copy, type: type)
    }
  }

  /// Sends `bytes`, waiting at most `timeout` on the monotonic clock for room
  /// in a full queue.
  ///
  /// The corresponding C call is `msgsnd(..., IPC_NOWAIT)`, tried on the
  /// caller's thread, then repeated (polling) on one of the library's waiting
  /// threads: one pending call holds one thread.
  ///
  /// - Returns: false, with the queue unchanged, if the timeout expired.
  /// - Throws: `.cancelled` if the task is cancelled first (nothing sent).
  public func send(_ bytes: UnsafeRawBufferPointer, type: Int, timeout: Duration) async throws(IPCError)
    -> Bool
  {
    let deadline = MonotonicDeadline(after: timeout)
    let handoff = BytesHandoff(bytes: bytes)
    return try await WaitThreads.attempt(cancelled: cancelled("msgsnd")) { () throws(IPCError) -> Bool? in
      try trySend(bytes, type: type) ? true : (deadline.timeLeft <= .zero ? false : nil)
    } orWait: { () throws(IPCError) in
      try send(handoff.bytes, type: type, timeout: deadline.timeLeft)
    }
  }

  /// Sends `bytes` (any sequence of bytes), waiting at most `timeout` on the
  /// monotonic clock for room in a full queue.
  ///
  /// The corresponding C call is `msgsnd(..., IPC_NOWAIT)`, tried on the
  /// caller's thread, then repeated (polling) on one of the library's waiting
  /// threads: one pending call holds one thread.
  ///
  /// - Returns: false, with the queue unchanged, if the timeout expired.
  /// - Throws: `.cancelled` if the task is cancelled first (nothing sent).
  public func send<Bytes: Sequence<UInt8>>(
    _ bytes: Bytes, type: Int, timeout: Duration
  ) async throws(IPCError) -> Bool {
    let deadline = MonotonicDeadline(after: timeout)
    return try await sending(bytes) { (buffer) throws(IPCError) -> Bool? in
      try trySend(buffer, type: type) ? true : (deadline.timeLeft <= .zero ? false : nil)
    } orWait: { (copy) throws(IPCError) in
      try send(copy, type: type, timeout: deadline.timeLeft)
    }
  }

  /// Sends `message` as one message of type `M.messageType`, encoded with
  /// `coder` (JSON by default), suspending while the queue is full.
  ///
  /// The corresponding C calls are `msgsnd(..., IPC_NOWAIT)` on the caller's
  /// thread, then `msgsnd` on one of the library's waiting threads: one
  /// pending call holds one thread.
  ///
  /// - Throws: `.invalidArgument` with operation `encode` if the value cannot
  ///   be encoded (nothing is sent); `.cancelled` if the task is cancelled
  ///   before the message is queued (nothing sent).
  public func send<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) {
    try await send(encode(message, coder: coder), type: M.messageType)
  }

  /// Sends `message`, waiting at most `timeout` on the monotonic clock for
  /// room in a full queue; false, with the queue unchanged, if it expired.
  ///
  /// The corresponding C call is `msgsnd(..., IPC_NOWAIT)`, repeated
  /// (polling) on one of the library's waiting threads after a first try on
  /// the caller's: one pending call holds one thread.
  public func send<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, timeout: Duration, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> Bool {
    try await send(encode(message, coder: coder), type: M.messageType, timeout: timeout)
  }

  // MARK: Helpers

  /// Tries `tryNow` with `bytes` in place (or from one copy, for sequences
  /// that are not contiguous); if it would block, hands an array of the bytes
  /// to a waiting thread for `blocking`. The copy is made only then: the
  /// caller's sequence is neither `Sendable` nor alive on another thread.
  private func sending<Bytes: Sequence<UInt8>, T: Sendable>(
    _ bytes: Bytes, _ tryNow: (UnsafeRawBufferPointer) throws(IPCError) -> T?,
    orWait blocking: @escaping @Sendable ([UInt8]) throws(IPCError) -> T
  ) async throws(IPCError) -> T {
    guard !Task.isCancelled else { throw cancelled("msgsnd") }
    let inPlace: Result<T?, IPCError>? = bytes.withContiguousStorageIfAvailable { storage in
      Result { () throws(IPCError) in try tryNow(UnsafeRawBufferPointer(storage)) }
    }
    let copy: [UInt8]
    if let inPlace {
      if let value = try inPlace.get() { return value }
      // Contiguous storage can be read again.
      copy = Array(bytes)
    } else {
      copy = Array(bytes)
      let now = copy.withUnsafeBytes { buffer in
        Result { () throws(IPCError) in try tryNow(buffer) }
      }
      if let value = try now.get() { return value }
    }
    return try await WaitThreads.attempt(cancelled: cancelled("msgsnd")) { () throws(IPCError) -> T? in
      nil
    } orWait: { () throws(IPCError) in
      try blocking(copy)
    }
  }

  /// The error an async form throws when its task is cancelled.
  private func cancelled(_ operation: String) -> IPCError {
    .cancelled(operation, object: description)
  }
}

/// The result of a receive into a buffer, as a `Sendable` value to return
/// from a waiting thread (a tuple cannot conform).
private struct Received: Sendable {
  let type: Int
  let count: Int

  init(_ received: (type: Int, count: Int)) {
    self.type = received.type
    self.count = received.count
  }
}

/// The caller's buffer, handed to a waiting thread that receives into it.
///
/// Safe although the pointer is not `Sendable`: the async receive does not
/// return, so its caller stays suspended and cannot touch or free the buffer,
/// until the blocking call on the waiting thread has ended. A call cancelled
/// while still queued never runs. So one thread at a time uses the buffer,
/// and only while it is alive.
private struct BufferHandoff: @unchecked Sendable {
  let buffer: UnsafeMutableRawBufferPointer
}

/// The caller's bytes, handed to a waiting thread that sends them; safe for
/// the reason given on ``BufferHandoff``: the caller is suspended until the
/// send on that thread has ended, and the thread only reads them.
private struct BytesHandoff: @unchecked Sendable {
  let bytes: UnsafeRawBufferPointer
}
