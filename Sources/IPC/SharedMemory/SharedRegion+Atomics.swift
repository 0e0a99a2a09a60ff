extension SharedRegion {
  // MARK: Atomics
  //
  // C11 atomics (lock-free, so valid between processes) on an Int32 or Int64
  // at an offset that is a multiple of its size. Each call checks the range,
  // the alignment, the ordering and (for changes) that the region is
  // writable before touching memory.

  /// The value at `offset`, read atomically.
  ///
  /// The corresponding C function is `atomic_load_explicit`.
  ///
  /// - Parameters:
  ///   - type: `Int32` or `Int64`.
  ///   - offset: the byte offset, a multiple of the type's size.
  ///   - ordering: `.relaxed`, `.acquiring` or `.sequentiallyConsistent`.
  /// - Throws: `.invalidArgument` for an offset outside the region or not a
  ///   multiple of the size, or a releasing ordering; `.badDescriptor` once closed.
  public func atomicLoad<T: SharedAtomicInteger>(
    _ type: T.Type = T.self, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
  ) throws(IPCError) -> T {
    try entered("atomic_load_explicit") { (access) throws(IPCError) in
      try access.atomicLoad(type, at: offset, ordering: ordering)
    }
  }

  /// Stores `value` at `offset` atomically.
  ///
  /// The corresponding C function is `atomic_store_explicit`.
  ///
  /// - Parameters:
  ///   - value: the value to store.
  ///   - offset: the byte offset, a multiple of the value's size.
  ///   - ordering: `.relaxed`, `.releasing` or `.sequentiallyConsistent`.
  /// - Throws: `.permissionDenied` on a read-only region; otherwise as
  ///   ``atomicLoad(_:at:ordering:)``. Nothing is stored then.
  public func atomicStore<T: SharedAtomicInteger>(
    _ value: T, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
  ) throws(IPCError) {
    try entered("atomic_store_explicit") { (access) throws(IPCError) in
      try access.atomicStore(value, at: offset, ordering: ordering)
    }
  }

  /// Adds `value` to the integer at `offset` atomically, wrapping on
  /// overflow, and returns the value before the addition.
  ///
  /// The corresponding C function is `atomic_fetch_add_explicit`.
  ///
  /// - Throws: as ``atomicStore(_:at:ordering:)``; nothing changes then.
  @discardableResult
  public func atomicAdd<T: SharedAtomicInteger>(
    _ value: T, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
  ) throws(IPCError) -> T {
    try entered("atomic_fetch_add_explicit") { (access) throws(IPCError) in
      try access.atomicAdd(value, at: offset, ordering: ordering)
    }
  }

  /// Replaces the integer at `offset` with `value` atomically and returns the
  /// value it replaced.
  ///
  /// The corresponding C function is `atomic_exchange_explicit`.
  ///
  /// - Throws: as ``atomicStore(_:at:ordering:)``; nothing changes then.
  @discardableResult
  public func atomicExchange<T: SharedAtomicInteger>(
    _ value: T, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
  ) throws(IPCError) -> T {
    try entered("atomic_exchange_explicit") { (access) throws(IPCError) in
      try access.atomicExchange(value, at: offset, ordering: ordering)
    }
  }

  /// Replaces the integer at `offset` with `desired` if it equals `expected`,
  /// atomically.
  ///
  /// A failed exchange only reads, with `ordering` less its release half.
  /// The corresponding C function is `atomic_compare_exchange_strong_explicit`.
  ///
  /// - Returns: whether it was replaced, and the value found (`expected` when it was).
  /// - Throws: as ``atomicStore(_:at:ordering:)``; nothing changes then.
  @discardableResult
  public func atomicCompareExchange<T: SharedAtomicInteger>(
    expected: T, desired: T, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
  ) throws(IPCError) -> (exchanged: Bool, original: T) {
    try entered("atomic_compare_exchange_strong_explicit") { (access) throws(IPCError) in
      try access.atomicCompareExchange(expected: expected, desired: desired, at: offset, ordering: ordering)
    }
  }

  /// What an atomic operation does, for the orderings C11 allows it.
  @usableFromInline
  enum AtomicAccess {
    case load, store, update

    /// Whether C11 forbids `ordering` for this kind of operation.
    @inlinable
    func refuses(_ ordering: MemoryOrdering) -> Bool {
      switch self {
      case .load: ordering == .releasing || ordering == .acquiringAndReleasing
      case .store: ordering == .acquiring || ordering == .acquiringAndReleasing
      case .update: false
      }
    }
  }

  @usableFromInline
  func orderingError(_ operation: String, _ ordering: MemoryOrdering, _ kind: AtomicAccess) -> IPCError {
    let allowed = kind == .load ? "relaxed, acquire" : "relaxed, release"
    return IPCError(
      code: .invalidArgument, operation: operation, object: object,
      reason: "\(ordering) is not an ordering for a \(kind) (C11 allows \(allowed) or seq_cst);"
        + " nothing was accessed")
  }
}
