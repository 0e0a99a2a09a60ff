/// The message of `ipc stress`: who sent it, its number, a payload whose
/// length varies with both, and an FNV-1a checksum over all of that.
///
///     0   producer   UInt32 (0-based; 0xFFFF_FFFF is the stop message)
///     4   sequence   UInt32 (from 1, per producer)
///     8   length     UInt16 (payload bytes, 0 to maxPayload)
///     10  payload    length bytes, made from producer and sequence
///     ..  checksum   UInt32, FNV-1a over every byte before it
///
/// On a queue a message is exactly these bytes. On a pipe every message is
/// padded to ``frameSize``, so each write and each read is one whole
/// message: at most PIPE_BUF bytes, which the kernel writes atomically, and a
/// read of a frame's size never takes part of one while several consumers
/// read the same pipe.
enum StressMessage {
  static let headerSize = 10
  static let checksumSize = 4
  static let maxPayload = 242
  /// The largest message, and the size of every frame on a pipe.
  static let frameSize = headerSize + maxPayload + checksumSize
  /// The producer field of the message that tells a consumer to end.
  static let stopProducer = UInt32.max

  /// What a consumer made of the bytes it received.
  enum Decoded: Equatable {
    /// The end of the run for this consumer.
    case stop
    /// A message; `intact` is whether its checksum matched.
    case message(producer: Int, sequence: Int, intact: Bool)
    /// Bytes that are no message at all: too short, or a length that does not fit.
    case malformed
  }

  /// How many payload bytes the message `sequence` of `producer` carries.
  static func payloadLength(producer: UInt32, sequence: UInt32) -> Int {
    Int((UInt64(sequence) &* 2_654_435_761 ^ UInt64(producer) &* 40_503) % UInt64(maxPayload + 1))
  }

  /// Writes the message into `buffer` (at least ``frameSize`` bytes) and
  /// returns its length.
  static func encode(producer: UInt32, sequence: UInt32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    let length =
      producer == stopProducer ? 0 : payloadLength(producer: producer, sequence: sequence)
    buffer.storeBytes(of: producer, toByteOffset: 0, as: UInt32.self)
    buffer.storeBytes(of: sequence, toByteOffset: 4, as: UInt32.self)
    buffer.storeBytes(of: UInt16(length), toByteOffset: 8, as: UInt16.self)
    for index in 0..<length {
      buffer[headerSize + index] = UInt8(
        truncatingIfNeeded: sequence &* 31 &+ UInt32(index) &* 7 &+ producer)
    }
    let end = headerSize + length
    let sum = checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
    buffer.storeBytes(of: sum, toByteOffset: end, as: UInt32.self)
    return end + checksumSize
  }

  /// Reads the `count` bytes received into `buffer`. A queue delivers the
  /// message's own length (`exact`); a pipe a whole frame, padding included.
  static func decode(_ buffer: UnsafeRawBufferPointer, count: Int, exact: Bool) -> Decoded {
    guard count >= headerSize + checksumSize, count <= buffer.count else { return .malformed }
    let producer = buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
    let sequence = buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
    let length = Int(buffer.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
    let end = headerSize + length
    guard length <= maxPayload, exact ? end + checksumSize == count : end + checksumSize <= count else {
      return .malformed
    }
    let intact =
      buffer.loadUnaligned(fromByteOffset: end, as: UInt32.self)
      == checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<end]))
    if producer == stopProducer && intact { return .stop }
    return .message(producer: Int(producer), sequence: Int(sequence), intact: intact)
  }

  /// 32-bit FNV-1a.
  static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var hash: UInt32 = 0x811C_9DC5
    for byte in bytes {
      hash ^= UInt32(byte)
      hash = hash &* 0x0100_0193
    }
    return hash
  }
}
