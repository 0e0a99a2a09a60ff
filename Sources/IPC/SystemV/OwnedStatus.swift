extension SystemV {
  /// A System V object's status with its ``Ownership``: gives every kind's
  /// `Status` the ownership fields by name (`status.permissions`,
  /// `status.ownerUID`), read from and written to ``ownership``.
  public protocol OwnedStatus {
    /// The object's owner, creator and permissions, from its `ipc_perm`.
    var ownership: Ownership { get set }
  }
}

extension SystemV.OwnedStatus {
  /// The object's access permissions.
  public var permissions: Permissions {
    get { ownership.permissions }
    set { ownership.permissions = newValue }
  }
  /// The owner's user id.
  public var ownerUID: UInt32 {
    get { ownership.ownerUID }
    set { ownership.ownerUID = newValue }
  }
  /// The owner's group id.
  public var ownerGID: UInt32 {
    get { ownership.ownerGID }
    set { ownership.ownerGID = newValue }
  }
  /// The creator's user id.
  public var creatorUID: UInt32 {
    get { ownership.creatorUID }
    set { ownership.creatorUID = newValue }
  }
  /// The creator's group id.
  public var creatorGID: UInt32 {
    get { ownership.creatorGID }
    set { ownership.creatorGID = newValue }
  }
}
