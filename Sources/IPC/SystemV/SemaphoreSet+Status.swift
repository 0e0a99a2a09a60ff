import Glibc

extension SystemV.SemaphoreSet {
  /// A snapshot of a set's state, as `semctl(IPC_STAT)` reports it.
  public struct Status: Hashable, Sendable, SystemV.OwnedStatus {
    /// The key the set was made with (``SystemV/Key/private`` if none).
    public var key: SystemV.Key
    /// The set's owner, creator and access permissions (`sem_perm`): read
    /// permission to look at values, write ("alter") to change them.
    public var ownership: SystemV.Ownership
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
      ownership = SystemV.Ownership(info.sem_perm)
      count = Int(info.sem_nsems)
      lastOperationTime = info.sem_otime == 0 ? nil : Int(info.sem_otime)
      lastChangeTime = Int(info.sem_ctime)
    }
  }
}
