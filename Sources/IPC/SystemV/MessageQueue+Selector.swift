import CIPCShims

extension SystemV.MessageQueue {
  /// Which messages a receive may take, by message type.
  ///
  /// Among the messages a selector admits, the kernel hands out the oldest
  /// first (FIFO), except ``upTo(_:)``, which takes the lowest type first and
  /// the oldest among equals.
  public enum Selector: Hashable, Sendable, CustomStringConvertible {
    /// The oldest message, whatever its type (`msgtyp` 0).
    case any
    /// The oldest message of exactly this type (`msgtyp` > 0).
    case type(Int)
    /// The oldest message of the lowest type that is at most this value
    /// (`msgtyp` < 0): a priority queue where lower types go first.
    case upTo(Int)
    /// The oldest message of any type except this one (`MSG_EXCEPT`).
    case except(Int)

    /// How the selector reads in errors and listings, such as `type 3`.
    public var description: String {
      switch self {
      case .any: "any type"
      case .type(let type): "type \(type)"
      case .upTo(let type): "lowest type up to \(type)"
      case .except(let type): "any type except \(type)"
      }
    }

    /// The `msgtyp` argument and extra flags for `msgrcv`, after checking the type.
    func msgrcvArguments(for queue: SystemV.MessageQueue) throws(IPCError) -> (Int, Int32) {
      let type: Int
      switch self {
      case .any: return (0, 0)
      case .type(let value), .upTo(let value), .except(let value): type = value
      }
      guard type >= 1 else {
        throw IPCError(
          code: .invalidArgument, operation: "msgrcv", object: queue.description,
          reason: "selector \(self) is invalid: message types are 1 or more (use .any for all)")
      }
      switch self {
      case .upTo: return (-type, 0)
      case .except: return (type, CIPC_MSG_EXCEPT)
      default: return (type, 0)
      }
    }
  }
}
