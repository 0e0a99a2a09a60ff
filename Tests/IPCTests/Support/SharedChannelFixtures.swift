import Glibc
import IPC
import Testing

/// What a peer's channel message says: producer id and index, once its
/// pattern (byte p is index + p) checks out; nil for a torn or foreign message.
func decodeChannelMessage(_ message: some Collection<UInt8>) -> (id: UInt8, index: UInt32)? {
  let message = Array(message)
  guard message.count >= 5 else { return nil }
  let index = message[1...4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
  for position in 5..<message.count
  where message[position] != UInt8(truncatingIfNeeded: Int(index) &+ position) {
    return nil
  }
  return (message[0], index)
}

/// A channel endpoint (not `Sendable`: it belongs to one task at a time)
/// handed to a test's task; the test touches it only when no task does
/// (before the task starts, after it ended).
final class HandedEndpoint<Endpoint>: @unchecked Sendable {
  let endpoint: Endpoint
  init(_ endpoint: Endpoint) { self.endpoint = endpoint }
}

/// The offsets of the channel layout (CIPCChannel.h) the tests change
/// behind the library's back, in a channel of `ringSize`-byte rings.
enum ChannelLayout {
  /// The header's version word.
  static let version = 8
  /// The start-time half of the consumer's identity (bytes 28-31; the pid
  /// is bytes 24-27 on this little-endian host).
  static let consumerStart = 28
  static let consumerPid = 24
  /// The pid half of a producer slot's identity.
  static func ownerPid(slot: Int, ringSize: Int) -> Int { 128 + slot * (256 + ringSize) + 8 }
  /// The start-time half of a producer slot's identity.
  static func ownerStart(slot: Int, ringSize: Int) -> Int { ownerPid(slot: slot, ringSize: ringSize) + 4 }
}

/// The low 32 bits of `pid`'s start time, /proc/PID/stat field 22; nil if unreadable.
func processStartTime(_ pid: pid_t) -> UInt32? {
  guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
  defer { fclose(file) }
  var buffer = [CChar](repeating: 0, count: 2048)
  guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
  let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  guard let close = line.lastIndex(of: ")") else { return nil }
  // Fields from 3 (the state) on; field 22 is the 20th of them.
  let fields = line[line.index(after: close)...].split(separator: " ")
  guard fields.count > 19, let start = UInt64(fields[19]) else { return nil }
  return UInt32(truncatingIfNeeded: start)
}

/// The bytes of message `index` of producer `id`, as the channel peers send
/// them (Tests/ProcessPeer/ChannelPeers.swift has the same function).
func channelMessage(id: UInt8, index: UInt32, longest: Int) -> [UInt8] {
  let length = 5 + Int(index &* 2_654_435_761 % UInt32(max(longest - 4, 1)))
  var bytes = [id]
  withUnsafeBytes(of: index.littleEndian) { bytes += $0 }
  for position in 5..<length { bytes.append(UInt8(truncatingIfNeeded: Int(index) &+ position)) }
  return bytes
}
