import Glibc

/// A fault the stress consumer makes on purpose, once, at message 2 of
/// producer 0, so the tests can prove the accounting catches each kind:
/// `IPC_STRESS_FAULT=drop|duplicate|swap|corrupt`; `leak` is the parent's
/// (see ``leaksObjects``). Debug builds only; a release build ignores the variable.
struct StressFault {
  enum Kind: String {
    /// Not recorded: one lost.
    case drop
    /// Recorded twice: one duplicated.
    case duplicate
    /// Held back and recorded after the next message of producer 0 this
    /// consumer gets: one reordered (with one producer and one consumer).
    case swap
    /// A payload (or checksum) byte flipped before the check: one corrupted.
    case corrupt
  }

  /// The environment variable the consumer reads.
  static let variable = "IPC_STRESS_FAULT"

  var kind: Kind?
  /// Whether the fault was made (it is made once).
  private var done = false
  /// A message held back by `swap`.
  private var held: StressMessage.Decoded?
  /// Set when the fault is made, for the ledger's count of faults; the consumer clears it.
  var fired = false

  /// `IPC_STRESS_FAULT=leak`, honoured by the parent alone: the mechanism's
  /// object is not registered for removal, so the leftover check must see it.
  static var leaksObjects: Bool {
    #if DEBUG
      return getenv(variable).map { String(cString: $0) } == "leak"
    #else
      return false
    #endif
  }

  static func fromEnvironment() -> StressFault {
    #if DEBUG
      if let value = getenv(variable) { return StressFault(kind: Kind(rawValue: String(cString: value))) }
    #endif
    return StressFault(kind: nil)
  }

  private static func isTarget(producer: UInt32, sequence: UInt32) -> Bool { producer == 0 && sequence == 2 }

  /// `corrupt`: flips the byte after the header of the target message.
  mutating func corruptIfTarget(_ buffer: UnsafeMutableRawBufferPointer, count: Int) {
    guard kind == .corrupt, !done, count > StressMessage.headerSize,
      Self.isTarget(
        producer: buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self),
        sequence: buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
    else { return }
    buffer[StressMessage.headerSize] ^= 0xFF
    done = true
    fired = true
  }

  /// The messages to record for `decoded`: none, it, it twice, or it and the held one.
  mutating func apply(to decoded: StressMessage.Decoded) -> [StressMessage.Decoded] {
    guard let kind, kind != .corrupt, case .message(let producer, let sequence, _) = decoded else {
      return [decoded]
    }
    if !done && producer == 0 && sequence == 2 {
      done = true
      fired = true
      switch kind {
      case .drop: return []
      case .duplicate: return [decoded, decoded]
      case .swap:
        held = decoded
        return []
      case .corrupt: return [decoded]
      }
    }
    if producer == 0, let message = held {
      held = nil
      return [decoded, message]
    }
    return [decoded]
  }

  /// A message still held back at the stop.
  mutating func release() -> StressMessage.Decoded? {
    defer { held = nil }
    return held
  }
}
