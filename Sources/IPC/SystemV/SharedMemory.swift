import Glibc

extension SystemV {
  /// A System V shared memory segment: bytes that every process attaching
  /// it sees, reached through a ``SharedRegion``.
  ///
  /// The segment is a kernel object named by its id; this handle is a small
  /// copyable value, and copying it does not copy the segment. The segment
  /// lives until ``remove()`` and the last detach, whatever happens to the
  /// processes that use it.
  ///
  ///     let memory = try SystemV.SharedMemory.create(size: 4096)  // IPC_PRIVATE, 0600
  ///     let region = try memory.attach()
  ///     try region.store(Int64(42), at: 0)
  ///     try memory.remove()   // gone once every process has detached
  ///
  /// Opening never resizes: a size given to ``openOrCreate(key:size:permissions:)``
  /// or ``open(key:size:)`` must be the segment's size, or the call throws
  /// (`shmget` alone would accept any smaller size without a word).
  public struct SharedMemory: Hashable, Sendable, CustomStringConvertible {
    /// The kernel's id for the segment (the `shmid` column of `ipcs -m`).
    public let id: Int32
    /// The segment's size in bytes; fixed when it was made.
    public let size: Int

    init(id: Int32, size: Int) {
      self.id = id
      self.size = size
    }

    /// `shared memory segment <id>`, as errors name it.
    public var description: String { "shared memory segment \(id)" }

    // MARK: Creating and opening

    /// Creates a new, zero-filled segment of `size` bytes, failing if one
    /// already exists for `key`.
    ///
    /// With the default ``Key/private`` key, every call makes a new segment
    /// that other processes can only reach through its ``id``.
    ///
    /// The corresponding C call is `shmget(key, size, IPC_CREAT | IPC_EXCL | mode)`.
    ///
    /// - Parameters:
    ///   - key: the key other processes open the segment by.
    ///   - size: 1 byte to shmmax (/proc/sys/kernel/shmmax).
    ///   - permissions: the segment's mode, 0600 by default; set exactly.
    /// - Throws: `.exists` if `key` already names a segment; `.invalidArgument`
    ///   for a size of 0 or above shmmax, checked before the call; `.noSpace`
    ///   at the system's limits on segments (shmmni) or pages (shmall).
    public static func create(
      key: Key = .private, size: Int, permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> SharedMemory {
      try validate(size, key: key)
      let id = try get(key: key, size: size, flags: IPC_CREAT | IPC_EXCL | SystemV.mode(permissions))
      return created(id: id, size: size)
    }

    /// Opens the segment for `key`, creating it with `size` bytes if there is none.
    ///
    /// `permissions` apply only when the segment is created. An existing
    /// segment must be exactly `size` bytes: it is never resized.
    ///
    /// The corresponding C calls are `shmget(key, size, IPC_CREAT | IPC_EXCL | mode)`,
    /// or `shmget(key, 0, 0)` and `shmctl(IPC_STAT)` when it exists.
    ///
    /// - Throws: `.invalidArgument` if the existing segment has another size
    ///   (both are named), or for a size of 0 or above shmmax.
    public static func openOrCreate(
      key: Key, size: Int, permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> SharedMemory {
      try validate(size, key: key)
      // Only a segment that existed needs its size checked.
      return try SystemV.openOrCreate(
        createExclusively: { shmget(key.rawValue, size, IPC_CREAT | IPC_EXCL | SystemV.mode(permissions)) },
        openExisting: { shmget(key.rawValue, 0, 0) },
        created: { created(id: $0, size: size) },
        opened: { (id) throws(IPCError) in try opened(id: id, key: key, size: size) },
        failure: { getError($0, key: key, size: size) })
    }

    /// Opens the existing segment for `key`.
    ///
    /// The corresponding C calls are `shmget(key, 0, 0)` and `shmctl(IPC_STAT)`,
    /// which reads the segment's size.
    ///
    /// - Parameters:
    ///   - key: the segment's key.
    ///   - size: the size the segment must have; nil to take whatever size it has.
    /// - Throws: `.notFound` if no segment exists for `key`; `.invalidArgument`
    ///   if it is not `size` bytes (both are named); `.permissionDenied` if its
    ///   permissions do not let this process read it.
    public static func open(key: Key, size: Int? = nil) throws(IPCError) -> SharedMemory {
      try SystemV.checkOpenable(key, operation: "shmget", kind: "segment")
      if let size { try validate(size, key: key) }
      let id = try get(key: key, size: 0, flags: 0)
      return try opened(id: id, key: key, size: size)
    }

    /// Opens the existing segment with kernel id `id`.
    ///
    /// The corresponding C call is `shmctl(id, IPC_STAT, ...)`, which reads
    /// the segment's size.
    ///
    /// - Throws: `.notFound` if no segment has that id (the kernel says `EINVAL`).
    public static func open(id: Int32) throws(IPCError) -> SharedMemory {
      try opened(id: id, key: nil, size: nil)
    }

    /// The segment `id` this process just made, with its owner record written.
    private static func created(id: Int32, size: Int) -> SharedMemory {
      OwnerRecords.record(kind: SystemV.RecordKind.sharedMemory, identity: "\(id)")
      return SharedMemory(id: id, size: size)
    }

    /// Throws unless `size` is 1 to shmmax.
    private static func validate(_ size: Int, key: Key) throws(IPCError) {
      guard size > 0 else {
        throw IPCError(
          code: .invalidArgument, operation: "shmget", object: "key \(key)",
          reason: "a segment's size must be at least 1 byte, not \(size)")
      }
      let limit = Limits.current().maxSegmentSize
      guard size <= limit else {
        throw IPCError(
          code: .invalidArgument, operation: "shmget", object: "key \(key)",
          reason: "a segment of \(size) bytes exceeds shmmax \(limit), the largest segment,"
            + " see \(Limits.maxSegmentSizePath)")
      }
    }

    private static func get(key: Key, size: Int, flags: Int32) throws(IPCError) -> Int32 {
      switch once({ shmget(key.rawValue, size, flags) }) {
      case .success(let id): return id
      case .failure(let code): throw getError(code, key: key, size: size)
      }
    }

    private static func getError(_ code: IPCError.Code, key: Key, size: Int) -> IPCError {
      let reason: String?
      switch code {
      case .notFound:
        reason = "no shared memory segment exists for key \(key); create it first"
      case .exists:
        let which = SystemV.existingID { shmget(key.rawValue, 0, 0) }
        reason = "a shared memory segment already exists for key \(key)\(which); open it, or remove it first"
      case .noSpace:
        let limits = Limits.current()
        reason =
          "the system's limit of \(limits.maxSegments) segments (shmmni, see \(Limits.maxSegmentsPath))"
          + " or \(limits.maxTotalPages) pages in all segments (shmall, see \(Limits.maxTotalPagesPath))"
          + " is reached"
      case .noMemory:
        reason = "the kernel could not allocate \(size) bytes for the segment"
      case .permissionDenied:
        reason = "the segment for key \(key) exists but its permissions do not allow this process in"
      default:
        reason = nil
      }
      return IPCError(code: code, operation: "shmget", object: "key \(key)", reason: reason)
    }

    /// The segment for `id`, once its size is read and, if `size` is given,
    /// found equal to it.
    private static func opened(id: Int32, key: Key?, size: Int?) throws(IPCError) -> SharedMemory {
      let probe = SharedMemory(id: id, size: 0)
      let info = try probe.statData(missing: key.map { "the segment for key \($0) was removed" })
      let actual = Int(info.shm_segsz)
      if let size, size != actual {
        let which = key.map { "the segment for key \($0) (id \(id))" } ?? "segment \(id)"
        throw IPCError(
          code: .invalidArgument, operation: "shmget", object: probe.description,
          reason: "\(which) is \(actual) bytes, not the \(size) asked for; it is never resized:"
            + " open it with its size, or remove it first")
      }
      return SharedMemory(id: id, size: actual)
    }

    // MARK: Attaching

    /// Attaches the segment to this process and returns its bytes.
    ///
    /// The region is detached by `SharedRegion.close()` or when it is
    /// released. A read-only region refuses every change with
    /// `.permissionDenied` before touching memory.
    ///
    /// The corresponding C call is `shmat(id, NULL, readOnly ? SHM_RDONLY : 0)`;
    /// the region's release calls `shmdt`.
    ///
    /// - Throws: `.permissionDenied` if the segment's permissions do not allow
    ///   this access; `.invalidArgument` if no segment has this id.
    public func attach(readOnly: Bool = false) throws(IPCError) -> SharedRegion {
      guard let address = shmat(id, nil, readOnly ? SHM_RDONLY : 0),
        address != UnsafeMutableRawPointer(bitPattern: -1)
      else {
        let code = IPCError.Code(rawValue: errno)
        let reason: String? =
          switch code {
          case .invalidArgument: "no shared memory segment has id \(id) (never made, or removed)"
          case .permissionDenied:
            "the segment's permissions do not let this process attach it"
              + (readOnly ? " (read-only needs read permission)" : " read-write; try readOnly: true")
          case .noMemory: "this process has no room in its address space for \(size) bytes"
          default: nil
          }
        throw IPCError(code: code, operation: "shmat", object: description, reason: reason)
      }
      return SharedRegion(
        address: address, count: size, isWritable: !readOnly, object: description
      ) { address, _ in
        _ = shmdt(address)
      }
    }
  }
}
