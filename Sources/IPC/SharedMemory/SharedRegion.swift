import Glibc
import Synchronization

/// The mapped bytes of a shared-memory object, shared by every process that
/// maps the same object: what `SystemV.SharedMemory` (`shmat`) and
/// `POSIX.SharedMemory` (`mmap`) hand out.
///
///     try region.store(Int64(42), at: 0)
///     let value = try region.load(Int64.self, at: 0)
///     try region.atomicAdd(Int64(1), at: 8)
///     let mutex = try region.initializeMutex(at: 64)
///     try mutex.withLock(recover: { /* repair after a crash */ }) { /* ... */ }
///
/// Every access is checked before memory is touched: an offset or length
/// outside the region, a misaligned value, or a change to a read-only mapping
/// throws an ``IPCError`` (`.invalidArgument`, `.permissionDenied`) and
/// changes nothing, where a raw pointer would corrupt memory or die of
/// `SIGSEGV`. Memory is reached only through values copied in and out, and
/// through scoped closures, so no pointer into the region outlives the mapping.
///
/// The object owns the mapping: it is released (`munmap` or `shmdt`) by
/// ``close()`` or when the object is released. After ``close()`` every access
/// throws `.badDescriptor`. The shared-memory object itself lives on.
///
/// The region is `Sendable`: threads may use it together, and ``close()`` on
/// one thread while another is inside an access defers the unmapping until
/// that access ends, so it never pulls memory from under a running access.
/// Plain ``load(_:at:)`` and ``store(_:at:)`` are not atomic: guard data shared
/// by several writers with a ``SharedMutex`` or use the atomic operations.
/// For many operations in a row, such as a loop over a ring, ``withAccess(_:)``
/// counts the access once and checks each operation as these methods do.
public final class SharedRegion: Sendable, CustomStringConvertible {
  /// The first byte of the mapping; fixed for the object's life, used only
  /// while an access is counted in `state`. Kept as a bit pattern: a pointer
  /// is not `Sendable`, and this one is used only under that count.
  @usableFromInline let addressBits: Int
  @usableFromInline var address: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: addressBits)! }
  /// The size of the region in bytes.
  public let count: Int
  /// Whether the region is mapped for writing; stores, writes, mutable
  /// access and atomic changes on a read-only region throw `.permissionDenied`.
  public let isWritable: Bool
  /// The object the region maps, as errors name it, such as `shared memory /name`.
  let object: String
  /// Gives the mapping back to the kernel (`munmap`, `shmdt`); called exactly once.
  private let release: @Sendable (UnsafeMutableRawPointer, Int) -> Void
  /// Bit 0: closed. Bits 1...: accesses in progress. Whoever brings it to
  /// "closed and no access" releases the mapping.
  @usableFromInline let state = Atomic<Int>(0)

  /// Wraps a mapping of `count` bytes at `address`, released by `release`.
  ///
  /// - Parameters:
  ///   - address: the mapping's first byte, as `mmap` or `shmat` returned it.
  ///   - count: the number of bytes mapped (the object's size).
  ///   - isWritable: whether the mapping allows writing (`PROT_WRITE`, or
  ///     `shmat` without `SHM_RDONLY`).
  ///   - object: the object's description for errors, such as `shared memory /name`.
  ///   - release: unmaps the region; called once, by ``close()`` or `deinit`.
  init(
    address: UnsafeMutableRawPointer, count: Int, isWritable: Bool, object: String,
    release: @escaping @Sendable (UnsafeMutableRawPointer, Int) -> Void
  ) {
    precondition(count >= 0, "a region's size is never negative")
    self.addressBits = Int(bitPattern: address)
    self.count = count
    self.isWritable = isWritable
    self.object = object
    self.release = release
  }

  deinit {
    // No access can be in progress: each holds a reference.
    if state.load(ordering: .acquiring) & 1 == 0 { releaseMapping() }
  }

  /// The object the region maps, with its size and access.
  public var description: String {
    "\(count)-byte \(isWritable ? "read-write" : "read-only") region of \(object)"
  }

  /// Whether ``close()`` was called.
  public var isClosed: Bool { state.load(ordering: .relaxed) & 1 != 0 }

  /// Unmaps the region now rather than when the object is released. The
  /// shared-memory object and its contents stay; later accesses through this
  /// object throw `.badDescriptor`.
  ///
  /// Accesses already running on other threads finish first: the mapping is
  /// released when the last of them ends. The corresponding C function is
  /// `munmap` (POSIX) or `shmdt` (System V).
  ///
  /// - Throws: `.badDescriptor` if the region was already closed.
  public func close() throws(IPCError) {
    let old = state.bitwiseOr(1, ordering: .acquiringAndReleasing).oldValue
    guard old & 1 == 0 else { throw closedError("close") }
    if old == 0 { releaseMapping() }
  }

  // MARK: Counted access (internal)

  /// Runs `body` with an ``Access`` to the region, counted in `state` so that
  /// ``close()`` waits for it: the one place where accesses enter and leave.
  @inlinable @inline(__always)
  func entered<R>(_ operation: String, _ body: (Access) throws(IPCError) -> R) throws(IPCError) -> R {
    try enter(operation)
    defer { leave() }
    return try body(Access(self))
  }

  /// The untyped form of ``entered(_:_:)``, for bodies that throw the caller's errors.
  @inlinable @inline(__always)
  func enteredRethrowing<R>(_ operation: String, _ body: (Access) throws -> R) throws -> R {
    try enter(operation)
    defer { leave() }
    return try body(Access(self))
  }

  /// Runs `body` with the address `offset` bytes into the region, once the
  /// region is open and ``Access`` has checked the range, alignment and,
  /// if `writing`, writability. The mapping stays while `body` runs.
  @inline(__always)
  func access<R>(
    _ operation: String, offset: Int, length: Int, alignment: Int = 1, writing: Bool,
    _ body: (UnsafeMutableRawPointer) throws(IPCError) -> R
  ) throws(IPCError) -> R {
    try entered(operation) { (access) throws(IPCError) in
      try body(
        access.checked(operation, offset: offset, length: length, alignment: alignment, writing: writing))
    }
  }

  /// Throws what ``access(_:offset:length:alignment:writing:_:)`` would for a
  /// bad range, misalignment or a change to a read-only region, without
  /// entering: the checks compute an address and never touch memory.
  func check(_ operation: String, offset: Int, length: Int, alignment: Int, writing: Bool)
    throws(IPCError)
  {
    _ = try Access(self).checked(
      operation, offset: offset, length: length, alignment: alignment, writing: writing)
  }

  /// Counts an access in progress, unless the region is closed.
  @inlinable @inline(__always)
  func enter(_ operation: String) throws(IPCError) {
    var current = state.load(ordering: .relaxed)
    while true {
      guard current & 1 == 0 else { throw closedError(operation) }
      let (exchanged, original) = state.weakCompareExchange(
        expected: current, desired: current + 2, ordering: .acquiring)
      if exchanged { return }
      current = original
    }
  }

  /// Ends an access; the last one after ``close()`` releases the mapping.
  @inlinable @inline(__always)
  func leave() {
    if state.subtract(2, ordering: .acquiringAndReleasing).oldValue == 3 { releaseMapping() }
  }

  /// Gives the mapping back; called once, by whoever brought `state` to
  /// "closed and no access". Not inlined: it runs once per region.
  @usableFromInline
  func releaseMapping() { release(address, count) }

  // MARK: Errors (not inlined: formatting stays off the hot path)

  @usableFromInline
  func rangeError(_ operation: String, offset: Int, length: Int) -> IPCError {
    let reason: String
    if offset < 0 {
      reason = "offset \(offset) is negative"
    } else if length < 0 {
      reason = "length \(length) is negative"
    } else {
      reason =
        "\(length) byte\(length == 1 ? "" : "s") at offset \(offset) reach past the end"
        + " of the region of \(count) bytes"
    }
    return IPCError(
      code: .invalidArgument, operation: operation, object: object,
      reason: reason
        + (count == 0 ? " (the region is empty)" : " (the region's offsets are 0 to \(count - 1))")
        + "; nothing was touched")
  }

  @usableFromInline
  func misalignedError(_ operation: String, offset: Int, length: Int, alignment: Int, writing: Bool)
    -> IPCError
  {
    IPCError(
      code: .invalidArgument, operation: operation, object: object,
      reason: "offset \(offset) is not a multiple of \(alignment), the alignment this \(length)-byte"
        + " value needs; nothing was \(writing ? "written" : "read")")
  }

  @usableFromInline
  func readOnlyError(_ operation: String) -> IPCError {
    IPCError(
      code: .permissionDenied, operation: operation, object: object,
      reason: "the region is mapped read-only; map it read-write to change it"
        + " (nothing was written)")
  }

  @usableFromInline
  func closedError(_ operation: String) -> IPCError {
    IPCError(
      code: .badDescriptor, operation: operation, object: object,
      reason: "this region was closed (unmapped); map the shared memory again to use it")
  }
}
