import Glibc

extension SystemV.SemaphoreSet {
  /// A snapshot of a set's state, as `semctl(IPC_STAT)` reports it.
  public struct Status: Hashable, Sendable {
    /// The key the set was made with (``SystemV/Key/private`` if none).
    public var key: SystemV.Key
    /// The set's access permissions: read to look at values, write ("alter")
    /// to change them.
    public var permissions: Permissions
    /// The owner's user id.
    public var ownerUID: UInt32
    /// The owner's group id.
    public var ownerGID: UInt32
    /// The creator's user id.
    public var creatorUID: UInt32
    /// The creator's group id.
    public var creatorGID: UInt32
    /// How many semaphores the set has (`sem_nsems`).
    public var count: Int
    /// When a `semop` last succeeded, in seconds since the Unix epoch, or nil
    /// if none has (`sem_otime`). The toolkit's `create` does one as its last
    /// step, so nil means a set that is not initialised yet or was made by
    /// another tool.
    public var lastOperationTime: Int?
    /// When the set was made or last changed by `semctl` (values, permissions),
    /// in seconds since the epoch (`sem_ctime`).
    public var lastChangeTime: Int

    init(_ info: semid_ds) {
      key = SystemV.Key(rawValue: info.sem_perm.__key)
      permissions = Permissions(rawValue: UInt32(info.sem_perm.mode))
      ownerUID = info.sem_perm.uid
      ownerGID = info.sem_perm.gid
      creatorUID = info.sem_perm.cuid
      creatorGID = info.sem_perm.cgid
      count = Int(info.sem_nsems)
      lastOperationTime = info.sem_otime == 0 ? nil : Int(info.sem_otime)
      lastChangeTime = Int(info.sem_ctime)
    }
  }
}
