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
    try access(
      "load", offset: offset, length: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment,
      writing: false
    ) { pointer in pointer.load(as: T.self) }
  }

  /// Stores `value` at `offset`, with the checks of ``load(_:at:)``.
  ///
  /// The corresponding Swift call is `UnsafeMutableRawPointer.storeBytes(of:toByteOffset:as:)`.
  ///
  /// - Throws: `.permissionDenied` on a read-only region, `.invalidArgument`
  ///   for an offset outside the region or misaligned, `.badDescriptor` once
  ///   closed; the region is unchanged.
  public func store<T: BitwiseCopyable>(_ value: T, at offset: Int) throws(IPCError) {
    try access(
      "store", offset: offset, length: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment,
      writing: true
    ) { pointer in pointer.storeBytes(of: value, as: T.self) }
  }

  // MARK: Bytes

  /// A copy of the `count` bytes at `offset`.
  ///
  /// The corresponding C function is `memcpy`.
  ///
  /// - Throws: `.invalidArgument` if the bytes do not lie inside the region.
  public func bytes(at offset: Int, count: Int) throws(IPCError) -> [UInt8] {
    try access("bytes", offset: offset, length: count, writing: false) { source in
      [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 {
          buffer.baseAddress!.update(from: source.assumingMemoryBound(to: UInt8.self), count: count)
        }
        initialized = count
      }
    }
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
    try access("write", offset: offset, length: bytes.count, writing: true) { destination in
      if let base = bytes.baseAddress { destination.copyMemory(from: base, byteCount: bytes.count) }
    }
  }

  // MARK: Scoped access

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
    try accessRethrowing("withUnsafeBytes", offset: 0, length: count, writing: false) { base in
      try body(UnsafeRawBufferPointer(start: base, count: count))
    }
  }

  /// Runs `body` with the whole region as a buffer of mutable bytes; see
  /// ``withUnsafeBytes(_:)``. Other processes see changes made in `body`
  /// without any further call; use a ``SharedMutex`` or atomics to order them.
  ///
  /// - Throws: `.permissionDenied` on a read-only region (before `body`
  ///   runs), `.badDescriptor` if closed, or `body`'s error.
  public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
    try accessRethrowing("withUnsafeMutableBytes", offset: 0, length: count, writing: true) { base in
      try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }
  }
}
