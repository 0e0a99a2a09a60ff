extension CleanupCandidate {
  /// Why an object is stale (and ``CleanupCandidate/remove()`` removes it),
  /// or why it is kept.
  public enum Verdict: Sendable, Equatable, CustomStringConvertible {
    /// Stale: the process that created it has exited, and nothing uses it now.
    case creatorDead(pid: Int32)
    /// Stale: the creator has exited and its pid now names another process
    /// (one that started later), and nothing uses the object now.
    case creatorPIDReused(pid: Int32)
    /// Stale: only the owner record is left; the object was removed by other
    /// means (`ipcrm`, `rm`, C or Python), or the record is of another IPC
    /// namespace and its creator has exited. Removing it deletes the record only.
    case objectGone
    /// Kept: the process that created it still runs.
    case creatorAlive(pid: Int32)
    /// Kept: a process uses it now, as the text says (attached, mapped,
    /// held open, waiting on it, or the last to use it and still running).
    case inUse(String)
    /// Kept: these processes could not be inspected (another user's, as a
    /// user other than root), and any of them might hold the object.
    case maybeInUse(uninspected: Int)
    /// Kept: no owner record says who made it (made by C, Python, `ipcmk`, a
    /// command-line tool, or with records turned off): never removed.
    case creatorUnknown

    /// Whether the object is stale, so that ``CleanupCandidate/remove()`` removes it.
    public var isStale: Bool {
      switch self {
      case .creatorDead, .creatorPIDReused, .objectGone: true
      case .creatorAlive, .inUse, .maybeInUse, .creatorUnknown: false
      }
    }

    /// A short phrase, such as "creator 4242 exited".
    public var description: String {
      switch self {
      case .creatorDead(let pid): "creator \(pid) exited, unused"
      case .creatorPIDReused(let pid): "creator \(pid) exited (pid reused since), unused"
      case .objectGone: "object already removed, record left"
      case .creatorAlive(let pid): "creator \(pid) runs"
      case .inUse(let how): "in use: \(how)"
      case .maybeInUse(let count): "maybe in use: \(count) processes cannot be inspected"
      case .creatorUnknown: "creator unknown (no owner record)"
      }
    }
  }
}
