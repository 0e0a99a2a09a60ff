/// One message as a Unix socket delivered it, with what came along: the
/// descriptors passed with it (`SCM_RIGHTS`), who sent it
/// (`SCM_CREDENTIALS`, when enabled) and from where (datagram sockets).
///
/// The descriptors are owned by their ``ReceivedDescriptor`` objects: those
/// not taken are closed when the last copy of the message is released.
public struct ReceivedMessage: Sendable {
  /// The message's bytes (for a stream socket, the frame's payload).
  public var bytes: [UInt8]
  /// The descriptors that arrived with it, in the order they were sent.
  public var descriptors: [ReceivedDescriptor]
  /// Who sent it, if the receiving socket passes credentials
  /// (``UnixConnection/setPassCredentials(_:)``,
  /// ``UnixDatagramSocket/setPassCredentials(_:)``); nil otherwise.
  public var sender: PeerCredentials?
  /// The sender's address on a datagram socket; nil for a connection or an
  /// unbound sender.
  public var from: UnixSocketAddress?

  /// A message from its parts.
  public init(
    bytes: [UInt8], descriptors: [ReceivedDescriptor] = [], sender: PeerCredentials? = nil,
    from: UnixSocketAddress? = nil
  ) {
    self.bytes = bytes
    self.descriptors = descriptors
    self.sender = sender
    self.from = from
  }

  /// Decodes the bytes as a `T` with `coder` (JSON by default).
  ///
  /// - Throws: `.badMessage` if they do not decode (kept in the error's
  ///   ``IPCError/payload``).
  public func decode<T: Decodable, Coder: MessageCoder>(
    _ type: T.Type, coder: Coder = JSONMessageCoder()
  ) throws(IPCError) -> T {
    try coder.decodeMessage(
      T.self, from: bytes, object: "message from \(from?.description ?? "a Unix socket")")
  }
}
