import Glibc

extension SystemV {
  /// Who owns a System V object and who may use it, as its `ipc_perm`
  /// records it: the same for queues, semaphore sets and segments.
  ///
  /// Each kind's `Status` carries one (``SystemV/OwnedStatus/ownership``) and
  /// reads its fields directly too (`status.ownerUID`).
  public struct Ownership: Hashable, Sendable {
    /// The object's access permissions (the low nine bits of `mode`).
    public var permissions: Permissions
    /// The owner's user id (`uid`); `IPC_SET` may change it.
    public var ownerUID: UInt32
    /// The owner's group id (`gid`).
    public var ownerGID: UInt32
    /// The creator's user id (`cuid`); never changes.
    public var creatorUID: UInt32
    /// The creator's group id (`cgid`).
    public var creatorGID: UInt32

    init(_ perm: ipc_perm) {
      permissions = Permissions(rawValue: UInt32(perm.mode))
      ownerUID = perm.uid
      ownerGID = perm.gid
      creatorUID = perm.cuid
      creatorGID = perm.cgid
    }
  }
}
