import Glibc
import Synchronization

extension POSIX {
  /// A POSIX shared memory object: bytes named like `/frames`, which every
  /// process mapping the object sees, reached through a ``SharedRegion``.
  ///
  /// On Linux the object is the file /dev/shm/frames on a tmpfs. This object
  /// owns one descriptor for it, closed by ``close()`` or when the object is
  /// released; mappings made by ``map(readOnly:)`` stay valid after that. The
  /// shared memory itself lives until ``unlink()``.
  ///
  ///     let memory = try POSIX.SharedMemory.create("/frames", size: 4096)
  ///     let region = try memory.map()
  ///     try region.store(Int64(42), at: 0)
  ///     try memory.unlink()
  ///
  /// Opening never resizes: ``openOrCreate(_:size:permissions:)`` checks an
  /// existing object's size instead of truncating it, and only ``resize(to:)``
  /// changes it.
  ///
  /// The object is `Sendable`. Closing it while another thread uses it is a
  /// programming error, as with any descriptor.
  public final class SharedMemory: Sendable, CustomStringConvertible {
    /// The object's name, such as `/frames`.
    public let name: String
    /// Whether the object was opened read-only: it can only be mapped read-only.
    public let isReadOnly: Bool
    /// The descriptor from `shm_open`; -1 once closed.
    let descriptor: Atomic<Int32>

    /// How long ``openOrCreate(_:size:permissions:)`` waits for a creator in
    /// another process to give a new, empty object its size.
    static let sizingTimeout: Duration = .seconds(2)

    init(name: String, descriptor: Int32, isReadOnly: Bool) {
      self.name = name
      self.isReadOnly = isReadOnly
      self.descriptor = Atomic(descriptor)
    }

    deinit {
      let fd = descriptor.exchange(-1, ordering: .acquiring)
      if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// `shared memory /name`, as errors name it.
    public var description: String { "shared memory \(name)" }

    // MARK: Creating and opening

    /// Creates a new, zero-filled object named `name` of `size` bytes,
    /// failing if one exists.
    ///
    /// The corresponding C calls are `shm_open(name, O_RDWR | O_CREAT | O_EXCL, mode)`,
    /// `fchmod` (the umask narrowed the mode) and `ftruncate(fd, size)`.
    ///
    /// - Parameters:
    ///   - name: '/' followed by 1 to 255 bytes without '/', such as `/frames`.
    ///   - size: 1 byte up to the size of the tmpfs mounted on /dev/shm.
    ///   - permissions: the object's mode, 0600 by default; set exactly,
    ///     whatever the process's umask.
    /// - Throws: `.exists` if the name is taken; `.invalidArgument` for a bad
    ///   name or a size of 0; `.noSpace` for a size /dev/shm cannot hold.
    ///   Both size errors are checked before anything is created.
    public static func create(
      _ name: String, size: Int, permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> SharedMemory {
      try open(name, flags: O_CREAT | O_EXCL, size: size, permissions: permissions)
    }

    /// Opens the object named `name`, creating it with `size` bytes if there is none.
    ///
    /// `permissions` apply only when the object is created. An existing
    /// object must be exactly `size` bytes: it is never truncated or grown.
    /// An object another process has just created, and not yet sized, is
    /// waited for briefly.
    ///
    /// The corresponding C calls are those of ``create(_:size:permissions:)``,
    /// or `shm_open(name, O_RDWR, 0)` and `fstat` when it exists.
    ///
    /// - Throws: `.invalidArgument` if the existing object has another size
    ///   (both are named).
    public static func openOrCreate(
      _ name: String, size: Int, permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> SharedMemory {
      try open(name, flags: O_CREAT, size: size, permissions: permissions)
    }

    /// Opens the existing object named `name`, whatever its size.
    ///
    /// The corresponding C call is `shm_open(name, readOnly ? O_RDONLY : O_RDWR, 0)`.
    ///
    /// - Parameters:
    ///   - name: the object's name, such as `/frames`.
    ///   - readOnly: open for reading only; the object can then only be
    ///     mapped read-only, and needs only read permission.
    /// - Throws: `.notFound` if no object has that name; `.permissionDenied`
    ///   if its permissions do not allow this access.
    public static func open(_ name: String, readOnly: Bool = false) throws(IPCError) -> SharedMemory {
      try validate(name, operation: "shm_open")
      let fd = shm_open(name, readOnly ? O_RDONLY : O_RDWR, 0)
      guard fd >= 0 else { throw openError(IPCError.Code(rawValue: errno), name: name) }
      return SharedMemory(name: name, descriptor: fd, isReadOnly: readOnly)
    }

    private static func open(_ name: String, flags: Int32, size: Int, permissions: Permissions)
      throws(IPCError) -> SharedMemory
    {
      try validate(name, operation: "shm_open")
      try checkSize(size, operation: "shm_open", object: "shared memory \(name)")
      let mode = mode_t(permissions.rawValue)
      let (result, created) = POSIXName.open(flags: flags) { flags in
        once { shm_open(name, O_RDWR | flags, mode) }
      }
      let fd: Int32
      switch result {
      case .success(let opened): fd = opened
      case .failure(let code): throw openError(code, name: name)
      }
      let memory = SharedMemory(name: name, descriptor: fd, isReadOnly: false)
      if created {
        do throws(IPCError) {
          // shm_open applied the umask: set exactly what was asked.
          if case .failure(let code) = once({ fchmod(fd, mode) }) {
            throw memory.error(code, "fchmod")
          }
          try memory.truncate(to: size, operation: "ftruncate")
        } catch {
          _ = shm_unlink(name)  // this call made it: leave nothing half made
          throw error
        }
        POSIXName.recordCreation(
          name, kind: POSIXName.RecordKind.sharedMemory, info: POSIXName.status(of: fd))
        return memory
      }
      // A creator elsewhere may not have called ftruncate yet: an empty
      // object is given a moment to reach its size.
      let found =
        try Polling.until(sizingTimeout) { () throws(IPCError) -> Int? in
          let now = try memory.size
          return now == 0 ? nil : now
        } ?? 0
      guard found == size else {
        throw IPCError(
          code: .invalidArgument, operation: "shm_open", object: memory.description,
          reason: "\(name) exists with \(found) bytes, not the \(size) asked for; it is never"
            + " resized on open: open it with its size, or call resize(to:)")
      }
      return memory
    }

    private static func validate(_ name: String, operation: String) throws(IPCError) {
      try POSIXName.validate(name, operation: operation, kind: "shared memory", example: "/frames")
    }

    /// Throws unless `size` is at least 1 byte and fits in the tmpfs on
    /// /dev/shm. ftruncate on tmpfs reserves nothing, so a size too big would
    /// only fail later, with SIGBUS on a store: it is refused here instead.
    static func checkSize(_ size: Int, operation: String, object: String) throws(IPCError) {
      guard size > 0 else {
        throw IPCError(
          code: .invalidArgument, operation: operation, object: object,
          reason: "a shared memory object's size must be at least 1 byte, not \(size)")
      }
      var info = statvfs()
      // f_blocks is 0 on a tmpfs mounted without a size limit.
      guard statvfs("/dev/shm", &info) == 0, info.f_blocks > 0 else { return }
      let (capacity, overflow) = UInt64(info.f_blocks).multipliedReportingOverflow(by: UInt64(info.f_frsize))
      guard !overflow, UInt64(size) > capacity else { return }
      throw IPCError(
        code: .noSpace, operation: operation, object: object,
        reason: "\(size) bytes exceed the \(capacity) bytes of the tmpfs on /dev/shm"
          + " (its size= mount option; see df /dev/shm)")
    }

    private static func openError(_ code: IPCError.Code, name: String) -> IPCError {
      let reason: String? =
        switch code {
        case .notFound: "no shared memory object is named \(name); create it first"
        case .exists: "a shared memory object named \(name) already exists; open it, or unlink it first"
        case .permissionDenied:
          "the shared memory object \(name) exists but its permissions do not allow this access"
        default: nil
        }
      return IPCError(code: code, operation: "shm_open", object: "shared memory \(name)", reason: reason)
    }

    // MARK: Size and mapping

    /// The object's size in bytes now; another process may change it.
    ///
    /// The corresponding C call is `fstat`.
    public var size: Int {
      get throws(IPCError) {
        let fd = try live("fstat")
        var info = Glibc.stat()
        if case .failure(let code) = once({ fstat(fd, &info) }) { throw error(code, "fstat") }
        return Int(info.st_size)
      }
    }

    /// Reads bytes at `offset` into `buffer` through the descriptor, never
    /// through a mapping: another process may shrink the object at any time
    /// (`ftruncate`, or `truncate` on /dev/shm), and touching a mapped page
    /// past the new end kills with SIGBUS, where this returns fewer bytes.
    ///
    /// The corresponding C function is `pread`.
    ///
    /// - Returns: how many bytes were read: fewer than `buffer.count` only
    ///   when the object ends first (0 at or past its end).
    /// - Throws: `.invalidArgument` for a negative offset.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
      let fd = try live("pread")
      guard offset >= 0 else {
        throw IPCError(
          code: .invalidArgument, operation: "pread", object: description,
          reason: "offset \(offset) is negative")
      }
      guard let base = buffer.baseAddress else { return 0 }
      var done = 0
      while done < buffer.count {
        let (position, overflow) = offset.addingReportingOverflow(done)
        // No object reaches Int.max: asking past it is reading past the end
        // (the kernel refuses a range that overflows its offset with EINVAL).
        let count = overflow ? 0 : Swift.min(buffer.count - done, Int.max - position)
        if count == 0 { break }
        switch retryingInterrupts(.read, { pread(fd, base + done, count, off_t(position)) }) {
        case .success(0): return done
        case .success(let count): done += count
        case .failure(let code): throw error(code, "pread")
        }
      }
      return done
    }

    /// Writes `bytes` at `offset` through the descriptor, never through a
    /// mapping (see ``read(at:into:)``), and never past the object's current
    /// end: it does not grow the object.
    ///
    /// The corresponding C calls are `fstat` and `pwrite`.
    ///
    /// - Throws: `.invalidArgument` if the bytes would not fit before the end
    ///   (nothing is written); `.permissionDenied` for an object opened read-only.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(IPCError) {
      let fd = try live("pwrite")
      guard !isReadOnly else {
        throw IPCError(
          code: .permissionDenied, operation: "pwrite", object: description,
          reason: "the object was opened read-only; open it read-write to write")
      }
      let size = try self.size
      guard offset >= 0, offset <= size, bytes.count <= size - offset else {
        throw IPCError(
          code: .invalidArgument, operation: "pwrite", object: description,
          reason: "\(bytes.count) bytes at offset \(offset) do not fit in the object's \(size) bytes;"
            + " nothing was written")
      }
      guard let base = bytes.baseAddress else { return }
      var done = 0
      while done < bytes.count {
        switch retryingInterrupts(
          .write, { pwrite(fd, base + done, bytes.count - done, off_t(offset + done)) })
        {
        case .success(let count): done += count
        case .failure(let code): throw error(code, "pwrite")
        }
      }
    }

    /// Maps the whole object, at its current size, and returns its bytes.
    ///
    /// The region stays valid after this object is closed, and is unmapped
    /// by `SharedRegion.close()` or when it is released. A read-only region
    /// refuses every change with `.permissionDenied` before touching memory.
    ///
    /// The corresponding C call is `mmap(NULL, size, PROT_READ[|PROT_WRITE], MAP_SHARED, fd, 0)`;
    /// the region's release calls `munmap`.
    ///
    /// - Throws: `.permissionDenied` for a read-write map of an object opened
    ///   read-only, checked before the call; `.invalidArgument` for an empty object.
    public func map(readOnly: Bool = false) throws(IPCError) -> SharedRegion {
      guard readOnly || !isReadOnly else {
        throw IPCError(
          code: .permissionDenied, operation: "mmap", object: description,
          reason: "the object was opened read-only; map it with readOnly: true, or open it read-write")
      }
      let fd = try live("mmap")
      let count = try size
      guard count > 0 else {
        throw IPCError(
          code: .invalidArgument, operation: "mmap", object: description,
          reason: "the object is empty (0 bytes); give it a size with resize(to:) first")
      }
      let protection = readOnly ? PROT_READ : PROT_READ | PROT_WRITE
      guard let address = mmap(nil, count, protection, MAP_SHARED, fd, 0), address != MAP_FAILED else {
        throw error(IPCError.Code(rawValue: errno), "mmap")
      }
      return SharedRegion(address: address, count: count, isWritable: !readOnly, object: description) {
        address, count in
        _ = munmap(address, count)
      }
    }

    /// Sets the object's size to `size` bytes: new bytes read as zero, bytes
    /// past a smaller size are lost.
    ///
    /// Existing mappings keep the size they were made with: map again to see
    /// a larger object, and never touch bytes of a mapping past a smaller one
    /// (the kernel would send SIGBUS). The corresponding C call is `ftruncate`.
    ///
    /// - Throws: `.invalidArgument` for a size of 0; `.noSpace` for a size
    ///   /dev/shm cannot hold; `.permissionDenied` if opened read-only.
    public func resize(to size: Int) throws(IPCError) {
      try Self.checkSize(size, operation: "ftruncate", object: description)
      guard !isReadOnly else {
        throw IPCError(
          code: .permissionDenied, operation: "ftruncate", object: description,
          reason: "the object was opened read-only; open it read-write to resize it")
      }
      try truncate(to: size, operation: "ftruncate")
    }

    private func truncate(to size: Int, operation: String) throws(IPCError) {
      let fd = try live(operation)
      if case .failure(let code) = once({ ftruncate(fd, off_t(size)) }) {
        throw error(code, operation)
      }
    }

    // MARK: Closing and unlinking

    /// Closes the descriptor now rather than when the object is released.
    /// Mappings and the shared memory itself stay; later calls on this object
    /// fail with `EBADF`.
    ///
    /// The corresponding C function is `close`.
    public func close() throws(IPCError) {
      let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
      guard fd >= 0 else { throw closedError("close") }
      if case .failure(let code) = once({ Glibc.close(fd) }) { throw error(code, "close") }
    }

    /// Removes the object's name. Processes that have it open or mapped keep
    /// using it; its memory is freed when the last of them lets it go.
    ///
    /// The corresponding C function is `shm_unlink`.
    public func unlink() throws(IPCError) {
      try Self.unlink(name)
    }

    /// Removes the shared memory object named `name`; see ``unlink()``.
    ///
    /// - Throws: `.notFound` if no object has that name.
    public static func unlink(_ name: String) throws(IPCError) {
      try validate(name, operation: "shm_unlink")
      try POSIXName.unlink(
        name, operation: "shm_unlink", object: "shared memory \(name)", kind: "shared memory object",
        recordKind: POSIXName.RecordKind.sharedMemory,
        forbidden: "this process may not unlink \(name) (see the permissions of /dev/shm)"
      ) { shm_unlink($0) }
    }

    // MARK: Helpers

    /// The open descriptor, or an error naming `operation` if it was closed.
    private func live(_ operation: String) throws(IPCError) -> Int32 {
      let fd = descriptor.load(ordering: .acquiring)
      guard fd >= 0 else { throw closedError(operation) }
      return fd
    }

    private func closedError(_ operation: String) -> IPCError {
      IPCError(
        code: .badDescriptor, operation: operation, object: description,
        reason: "this shared memory object was closed; open it again to use it")
    }

    private func error(_ code: IPCError.Code, _ operation: String) -> IPCError {
      let reason: String? =
        switch code {
        case .noSpace: "/dev/shm is full (see df /dev/shm)"
        case .noMemory: "this process has no room in its address space for the mapping"
        default: nil
        }
      return IPCError(code: code, operation: operation, object: description, reason: reason)
    }
  }
}
