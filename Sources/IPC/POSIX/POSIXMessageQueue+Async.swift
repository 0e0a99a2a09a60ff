extension POSIX.MessageQueue {
  // Every form here waits on the library's poll thread: one pending call costs
  // one poll entry, no thread. Each tries the non-blocking call first (a
  // message already there, or room, is taken on the caller's thread, with no
  // hop), and checks for cancellation before that first try.

  // MARK: Receiving

  /// Receives the oldest message of the highest priority, suspending the task
  /// until there is one; the async form of ``receive()``.
  ///
  /// The corresponding C call is `mq_timedreceive` with a deadline already
  /// past, tried at once and again each time `poll` finds the descriptor
  /// readable. It waits on the library's poll thread: one pending call costs
  /// one poll entry, no thread.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before a message is
  ///   taken (nothing is consumed, even if one was there); `.badDescriptor`
  ///   if the queue is closed, also while the call waits; the errors of
  ///   ``receive()``.
  public func receive() async throws(IPCError) -> POSIX.Message {
    guard let message = try await awaitingReceive(nil, { () throws(IPCError) in try tryReceive() }) else {
      throw neverTimedOut()
    }
    return message
  }

  /// Receives the next message, waiting at most `timeout` on the monotonic
  /// clock; nil, with nothing consumed, if it expired. The async form of
  /// ``receive(timeout:)``.
  ///
  /// The corresponding C call is `mq_timedreceive` with a deadline already
  /// past; between tries the task waits on the library's poll thread (one
  /// poll entry, no thread) for the time left.
  ///
  /// - Throws: as ``receive()-6mzf4`` (async).
  public func receive(timeout: Duration) async throws(IPCError) -> POSIX.Message? {
    try await awaitingReceive(timeout) { () throws(IPCError) in try tryReceive() }
  }

  /// Receives the next message into `buffer`, suspending the task until there
  /// is one; the async form of ``receive(into:)``.
  ///
  /// `buffer` must stay valid, and untouched by others, until the call
  /// returns. The corresponding C call is `mq_timedreceive` with a deadline
  /// already past; the wait is on the library's poll thread (one poll entry,
  /// no thread).
  ///
  /// - Returns: the message's priority, and how many bytes of `buffer` hold it.
  /// - Throws: `.messageTooLong`, with nothing consumed, if `buffer` is
  ///   smaller than ``messageSize``; as ``receive()-6mzf4`` (async).
  public func receive(into buffer: UnsafeMutableRawBufferPointer) async throws(IPCError)
    -> (priority: Int, count: Int)
  {
    guard
      let received = try await awaitingReceive(nil, { () throws(IPCError) in try tryReceive(into: buffer) })
    else { throw neverTimedOut() }
    return received
  }

  /// Receives the next message into `buffer`, waiting at most `timeout` on
  /// the monotonic clock; nil, with nothing consumed, if it expired. The
  /// async form of ``receive(into:timeout:)``; see ``receive(into:)-7b7sk`` (async).
  public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration)
    async throws(IPCError) -> (priority: Int, count: Int)?
  {
    try await awaitingReceive(timeout) { () throws(IPCError) in try tryReceive(into: buffer) }
  }

  // MARK: Sending

  /// Sends `bytes` as one message with `priority`, suspending the task while
  /// the queue is full; the async form of ``send(_:priority:)``.
  ///
  /// `bytes` must stay valid until the call returns. The corresponding C
  /// call is `mq_timedsend` with a deadline already past, tried at once and
  /// again each time `poll` finds the descriptor writable; the wait is on the
  /// library's poll thread (one poll entry, no thread).
  ///
  /// - Throws: `.cancelled` if the task is cancelled before the message is
  ///   sent (nothing is sent); as ``send(_:priority:)``.
  public func send(_ bytes: UnsafeRawBufferPointer, priority: Int = 0) async throws(IPCError) {
    _ = try await awaitingSend(nil) { () throws(IPCError) in
      try trySend(bytes, priority: priority) ? true : nil
    }
  }

  /// Sends `bytes` as one message with `priority`, suspending the task while
  /// the queue is full; the async form of ``send(_:priority:)``.
  ///
  /// Accepts any collection of bytes: `[UInt8]`, `ArraySlice`, a string's
  /// `utf8` view. The corresponding C call is `mq_timedsend` with a deadline
  /// already past; the wait is on the library's poll thread.
  public func send<Bytes: Sequence<UInt8>>(_ bytes: Bytes, priority: Int = 0) async throws(IPCError) {
    var copy: [UInt8]?
    _ = try await awaitingSend(nil) { () throws(IPCError) in
      try trySend(bytes, copy: &copy, priority: priority) ? true : nil
    }
  }

  /// Sends `bytes`, waiting at most `timeout` (monotonic clock) for room in
  /// a full queue; false, with the queue unchanged, if it expired. The async
  /// form of ``send(_:priority:timeout:)``; the wait is on the library's poll
  /// thread (one poll entry, no thread).
  public func send(_ bytes: UnsafeRawBufferPointer, priority: Int = 0, timeout: Duration)
    async throws(IPCError) -> Bool
  {
    try await awaitingSend(timeout) { () throws(IPCError) in
      try trySend(bytes, priority: priority) ? true : nil
    } ?? false
  }

  /// Sends `bytes`, waiting at most `timeout` (monotonic clock) for room in
  /// a full queue; false, with the queue unchanged, if it expired. The async
  /// form of ``send(_:priority:timeout:)``.
  public func send<Bytes: Sequence<UInt8>>(_ bytes: Bytes, priority: Int = 0, timeout: Duration)
    async throws(IPCError) -> Bool
  {
    var copy: [UInt8]?
    return try await awaitingSend(timeout) { () throws(IPCError) in
      try trySend(bytes, copy: &copy, priority: priority) ? true : nil
    } ?? false
  }

  // MARK: Typed messages

  /// Sends `message` encoded with `coder` (JSON by default) with `priority`,
  /// suspending the task while the queue is full; the async form of
  /// ``send(_:priority:coder:)``. The corresponding C call is `mq_timedsend`
  /// with a deadline already past; the wait is on the library's poll thread.
  ///
  /// - Throws: `.invalidArgument` with operation `encode` if the value cannot
  ///   be encoded (nothing is sent); as ``send(_:priority:)-3mokv`` (async).
  public func send<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, priority: Int = 0, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) {
    try await send(coder.encodeMessage(message), priority: priority)
  }

  /// Sends `message`, waiting at most `timeout` (monotonic) for room in a
  /// full queue; false, with the queue unchanged, if it expired. The async
  /// form of ``send(_:priority:timeout:coder:)``.
  public func send<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, priority: Int = 0, timeout: Duration, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> Bool {
    try await send(coder.encodeMessage(message), priority: priority, timeout: timeout)
  }

  /// Receives the next message and decodes it as `M`, suspending the task
  /// until there is one; the async form of ``receive(_:coder:)``.
  ///
  /// - Throws: `.badMessage` if the bytes do not decode (the message is
  ///   consumed, and the error's ``IPCError/payload`` and
  ///   ``IPCError/priority`` hold it); as ``receive()-6mzf4`` (async).
  public func receive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> M {
    try await receive().decode(M.self, coder: coder)
  }

  /// Receives and decodes the next message, waiting at most `timeout`
  /// (monotonic); nil, with nothing consumed, if it expired. The async form
  /// of ``receive(_:timeout:coder:)``.
  public func receive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, timeout: Duration, coder: Coder = JSONMessageCoder()
  ) async throws(IPCError) -> M? {
    try await receive(timeout: timeout)?.decode(M.self, coder: coder)
  }

  // MARK: Shared by the async forms and messages()

  /// Calls `attempt` (a non-blocking receive) until it returns a message,
  /// suspending on the poll thread while the descriptor is not readable.
  /// A queue closed meanwhile wakes the wait (``close()`` resumes its
  /// waiters), and the next try fails as the blocking form would.
  func awaitingReceive<T>(_ timeout: Duration?, _ attempt: () throws(IPCError) -> T?)
    async throws(IPCError) -> T?
  {
    try await Readiness.awaiting(
      timeout, cancelled: .cancelled("mq_receive", object: description),
      descriptor: { () throws(IPCError) in try liveDescriptor(for: "mq_receive") },
      events: Readiness.readable, attempt)
  }

  /// ``awaitingReceive(_:_:)`` for sends: waits for the descriptor to be writable.
  private func awaitingSend(_ timeout: Duration?, _ attempt: () throws(IPCError) -> Bool?)
    async throws(IPCError) -> Bool?
  {
    try await Readiness.awaiting(
      timeout, cancelled: .cancelled("mq_send", object: description),
      descriptor: { () throws(IPCError) in try liveDescriptor(for: "mq_send") },
      events: Readiness.writable, attempt)
  }

  /// One non-blocking send of `bytes`: in place when they are contiguous;
  /// otherwise from `copy`, made on the first try, as a sequence may be
  /// single-pass.
  private func trySend<Bytes: Sequence<UInt8>>(_ bytes: Bytes, copy: inout [UInt8]?, priority: Int)
    throws(IPCError) -> Bool
  {
    let direct: Result<Bool, IPCError>? = bytes.withContiguousStorageIfAvailable { storage in
      Result { () throws(IPCError) in try trySend(UnsafeRawBufferPointer(storage), priority: priority) }
    }
    if let direct { return try direct.get() }
    let gathered: [UInt8]
    if let copy {
      gathered = copy
    } else {
      gathered = Array(bytes)
      copy = gathered
    }
    // Typed throws do not cross withUnsafeBytes, so carry a Result.
    return try gathered.withUnsafeBytes { (buffer) -> Result<Bool, IPCError> in
      Result { () throws(IPCError) in try trySend(buffer, priority: priority) }
    }.get()
  }

  /// What an untimed wait reports if it ever came back empty-handed (it does
  /// not: only a deadline ends one without a message).
  private func neverTimedOut() -> IPCError {
    IPCError(code: .wouldBlock, operation: "mq_receive", object: description)
  }
}
