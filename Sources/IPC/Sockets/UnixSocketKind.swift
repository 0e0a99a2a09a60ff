/// The three kinds of Unix-domain socket.
public enum UnixSocketKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  /// `SOCK_STREAM`: a connection carrying bytes; messages are framed exactly
  /// as ``PipeEnd`` frames them (a 4-byte little-endian length, then the
  /// payload), so a pipe reader and a socket reader share one format.
  case stream
  /// `SOCK_SEQPACKET`: a connection whose kernel keeps message boundaries;
  /// each message is one record, with no header.
  case seqpacket
  /// `SOCK_DGRAM`: connectionless messages sent to an address, each kept
  /// whole; see ``UnixDatagramSocket``.
  case datagram

  /// `stream`, `seqpacket` or `datagram`.
  public var description: String { rawValue }

  /// The kind number of `cipc_unix_socket`.
  var code: Int32 {
    switch self {
    case .stream: 0
    case .seqpacket: 1
    case .datagram: 2
    }
  }

  init?(code: Int32) {
    switch code {
    case 0: self = .stream
    case 1: self = .seqpacket
    case 2: self = .datagram
    default: return nil
    }
  }
}
