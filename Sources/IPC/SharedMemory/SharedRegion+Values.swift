extension SharedRegion {
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
  /// - Throws: `.invalidArgument` for an offset outside the region or
  ///   misaligned; `.badDescriptor` once the region is closed.
  public func load<T: BitwiseCopyable>(_ type: T.Type = T.self, at offset: Int) throws(IPCError) -> T {
    try entered("load") { (access) throws(IPCError) in try access.load(type, at: offset) }
  }

  /// Stores `value` at `offset`, with the checks of ``load(_:at:)``.
  ///
  /// The corresponding Swift call is `UnsafeMutableRawPointer.storeBytes(of:toByteOffset:as:)`.
  ///
  /// - Throws: `.permissionDenied` on a read-only region, `.invalidArgument`
  ///   for an offset outside the region or misaligned, `.badDescriptor` once
  ///   closed; the region is unchanged.
  public func store<T: BitwiseCopyable>(_ value: T, at offset: Int) throws(IPCError) {
    try entered("store") { (access) throws(IPCError) in try access.store(value, at: offset) }
  }

  // MARK: Bytes

  /// A copy of the `count` bytes at `offset`.
  ///
  /// The corresponding C function is `memcpy`.
  ///
  /// - Throws: `.invalidArgument` if the bytes do not lie inside the region.
  public func bytes(at offset: Int, count: Int) throws(IPCError) -> [UInt8] {
    try entered("bytes") { (access) throws(IPCError) in try access.bytes(at: offset, count: count) }
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
  ///   region, `.badDescriptor` once closed; `destination` is unchanged then.
  public func bytes(at offset: Int, into destination: UnsafeMutableRawBufferPointer) throws(IPCError) {
    try entered("bytes") { (access) throws(IPCError) in try access.bytes(at: offset, into: destination) }
  }

  /// Copies `bytes` into the region from `offset` on.
  ///
  /// Arrays, slices and other contiguous collections are copied in place; any
  /// other sequence is gathered into an array first. The corresponding C
  /// function is `memcpy`.
  ///
  /// - Throws: `.permissionDenied` on a read-only region, `.invalidArgument`
  ///   if the bytes would not fit; nothing is written then.
  public func write(_ bytes: some Sequence<UInt8>, at offset: Int) throws(IPCError) {
    try withContiguousBytes(bytes) { (source) throws(IPCError) in try write(source, at: offset) }
  }

  /// Copies the bytes `bytes` points to into the region from `offset` on.
  ///
  /// The same as the generic ``write(_:at:)``, without its cost: a generic
  /// call from another module is not specialized, and fetched `Result`
  /// metadata at run time on every call (about 2,000 instructions per call).
  /// The corresponding C function is `memcpy`.
  ///
  /// - Throws: `.permissionDenied` on a read-only region, `.invalidArgument`
  ///   if the bytes would not fit; nothing is written then.
  public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(IPCError) {
    try entered("write") { (access) throws(IPCError) in try access.write(bytes, at: offset) }
  }

  // MARK: Scoped access

  /// Runs `body` with an ``Access`` on which to make many checked
  /// operations, counting them as one access to the region.
  ///
  /// Every operation of the access checks what the region's method of the
  /// same name checks, with the same errors; what the access saves is the
  /// count of accesses in progress that lets ``close()`` on another thread
  /// wait for them (an atomic compare-exchange and a subtraction per call),
  /// paid here once for the whole of `body`. Use it around a loop over the
  /// region, such as a ring's producer or consumer:
  ///
  ///     try region.withAccess { access in
  ///       for _ in 0..<1000 { try access.atomicAdd(Int64(1), at: 8, ordering: .relaxed) }
  ///     }
  ///
  /// The access is valid only inside `body`: do not let it escape, since the
  /// region may be unmapped afterwards. A ``close()`` from another thread
  /// while `body` runs returns at once and unmaps the region when `body`
  /// ends. Typed throws cannot join this call's ``IPCError`` (region closed)
  /// with `body`'s own error type, so the method throws untyped, as
  /// ``withUnsafeBytes(_:)`` does: either an ``IPCError`` or what `body` threw.
  ///
  /// - Parameter body: the operations, given the access.
  /// - Returns: what `body` returned.
  /// - Throws: `.badDescriptor` if the region is closed (before `body`
  ///   runs), or `body`'s error.
  @inlinable
  public func withAccess<R, E: Error>(_ body: (Access) throws(E) -> R) throws -> R {
    // Generic over body's error: converting a `throws(IPCError)` closure to an
    // untyped one crashes Swift 6.3's IRGen (a reabstraction thunk).
    try enteredRethrowing("withAccess") { access in try body(access) }
  }

  /// Runs `body` with the whole region as a buffer of bytes.
  ///
  /// The buffer is valid only inside `body`: do not let it or pointers into it
  /// escape, since the region may be unmapped afterwards. Typed throws cannot
  /// join this call's ``IPCError`` (region closed) with `body`'s own error
  /// type, so the method throws untyped: either an ``IPCError`` or what
  /// `body` threw.
  ///
  /// - Throws: `.badDescriptor` if the region is closed, or `body`'s error.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    try enteredRethrowing("withUnsafeBytes") { access in
      try body(UnsafeRawBufferPointer(start: access.base, count: count))
    }
  }

  /// Runs `body` with the whole region as a buffer of mutable bytes; see
  /// ``withUnsafeBytes(_:)``. Other processes see changes made in `body`
  /// without any further call; use a ``SharedMutex`` or atomics to order them.
  ///
  /// - Throws: `.permissionDenied` on a read-only region (before `body`
  ///   runs), `.badDescriptor` if closed, or `body`'s error.
  public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
    try enteredRethrowing("withUnsafeMutableBytes") { access in
      let base = try access.checked(
        "withUnsafeMutableBytes", offset: 0, length: count, alignment: 1, writing: true)
      return try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }
  }
}
