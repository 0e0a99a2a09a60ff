import Glibc

extension SystemV.SharedMemory {
  /// A snapshot of a segment's state, as `shmctl(IPC_STAT)` reports it.
  public struct Status: Hashable, Sendable, SystemV.OwnedStatus {
    /// The key the segment was made with; ``SystemV/Key/private`` if none,
    /// and also once the segment is marked for removal (the kernel clears it).
    public var key: SystemV.Key
    /// The segment's owner, creator and access permissions (`shm_perm`):
    /// read permission to attach read-only, read and write to attach read-write.
    public var ownership: SystemV.Ownership
    /// Whether ``SystemV/SharedMemory/remove()`` marked the segment: it goes
    /// away at the last detach (`SHM_DEST`, "dest" in `ipcs -m`).
    public var isMarkedForRemoval: Bool
    /// The segment's size in bytes (`shm_segsz`), as it was created.
    public var size: Int
    /// How many attachments exist, across all processes (`shm_nattch`).
    public var attachCount: Int
    /// The process that made the segment (`shm_cpid`).
    public var creatorPID: Int32
    /// The process that last attached or detached (`shm_lpid`), or nil if
    /// none has.
    public var lastPID: Int32?
    /// When the segment was last attached, in seconds since the Unix epoch,
    /// or nil if never (`shm_atime`).
    public var lastAttachTime: Int?
    /// When the segment was last detached, in seconds since the epoch, or
    /// nil if never (`shm_dtime`).
    public var lastDetachTime: Int?
    /// When the segment was made or last changed by `shmctl`, in seconds
    /// since the epoch (`shm_ctime`).
    public var lastChangeTime: Int

    init(_ info: shmid_ds) {
      key = SystemV.Key(rawValue: info.shm_perm.__key)
      ownership = SystemV.Ownership(info.shm_perm)
      isMarkedForRemoval = Int32(info.shm_perm.mode) & SHM_DEST != 0
      size = Int(info.shm_segsz)
      attachCount = Int(info.shm_nattch)
      creatorPID = info.shm_cpid
      lastPID = info.shm_lpid == 0 ? nil : info.shm_lpid
      lastAttachTime = info.shm_atime == 0 ? nil : Int(info.shm_atime)
      lastDetachTime = info.shm_dtime == 0 ? nil : Int(info.shm_dtime)
      lastChangeTime = Int(info.shm_ctime)
    }
  }
}
