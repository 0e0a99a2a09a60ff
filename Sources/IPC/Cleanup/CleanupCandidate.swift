import Glibc

/// An IPC object left behind: one whose creator has exited and that nothing
/// uses now, found by ``survey(allUsers:includingKept:)`` and removed by
/// ``remove()``, as iceoryx2 reclaims a dead node's resources and Python's
/// resource tracker unlinks what a dead process left.
///
/// Only objects the library created are ever removed: creating one writes an
/// owner record (see ``OwnerRecords``) naming the creating process by pid and
/// start time. An object is stale when
///
/// - its creator has exited: no process has the recorded pid, or the one
///   that has it started at another time (the pid was reused); and
/// - nothing uses it now: a System V segment has no attachment (`shm_nattch`);
///   a System V queue's last sender and receiver (`msg_lspid`, `msg_lrpid`)
///   have exited (waiting receivers cannot be seen); a System V set has no
///   waiter on any semaphore (`semctl` `GETNCNT`, `GETZCNT`) and the last
///   process to change each one (`GETPID`) has exited; a POSIX object is
///   neither held open (/proc/PID/fd) nor mapped (/proc/PID/maps) by any
///   process, matched by device and inode.
///
/// A process this user may not inspect (another user's, unless run as root)
/// might hold any POSIX object: then the object is kept (``Verdict/maybeInUse(uninspected:)``).
/// An object without a record (made by C, Python, `ipcmk`) is never removed.
/// A record whose object was removed by other means is stale too, and
/// removing it deletes only the record.
public struct CleanupCandidate: Sendable, Equatable, CustomStringConvertible {
  /// What kind of object it is.
  public let kind: Kind
  /// A POSIX object's name, such as `/orders`; nil for System V.
  public let name: String?
  /// A System V object's id; nil for POSIX.
  public let id: Int32?
  /// A System V object's key (``SystemV/Key/private`` for a private one); nil for POSIX.
  public let key: SystemV.Key?
  /// The user the object (or the record left of it) belongs to.
  public let owner: uid_t
  /// The process that created it, from its owner record; nil if unknown.
  public let creator: Int32?
  /// Whether it is stale, and why (or why it is kept).
  public let verdict: Verdict

  /// The object as it was seen; nil for a record whose object is gone.
  let facts: ObjectFacts?
  /// The identity within its kind (id, or name without '/').
  let identity: String

  /// `posix-mq /orders` or `sysv-shm id 32768 key 0x1234`.
  public var description: String {
    if let name { return "\(kind) \(name)" }
    let id = id.map { " id \($0)" } ?? ""
    return "\(kind)\(id)" + (key.map { $0.isPrivate ? " private" : " key \($0)" } ?? "")
  }

  init(kind: Kind, identity: String, facts: ObjectFacts?, record: OwnerRecord?, verdict: Verdict) {
    self.kind = kind
    self.identity = identity
    self.facts = facts
    self.verdict = verdict
    name = kind.isSystemV ? nil : "/" + identity
    id = kind.isSystemV ? Int32(identity) : nil
    key = kind.isSystemV ? facts?.key.map(SystemV.Key.init(rawValue:)) : nil
    owner = record?.owner ?? facts?.owner ?? geteuid()
    creator = record?.pid
  }
}
