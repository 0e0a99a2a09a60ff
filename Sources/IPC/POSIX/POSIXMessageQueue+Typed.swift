extension POSIX.MessageQueue {
  /// Sends `message` encoded with `coder` (JSON by default) with `priority`,
  /// waiting while the queue is full.
  ///
  /// The same ``TypedMessage`` types serve both queue families. A POSIX queue
  /// has priorities, not message types, so `M.messageType` is not sent: a
  /// receiver decodes the message as the type it expects.
  ///
  /// The corresponding C function is `mq_send`.
  ///
  /// - Throws: `.invalidArgument` with operation `encode` if the value cannot
  ///   be encoded (nothing is sent), or any error that sending its bytes throws.
  public func send<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, priority: Int = 0, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) {
    try send(coder.encodeMessage(message), priority: priority)
  }

  /// Sends `message` if the queue has room now; false, with the queue
  /// unchanged, if it is full.
  public func trySend<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, priority: Int = 0, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> Bool {
    try trySend(coder.encodeMessage(message), priority: priority)
  }

  /// Sends `message`, waiting at most `timeout` (monotonic) for room in a
  /// full queue; false, with the queue unchanged, if it expired.
  public func send<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, priority: Int = 0, timeout: Duration, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> Bool {
    try send(coder.encodeMessage(message), priority: priority, timeout: timeout)
  }

  /// Receives the next message and decodes it as `M`, waiting until there is one.
  ///
  /// - Throws: `.badMessage` if the bytes do not decode; the message is
  ///   consumed, and the error's ``IPCError/payload`` and
  ///   ``IPCError/priority`` hold it, so nothing is lost.
  public func receive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> M {
    try receive().decode(M.self, coder: coder)
  }

  /// Receives and decodes the next message if there is one now; nil if the queue is empty.
  public func tryReceive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> M? {
    try tryReceive()?.decode(M.self, coder: coder)
  }

  /// Receives and decodes the next message, waiting at most `timeout`
  /// (monotonic); nil, with nothing consumed, if it expired.
  public func receive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, timeout: Duration, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> M? {
    try receive(timeout: timeout)?.decode(M.self, coder: coder)
  }
}
