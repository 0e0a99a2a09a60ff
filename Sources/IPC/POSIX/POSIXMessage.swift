extension POSIX {
  /// One message received from a ``MessageQueue``: its bytes and priority.
  public struct Message: Hashable, Sendable {
    /// The message, exactly as sent (possibly empty).
    public var bytes: [UInt8]
    /// The priority the sender gave; higher priorities are received first.
    public var priority: Int

    /// Creates a message from bytes and a priority.
    public init(bytes: [UInt8], priority: Int = 0) {
      self.bytes = bytes
      self.priority = priority
    }

    /// The bytes read as UTF-8; invalid sequences become U+FFFD.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Decodes the bytes as a `T` with `coder` (JSON by default).
    ///
    /// - Throws: `IPCError` with `.badMessage` whose ``IPCError/payload`` and
    ///   ``IPCError/priority`` hold this message, so nothing is lost.
    public func decode<T: Decodable, Coder: MessageCoder>(
      _ type: T.Type, coder: Coder = JSONMessageCoder()
    ) throws(IPCError) -> T {
      try coder.decodeMessage(
        T.self, from: bytes, object: "message of priority \(priority)", priority: priority)
    }
  }
}
