import Glibc

/// One owner record as read back (see ``OwnerRecords``): which object, which
/// process made it and when.
struct OwnerRecord: Sendable, Equatable {
  /// The kind of object, such as `sysv-msg` or `posix-shm`.
  var kind: String
  /// The object's identity within its kind: a System V id, or a POSIX name without its '/'.
  var identity: String
  /// The user whose directory holds the record (the creator's effective uid).
  var owner: uid_t
  /// The creating process, or nil if the record cannot be read.
  var pid: Int32?
  /// Its start time (field 22 of /proc/PID/stat).
  var startTime: UInt64?
  /// When the object was created, in seconds since 1970.
  var created: Int?
  /// What tells this object from a later one of the same identity (a POSIX object's inode).
  var instance: UInt64?
  /// The creator's IPC namespace (see ``ProcessFacts/ipcNamespace``).
  var namespace: UInt64?
  /// The creator's pid namespace, in which its pid has a meaning.
  var pidNamespace: UInt64?

  /// Whether the record was made in this process's IPC namespace (or does not say).
  var isOfThisNamespace: Bool {
    guard let namespace, let own = ProcessFacts.ipcNamespace else { return true }
    return namespace == own
  }

  init(kind: String, identity: String, owner: uid_t, text: String) {
    self.kind = kind
    self.identity = identity
    self.owner = owner
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: " ", maxSplits: 1)
      guard parts.count == 2 else { continue }
      switch parts[0] {
      case "pid": pid = Int32(parts[1]).flatMap { $0 > 0 ? $0 : nil }
      case "start": startTime = UInt64(parts[1])
      case "created": created = Int(parts[1])
      case "instance": instance = UInt64(parts[1])
      case "ipcns": namespace = UInt64(parts[1])
      case "pidns": pidNamespace = UInt64(parts[1])
      default: continue
      }
    }
  }

  /// Whether the process that made the object still runs: the pid names a
  /// process that started at the recorded time. A record without both is
  /// taken to have a live creator, so its object is kept.
  var creatorState: CreatorState {
    guard let pid, let startTime else { return .unreadable }
    // A pid of another pid namespace names some other process here.
    if let pidNamespace, let own = ProcessFacts.pidNamespace, pidNamespace != own { return .unreadable }
    switch ProcessFacts.state(of: pid) {
    case .gone: return .dead
    case .running(let now): return now == startTime ? .alive : .pidReused
    // Some process has the pid, and whether it is the creator cannot be told.
    case .hidden: return .unreadable
    }
  }

  /// Whether the creator is known to have exited (its pid free or reused).
  var creatorHasExited: Bool {
    creatorState == .dead || creatorState == .pidReused
  }

  /// The creator as its record and /proc tell it.
  enum CreatorState: Equatable {
    case alive
    case dead
    /// Another process has the creator's pid now.
    case pidReused
    /// The record lacks the pid or start time, its pid is of another pid
    /// namespace, or /proc hides the process that has the pid.
    case unreadable
  }
}
