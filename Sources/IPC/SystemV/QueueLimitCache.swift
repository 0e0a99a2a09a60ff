import Synchronization

/// The byte limit (`msg_qbytes`) of recently used queues, so a blocking send
/// can tell "full" from "can never fit" without a `msgctl(IPC_STAT)` per message.
///
/// A cached limit only ever lets a send go ahead; a message it says does not
/// fit is checked against a fresh `IPC_STAT` before it is rejected. If another
/// process lowers a queue's limit below a message's size after it was cached,
/// the send waits, exactly as the plain C call would.
enum QueueLimitCache {
  private static let slots: InlineArray<16, Atomic<UInt64>> = InlineArray { _ in Atomic(0) }

  /// The cached limit of queue `id`, or nil.
  @inline(__always)
  static func maxBytes(of id: Int32) -> Int? {
    let entry = slots[Int(UInt32(bitPattern: id) % 16)].load(ordering: .relaxed)
    guard entry >> 32 == UInt64(UInt32(bitPattern: id)) + 1 else { return nil }
    return Int(entry & 0xffff_ffff)
  }

  /// Records the limit of queue `id`.
  static func record(_ maxBytes: Int, of id: Int32) {
    let tag = UInt64(UInt32(bitPattern: id)) + 1
    let entry = tag << 32 | UInt64(UInt32(clamping: maxBytes))
    slots[Int(UInt32(bitPattern: id) % 16)].store(entry, ordering: .relaxed)
  }
}
