extension SystemV {
  /// One message received from a ``MessageQueue``: its type and its bytes.
  public struct Message: Hashable, Sendable {
    /// The message type the sender gave (1 or more).
    public var type: Int
    /// The message text, exactly as sent (possibly empty).
    public var bytes: [UInt8]

    /// Creates a message from a type and bytes.
    public init(type: Int, bytes: [UInt8]) {
      self.type = type
      self.bytes = bytes
    }

    /// The bytes read as UTF-8; invalid sequences become U+FFFD.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Decodes the bytes as a `T` with `coder` (JSON by default).
    ///
    /// - Throws: `IPCError` with `.badMessage` whose ``IPCError/payload`` and
    ///   ``IPCError/messageType`` hold this message, so nothing is lost.
    public func decode<T: Decodable, Coder: MessageCoder>(
      _ type: T.Type, coder: Coder = JSONMessageCoder()
    ) throws(IPCError) -> T {
      try coder.decodeMessage(
        T.self, from: bytes, object: "message of type \(self.type)", messageType: self.type)
    }
  }
}
