import CIPCShims

/// How an atomic operation on a ``SharedRegion`` orders the memory accesses
/// around it, as C11's `memory_order` does (`memory_order_consume` aside).
///
/// A producer publishes data with a `.releasing` store (or add, exchange)
/// after writing it; a consumer that reads the published value with an
/// `.acquiring` load sees that data. `.sequentiallyConsistent`, the default,
/// also gives one order of all such operations that every process agrees on.
public enum MemoryOrdering: Sendable, Hashable, CaseIterable, CustomStringConvertible {
  /// `memory_order_relaxed`: atomic, but orders nothing else (counters).
  case relaxed
  /// `memory_order_acquire`: later accesses stay after it; for loads and updates.
  case acquiring
  /// `memory_order_release`: earlier accesses stay before it; for stores and updates.
  case releasing
  /// `memory_order_acq_rel`: both; for updates (add, exchange, compare-exchange).
  case acquiringAndReleasing
  /// `memory_order_seq_cst`: both, and a single order every process agrees on.
  case sequentiallyConsistent

  /// The C11 `memory_order` value, as the shim's atomics take it.
  @inlinable @inline(__always)
  var cValue: Int32 {
    switch self {
    case .relaxed: CIPC_MEMORY_ORDER_RELAXED
    case .acquiring: CIPC_MEMORY_ORDER_ACQUIRE
    case .releasing: CIPC_MEMORY_ORDER_RELEASE
    case .acquiringAndReleasing: CIPC_MEMORY_ORDER_ACQ_REL
    case .sequentiallyConsistent: CIPC_MEMORY_ORDER_SEQ_CST
    }
  }

  /// The order a failed compare-exchange (a load) uses: C11 forbids a
  /// releasing one, so the release half is dropped.
  @inlinable @inline(__always)
  var failureOrdering: MemoryOrdering {
    switch self {
    case .releasing: .relaxed
    case .acquiringAndReleasing: .acquiring
    default: self
    }
  }

  /// The C name, such as `memory_order_acquire`.
  public var description: String {
    switch self {
    case .relaxed: "memory_order_relaxed"
    case .acquiring: "memory_order_acquire"
    case .releasing: "memory_order_release"
    case .acquiringAndReleasing: "memory_order_acq_rel"
    case .sequentiallyConsistent: "memory_order_seq_cst"
    }
  }
}
