extension SystemV.MessageQueue {
  /// Sends `message` as one message of type `M.messageType`, encoded with
  /// `coder` (JSON by default), waiting while the queue is full.
  ///
  /// The corresponding C function is `msgsnd`.
  ///
  /// - Throws: `.invalidArgument` with operation `encode` if the value cannot
  ///   be encoded (nothing is sent), or any error that sending its bytes throws.
  public func send<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) {
    try send(encode(message, coder: coder), type: M.messageType)
  }

  /// Sends `message`, waiting at most `timeout` for room in a full queue;
  /// false, with the queue unchanged, if it expired.
  public func send<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, timeout: Duration, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> Bool {
    try send(encode(message, coder: coder), type: M.messageType, timeout: timeout)
  }

  /// Sends `message` if the queue has room now; false, with the queue
  /// unchanged, if it is full.
  ///
  /// The corresponding C call is `msgsnd(..., IPC_NOWAIT)`.
  public func trySend<M: TypedMessage, Coder: MessageCoder>(
    _ message: M, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> Bool {
    try trySend(encode(message, coder: coder), type: M.messageType)
  }

  /// Receives the oldest message of type `M.messageType` and decodes it,
  /// waiting until there is one. Messages of other types stay in the queue.
  ///
  /// The corresponding C function is `msgrcv`.
  ///
  /// - Throws: `.badMessage` if the bytes do not decode; the error's
  ///   ``IPCError/payload`` and ``IPCError/messageType`` hold the message.
  public func receive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> M {
    try receive(.type(M.messageType)).decode(M.self, coder: coder)
  }

  /// Receives and decodes the oldest message of type `M.messageType` if there
  /// is one now; nil if there is none.
  ///
  /// The corresponding C call is `msgrcv(..., IPC_NOWAIT)`.
  public func tryReceive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> M? {
    try tryReceive(.type(M.messageType))?.decode(M.self, coder: coder)
  }

  /// Receives and decodes the oldest message of type `M.messageType`, waiting
  /// at most `timeout`; nil, with nothing consumed, if it expired.
  public func receive<M: TypedMessage, Coder: MessageCoder>(
    _ type: M.Type, timeout: Duration, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> M? {
    try receive(.type(M.messageType), timeout: timeout)?.decode(M.self, coder: coder)
  }

  func encode<M: TypedMessage, Coder: MessageCoder>(_ message: M, coder: Coder)
    throws(IPCError) -> [UInt8]
  {
    guard M.messageType >= 1 else {
      throw IPCError(
        code: .invalidArgument, operation: "msgsnd", object: description,
        reason: "\(M.self).messageType is \(M.messageType): a sent message's type must be 1 or more")
    }
    return try coder.encodeMessage(message)
  }
}
