extension SharedMutex {
  /// How a ``SharedMutex`` was taken.
  public enum LockResult: Sendable, Hashable {
    /// The mutex was free, or released normally: the data it guards is as its
    /// last holder left it.
    case acquired
    /// The previous holder died holding it (`EOWNERDEAD`). The caller holds
    /// the mutex now, and the data may be half-updated: repair it, then call
    /// ``SharedMutex/markConsistent()``. Unlocking without doing so makes the
    /// mutex unusable for every process (`ENOTRECOVERABLE`).
    case ownerDied
  }
}
