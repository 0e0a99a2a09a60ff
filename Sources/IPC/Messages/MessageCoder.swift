/// Turns Codable values into message bytes and back.
///
/// The toolkit's default is ``JSONMessageCoder``; conform your own type to send
/// another format. Raw bytes are always available without any coder.
public protocol MessageCoder: Sendable {
  /// Encodes `value` into the bytes of one message.
  func encode<T: Encodable>(_ value: T) throws -> [UInt8]
  /// Decodes a `T` from the bytes of one message.
  func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T
}

extension MessageCoder {
  /// Encodes `value` for sending; a failure is an ``IPCError`` with operation
  /// `encode`, thrown before anything is sent.
  func encodeMessage<T: Encodable>(_ value: T) throws(IPCError) -> [UInt8] {
    do {
      return try encode(value)
    } catch {
      throw IPCError(
        code: .invalidArgument, operation: "encode", object: "\(T.self)",
        reason: "the value could not be encoded (\(error)); nothing was sent")
    }
  }
}

extension MessageCoder {
  /// Decodes a received message's `bytes` as a `T`; a failure is `.badMessage`
  /// with the bytes (and the System V type or POSIX priority) kept in the error.
  func decodeMessage<T: Decodable>(
    _ type: T.Type, from bytes: [UInt8], object: String, messageType: Int? = nil, priority: Int? = nil
  ) throws(IPCError) -> T {
    do {
      return try decode(T.self, from: bytes)
    } catch {
      throw IPCError(
        code: .badMessage, operation: "decode", object: object,
        reason: "its \(bytes.count) bytes are not a valid \(T.self) (\(error));"
          + " the raw bytes are kept in the error's payload",
        payload: bytes, messageType: messageType, priority: priority)
    }
  }
}
