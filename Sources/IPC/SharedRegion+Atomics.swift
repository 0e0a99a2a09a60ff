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
    try atomic(T.self, "atomic_load_explicit", offset, ordering, .load) { address in
      T._atomicLoad(address, ordering.cValue)
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
    try atomic(T.self, "atomic_store_explicit", offset, ordering, .store) { address in
      T._atomicStore(address, value, ordering.cValue)
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
    try atomic(T.self, "atomic_fetch_add_explicit", offset, ordering, .update) { address in
      T._atomicAdd(address, value, ordering.cValue)
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
    try atomic(T.self, "atomic_exchange_explicit", offset, ordering, .update) { address in
      T._atomicExchange(address, value, ordering.cValue)
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
    try atomic(T.self, "atomic_compare_exchange_strong_explicit", offset, ordering, .update) {
      address in
      var found = expected
      let exchanged = T._atomicCompareExchange(
        address, &found, desired, ordering.cValue, ordering.failureOrdering.cValue)
      return (exchanged, found)
    }
  }

  /// What an atomic operation does, for the orderings C11 allows it.
  private enum AtomicAccess { case load, store, update }

  /// Checks the ordering for the kind of operation, then the range,
  /// alignment (the type's size: C11 atomics need natural alignment) and
  /// access, and runs `body` on the checked address.
  @inline(__always)
  private func atomic<T: SharedAtomicInteger, R>(
    _ type: T.Type, _ operation: String, _ offset: Int, _ ordering: MemoryOrdering,
    _ kind: AtomicAccess, _ body: (UnsafeMutableRawPointer) -> R
  ) throws(IPCError) -> R {
    let refused: Bool =
      switch kind {
      case .load: ordering == .releasing || ordering == .acquiringAndReleasing
      case .store: ordering == .acquiring || ordering == .acquiringAndReleasing
      case .update: false
      }
    if refused {
      let allowed = kind == .load ? "relaxed, acquire" : "relaxed, release"
      throw IPCError(
        code: .invalidArgument, operation: operation, object: object,
        reason: "\(ordering) is not an ordering for a \(kind) (C11 allows \(allowed) or seq_cst);"
          + " nothing was accessed")
    }
    let size = MemoryLayout<T>.size
    return try access(operation, offset: offset, length: size, alignment: size, writing: kind != .load) {
      address in body(address)
    }
  }
}
