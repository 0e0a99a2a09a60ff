import FoundationEssentials

/// The default ``MessageCoder``: compact JSON (UTF-8), readable by any peer.
///
/// It uses FoundationEssentials, not all of Foundation, so importing the
/// toolkit stays light.
public struct JSONMessageCoder: MessageCoder {
  /// Creates a JSON coder with sorted keys, so equal values give equal bytes.
  public init() {}

  /// Encodes `value` as JSON.
  public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Array(try encoder.encode(value))
  }

  /// Decodes a `T` from JSON bytes.
  public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(bytes))
  }
}
