import Glibc

extension POSIX.MessageQueue {
  /// What a descriptor of the queue may do: the `O_RDONLY`, `O_WRONLY` or
  /// `O_RDWR` flag of `mq_open`.
  public enum Access: Hashable, Sendable, CustomStringConvertible {
    /// Receive only (`O_RDONLY`).
    case readOnly
    /// Send only (`O_WRONLY`).
    case writeOnly
    /// Send and receive (`O_RDWR`).
    case readWrite

    var flags: Int32 {
      switch self {
      case .readOnly: O_RDONLY
      case .writeOnly: O_WRONLY
      case .readWrite: O_RDWR
      }
    }

    var canSend: Bool { self != .readOnly }
    var canReceive: Bool { self != .writeOnly }

    /// `read-only`, `write-only` or `read-write`.
    public var description: String {
      switch self {
      case .readOnly: "read-only"
      case .writeOnly: "write-only"
      case .readWrite: "read-write"
      }
    }
  }
}
