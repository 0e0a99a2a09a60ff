extension SharedRegion {
  /// The region's checked operations, for the duration of one
  /// ``SharedRegion/withAccess(_:)`` call.
  ///
  /// Every method checks its range, alignment, ordering and (for changes)
  /// writability before touching memory and throws the same ``IPCError`` as
  /// the region's method of the same name, so nothing is lost by using it.
  /// What it saves is the region's count of accesses in progress (an atomic
  /// compare-exchange to enter and a subtraction to leave), which
  /// ``SharedRegion/withAccess(_:)`` pays once for all the operations inside.
  ///
  /// The access is valid only inside the closure it was passed to: do not
  /// store it or let it escape, since the region may be unmapped afterwards.
  public struct Access {
    /// The region, for its error messages. Unowned: ``SharedRegion/withAccess(_:)``
    /// holds the region for as long as the access may be used.
    @usableFromInline unowned(unsafe) let region: SharedRegion
    /// The region's first byte, mapped while the access may be used.
    @usableFromInline let base: UnsafeMutableRawPointer
    /// The size of the region in bytes.
    public let count: Int
    /// Whether the region is mapped for writing; stores, writes and atomic
    /// changes on a read-only region throw `.permissionDenied`.
    public let isWritable: Bool

    /// The access to `region`; the caller has counted itself in.
    @inlinable
    init(_ region: SharedRegion) {
      self.region = region
      base = region.address
      count = region.count
      isWritable = region.isWritable
    }

    /// The address `offset` bytes into the region, after checking that
    /// `length` bytes from there lie inside it, that the address is a
    /// multiple of `alignment` (a power of two) and, if `writing`, that the
    /// region is writable. The one place every access is checked.
    @inlinable @inline(__always)
    func checked(_ operation: String, offset: Int, length: Int, alignment: Int, writing: Bool)
      throws(IPCError) -> UnsafeMutableRawPointer
    {
      guard offset >= 0, length >= 0, length <= count, offset <= count - length else {
        throw region.rangeError(operation, offset: offset, length: length)
      }
      let address = base + offset
      guard Int(bitPattern: address) & (alignment - 1) == 0 else {
        throw region.misalignedError(
          operation, offset: offset, length: length, alignment: alignment, writing: writing)
      }
      guard !writing || isWritable else { throw region.readOnlyError(operation) }
      return address
    }

    // MARK: Values

    /// The value of type `T` stored at `offset`.
    ///
    /// `T` is any `BitwiseCopyable` type: integers, floating-point numbers,
    /// tuples of them, and structs made only of such fields. The value's
    /// `MemoryLayout<T>.size` bytes must lie inside the region and `offset`
    /// must be a multiple of `MemoryLayout<T>.alignment`. Not atomic: see
    /// ``atomicLoad(_:at:ordering:)`` for values other processes change concurrently.
    ///
    /// The corresponding Swift call is `UnsafeRawPointer.load(fromByteOffset:as:)`.
    ///
    /// - Parameters:
    ///   - type: the type of the value.
    ///   - offset: the byte offset, a multiple of the type's alignment.
    /// - Throws: `.invalidArgument` for an offset outside the region or misaligned.
    @inlinable @inline(__always)
    public func load<T: BitwiseCopyable>(_ type: T.Type = T.self, at offset: Int) throws(IPCError) -> T {
      try checked(
        "load", offset: offset, length: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment,
        writing: false
      ).load(as: T.self)
    }

    /// Stores `value` at `offset`, with the checks of ``load(_:at:)``.
    ///
    /// The corresponding Swift call is `UnsafeMutableRawPointer.storeBytes(of:toByteOffset:as:)`.
    ///
    /// - Parameters:
    ///   - value: the value to store.
    ///   - offset: the byte offset, a multiple of the value's alignment.
    /// - Throws: `.permissionDenied` on a read-only region, `.invalidArgument`
    ///   for an offset outside the region or misaligned; the region is unchanged.
    @inlinable @inline(__always)
    public func store<T: BitwiseCopyable>(_ value: T, at offset: Int) throws(IPCError) {
      try checked(
        "store", offset: offset, length: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment,
        writing: true
      ).storeBytes(of: value, as: T.self)
    }

    // MARK: Bytes

    /// A copy of the `count` bytes at `offset`.
    ///
    /// The corresponding C function is `memcpy`.
    ///
    /// - Parameters:
    ///   - offset: the byte offset of the first byte.
    ///   - count: the number of bytes to copy.
    /// - Throws: `.invalidArgument` if the bytes do not lie inside the region.
    @inlinable
    public func bytes(at offset: Int, count: Int) throws(IPCError) -> [UInt8] {
      let source = try checked("bytes", offset: offset, length: count, alignment: 1, writing: false)
      return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 {
          buffer.baseAddress!.update(from: source.assumingMemoryBound(to: UInt8.self), count: count)
        }
        initialized = count
      }
    }

    /// Copies the `destination.count` bytes at `offset` into `destination`.
    ///
    /// The same as ``bytes(at:count:)`` into memory of your own, such as a
    /// buffer reused for every block: no array is made. The corresponding C
    /// function is `memcpy`.
    ///
    /// - Parameters:
    ///   - offset: the byte offset of the first byte.
    ///   - destination: where the bytes go; its size is the number copied.
    /// - Throws: `.invalidArgument` if the bytes do not lie inside the
    ///   region; `destination` is unchanged then.
    @inlinable @inline(__always)
    public func bytes(at offset: Int, into destination: UnsafeMutableRawBufferPointer) throws(IPCError) {
      let source = try checked(
        "bytes", offset: offset, length: destination.count, alignment: 1, writing: false)
      if let base = destination.baseAddress { base.copyMemory(from: source, byteCount: destination.count) }
    }

    /// Copies `bytes` into the region from `offset` on.
    ///
    /// Arrays, slices and other contiguous collections are copied in place; any
    /// other sequence is gathered into an array first. The corresponding C
    /// function is `memcpy`.
    ///
    /// - Parameters:
    ///   - bytes: the bytes to copy.
    ///   - offset: the byte offset where the first byte goes.
    /// - Throws: `.permissionDenied` on a read-only region, `.invalidArgument`
    ///   if the bytes would not fit; nothing is written then.
    public func write(_ bytes: some Sequence<UInt8>, at offset: Int) throws(IPCError) {
      try withContiguousBytes(bytes) { (source) throws(IPCError) in try write(source, at: offset) }
    }

    /// Copies the bytes `bytes` points to into the region from `offset` on.
    ///
    /// The same as the generic ``write(_:at:)``, without its cost: a generic
    /// call from another module is not specialized. The corresponding C
    /// function is `memcpy`.
    ///
    /// - Parameters:
    ///   - bytes: the bytes to copy.
    ///   - offset: the byte offset where the first byte goes.
    /// - Throws: `.permissionDenied` on a read-only region, `.invalidArgument`
    ///   if the bytes would not fit; nothing is written then.
    @inlinable @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(IPCError) {
      let destination = try checked("write", offset: offset, length: bytes.count, alignment: 1, writing: true)
      if let source = bytes.baseAddress { destination.copyMemory(from: source, byteCount: bytes.count) }
    }

    // MARK: Atomics

    /// The value at `offset`, read atomically.
    ///
    /// The corresponding C function is `atomic_load_explicit`.
    ///
    /// - Parameters:
    ///   - type: `Int32` or `Int64`.
    ///   - offset: the byte offset, a multiple of the type's size.
    ///   - ordering: `.relaxed`, `.acquiring` or `.sequentiallyConsistent`.
    /// - Throws: `.invalidArgument` for an offset outside the region or not a
    ///   multiple of the size, or a releasing ordering.
    @inlinable @inline(__always)
    public func atomicLoad<T: SharedAtomicInteger>(
      _ type: T.Type = T.self, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
    ) throws(IPCError) -> T {
      T._atomicLoad(try atomic(T.self, "atomic_load_explicit", offset, ordering, .load), ordering.cValue)
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
    @inlinable @inline(__always)
    public func atomicStore<T: SharedAtomicInteger>(
      _ value: T, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
    ) throws(IPCError) {
      T._atomicStore(
        try atomic(T.self, "atomic_store_explicit", offset, ordering, .store), value, ordering.cValue)
    }

    /// Adds `value` to the integer at `offset` atomically, wrapping on
    /// overflow, and returns the value before the addition.
    ///
    /// The corresponding C function is `atomic_fetch_add_explicit`.
    ///
    /// - Parameters:
    ///   - value: the value to add.
    ///   - offset: the byte offset, a multiple of the value's size.
    ///   - ordering: any of the five.
    /// - Throws: as ``atomicStore(_:at:ordering:)``; nothing changes then.
    @discardableResult @inlinable @inline(__always)
    public func atomicAdd<T: SharedAtomicInteger>(
      _ value: T, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
    ) throws(IPCError) -> T {
      T._atomicAdd(
        try atomic(T.self, "atomic_fetch_add_explicit", offset, ordering, .update), value, ordering.cValue)
    }

    /// Replaces the integer at `offset` with `value` atomically and returns the
    /// value it replaced.
    ///
    /// The corresponding C function is `atomic_exchange_explicit`.
    ///
    /// - Parameters:
    ///   - value: the new value.
    ///   - offset: the byte offset, a multiple of the value's size.
    ///   - ordering: any of the five.
    /// - Throws: as ``atomicStore(_:at:ordering:)``; nothing changes then.
    @discardableResult @inlinable @inline(__always)
    public func atomicExchange<T: SharedAtomicInteger>(
      _ value: T, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
    ) throws(IPCError) -> T {
      T._atomicExchange(
        try atomic(T.self, "atomic_exchange_explicit", offset, ordering, .update), value, ordering.cValue)
    }

    /// Replaces the integer at `offset` with `desired` if it equals `expected`,
    /// atomically.
    ///
    /// A failed exchange only reads, with `ordering` less its release half.
    /// The corresponding C function is `atomic_compare_exchange_strong_explicit`.
    ///
    /// - Parameters:
    ///   - expected: the value the integer must hold to be replaced.
    ///   - desired: the value that replaces it.
    ///   - offset: the byte offset, a multiple of the values' size.
    ///   - ordering: any of the five.
    /// - Returns: whether it was replaced, and the value found (`expected` when it was).
    /// - Throws: as ``atomicStore(_:at:ordering:)``; nothing changes then.
    @discardableResult @inlinable @inline(__always)
    public func atomicCompareExchange<T: SharedAtomicInteger>(
      expected: T, desired: T, at offset: Int, ordering: MemoryOrdering = .sequentiallyConsistent
    ) throws(IPCError) -> (exchanged: Bool, original: T) {
      let address = try atomic(T.self, "atomic_compare_exchange_strong_explicit", offset, ordering, .update)
      var found = expected
      let exchanged = T._atomicCompareExchange(
        address, &found, desired, ordering.cValue, ordering.failureOrdering.cValue)
      return (exchanged, found)
    }

    /// Checks the ordering for the kind of operation, then the range,
    /// alignment (the type's size: C11 atomics need natural alignment) and
    /// access, and returns the checked address.
    @inlinable @inline(__always)
    func atomic<T: SharedAtomicInteger>(
      _ type: T.Type, _ operation: String, _ offset: Int, _ ordering: MemoryOrdering, _ kind: AtomicAccess
    ) throws(IPCError) -> UnsafeMutableRawPointer {
      if kind.refuses(ordering) { throw region.orderingError(operation, ordering, kind) }
      let size = MemoryLayout<T>.size
      return try checked(operation, offset: offset, length: size, alignment: size, writing: kind != .load)
    }
  }
}
