import FoundationEssentials

/// The default ``MessageCoder``: compact JSON (UTF-8), readable by any peer.
///
/// It uses FoundationEssentials, not all of Foundation, so importing the
/// toolkit stays light.
public struct JSONMessageCoder: MessageCoder {
  /// Shared by every message: making a coder per message costs more than the
  /// system call that carries it. Both are thread-safe.
  private static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return encoder
  }()
  private static let decoder = JSONDecoder()

  /// Creates a JSON coder with sorted keys, so equal values give equal bytes.
  public init() {}

  /// Encodes `value` as JSON.
  public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
    Array(try Self.encoder.encode(value))
  }

  /// Decodes a `T` from JSON bytes.
  public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    try Self.decoder.decode(T.self, from: Data(bytes))
  }
}
