import CIPCShims
import Glibc

extension CleanupCandidate {
  /// Finds the stale objects of this user (every user's with `allUsers`):
  /// the objects the library created whose creator has exited and that
  /// nothing uses now, and the owner records whose object is already gone.
  ///
  /// It reads /proc/sysvipc/{msg,sem,shm}, /dev/shm, /dev/mqueue, the owner
  /// records in /dev/shm/.ipc-owners-UID, /proc/PID/stat of each creator and,
  /// for System V sets, `semctl` `GETNCNT`, `GETZCNT` and `GETPID`; for POSIX
  /// objects, /proc/PID/fd and /proc/PID/maps of every process. It changes nothing.
  ///
  /// - Parameters:
  ///   - allUsers: every user's objects rather than this user's; root only.
  ///   - includingKept: also the objects that are kept, with the reason
  ///     (creator unknown or alive, in use), this user's or `allUsers`'.
  /// - Returns: the candidates by kind, then id or name.
  /// - Throws: `.notPermitted` for `allUsers` in a process that is not root;
  ///   `.notFound` if /proc/sysvipc cannot be read.
  public static func survey(allUsers: Bool = false, includingKept: Bool = false) throws(IPCError)
    -> [CleanupCandidate]
  {
    let me = geteuid()
    if allUsers && me != 0 {
      throw IPCError(
        code: .notPermitted, operation: "survey", object: "every user's objects",
        reason: "only root may look at or remove other users' objects")
    }
    var records: [RecordName: OwnerRecord] = [:]
    for uid in Set(allUsers ? OwnerRecords.users() + [me] : [me]) {
      for record in OwnerRecords.records(of: uid) where Kind(rawValue: record.kind) != nil {
        records[RecordName(owner: uid, kind: record.kind, identity: record.identity)] = record
      }
    }
    let objects = try ObjectFacts.systemVObjects() + ObjectFacts.posixObjects()
    var scan: ProcessScan? = nil
    var found: [CleanupCandidate] = []
    for object in objects where allUsers || object.owner == me || object.creatorUID == me {
      let name = RecordName(owner: object.creatorUID, kind: object.kind.rawValue, identity: object.identity)
      var record = records[name]
      // A record of an object this one replaced (same name or id) is left over.
      if let found = record, !object.isDescribed(by: found) { record = nil } else { records[name] = nil }
      let verdict = assess(object, record: record, scan: &scan)
      if includingKept || verdict.isStale {
        found.append(
          CleanupCandidate(
            kind: object.kind, identity: object.identity, facts: object, record: record, verdict: verdict))
      }
    }
    // A POSIX queue is found by its record when /dev/mqueue is not mounted.
    let mounted = ObjectFacts.queuesAreMounted
    for record in records.values {
      guard let kind = Kind(rawValue: record.kind) else { continue }
      // A record of another IPC namespace names an object out of sight here:
      // it is left over once its creator is gone (deleting it removes nothing else).
      if kind.isPerIPCNamespace && !record.isOfThisNamespace && !record.creatorHasExited { continue }
      if kind == .posixQueue, !mounted, let queue = ObjectFacts.queue(named: record.identity),
        queue.isDescribed(by: record)
      {
        let verdict = assess(queue, record: record, scan: &scan)
        if includingKept || verdict.isStale {
          found.append(
            CleanupCandidate(
              kind: kind, identity: record.identity, facts: queue, record: record, verdict: verdict))
        }
        continue
      }
      found.append(
        CleanupCandidate(
          kind: kind, identity: record.identity, facts: nil, record: record, verdict: .objectGone))
    }
    return found.sorted { first, second in
      let kinds = Kind.allCases
      let (a, b) = (kinds.firstIndex(of: first.kind) ?? 0, kinds.firstIndex(of: second.kind) ?? 0)
      if a != b { return a < b }
      if let x = first.id, let y = second.id { return x < y }
      return first.identity < second.identity
    }
  }

  /// Removes the object if it is still stale: everything is checked again
  /// first (the owner record, the creator, every use), and nothing is
  /// removed if the answer changed. For ``Verdict/objectGone`` only the
  /// record is deleted. The object's owner record is deleted with it.
  ///
  /// The corresponding C calls are `msgctl(IPC_RMID)`, `semctl(IPC_RMID)`,
  /// `shmctl(IPC_RMID)`, `mq_unlink`, `sem_unlink` or `shm_unlink`, after
  /// the reads ``survey(allUsers:includingKept:)`` makes for this one object.
  ///
  /// A process may still open the object between the last check and the
  /// removal: a few system calls' time. It then keeps what it opened (an
  /// open POSIX object lives on, unnamed, until closed; a System V object is
  /// gone and its next call fails with `EIDRM` or `EINVAL`).
  ///
  /// - Returns: the verdict of the last check; the object was removed if it
  ///   ``Verdict/isStale``, and left alone otherwise.
  /// - Throws: the error of the removal, such as `.notPermitted` for another
  ///   user's object in a process that is not root.
  @discardableResult
  public func remove() throws(IPCError) -> Verdict {
    let record = OwnerRecords.record(kind: kind.rawValue, identity: identity, of: owner)
    let now = try ObjectFacts.current(kind, identity: identity)
    var scan: ProcessScan? = nil
    guard let facts else {
      // Only a record was left: delete it unless an object it describes has appeared.
      if let record, let now, now.isDescribed(by: record) {
        return Self.assess(now, record: record, scan: &scan)
      }
      if let record, kind.isPerIPCNamespace, !record.isOfThisNamespace, !record.creatorHasExited {
        return .creatorUnknown
      }
      if record != nil { OwnerRecords.forget(kind: kind.rawValue, identity: identity, of: owner) }
      return .objectGone
    }
    guard let now, now.isSameObject(as: facts) else {
      // Gone since (its record goes too, unless it describes a newer object), or replaced: not ours to remove.
      guard now == nil else { return .creatorUnknown }
      if record != nil { OwnerRecords.forget(kind: kind.rawValue, identity: identity, of: owner) }
      return .objectGone
    }
    let verdict = Self.assess(now, record: record, scan: &scan)
    guard verdict.isStale else { return verdict }
    do throws(IPCError) {
      switch kind {
      case .systemVQueue: try SystemV.MessageQueue(validatedID: id ?? -1).remove()
      case .systemVSemaphoreSet: try SystemV.SemaphoreSet(id: id ?? -1, count: 0).remove()
      case .systemVSharedMemory: try SystemV.SharedMemory(id: id ?? -1, size: 0).remove()
      case .posixQueue: try POSIX.MessageQueue.unlink("/" + identity)
      case .posixSemaphore: try POSIX.Semaphore.unlink("/" + identity)
      case .posixSharedMemory: try POSIX.SharedMemory.unlink("/" + identity)
      }
    } catch {
      // Removed by someone else meanwhile: what was asked is done.
      guard [.notFound, .invalidArgument, .removed].contains(error.code) else { throw error }
    }
    OwnerRecords.forget(kind: kind.rawValue, identity: identity, of: owner)
    return verdict
  }

  /// The name of a record: its user's directory, kind and identity.
  private struct RecordName: Hashable {
    var owner: uid_t
    var kind: String
    var identity: String
  }

  /// The verdict on `object`, whose owner record (if it describes it) is `record`.
  static func assess(_ object: ObjectFacts, record: OwnerRecord?, scan: inout ProcessScan?) -> Verdict {
    guard let record, object.isDescribed(by: record), let pid = record.pid else { return .creatorUnknown }
    let stale: Verdict
    switch record.creatorState {
    case .alive: return .creatorAlive(pid: pid)
    case .unreadable: return .creatorUnknown
    case .dead: stale = .creatorDead(pid: pid)
    case .pidReused: stale = .creatorPIDReused(pid: pid)
    }
    return use(of: object, scan: &scan) ?? stale
  }

  /// How `object` is in use now, as a verdict; nil if nothing uses it.
  private static func use(of object: ObjectFacts, scan: inout ProcessScan?) -> Verdict? {
    switch object.kind {
    case .systemVSharedMemory:
      guard let attached = object.attached else { return .inUse("its attachments cannot be read") }
      return attached > 0 ? .inUse("attached \(attached) times") : nil
    case .systemVQueue:
      // Messages nobody has read are data, whoever made the queue.
      if let held = object.held, held > 0 { return .inUse("holds \(held) message\(held == 1 ? "" : "s")") }
      for pid in object.lastPIDs where ProcessFacts.isRunning(pid) {
        return .inUse("process \(pid), the last to send or receive, runs")
      }
      return nil
    case .systemVSemaphoreSet:
      guard let id = Int32(object.identity), let count = object.count else {
        return .inUse("its semaphores cannot be read")
      }
      for index in 0..<Int32(clamping: count) {
        let waiting = cipc_semctl(id, index, GETNCNT)
        let waitingForZero = cipc_semctl(id, index, GETZCNT)
        guard waiting >= 0, waitingForZero >= 0 else {
          return .inUse("its waiters cannot be read (\(String(cString: strerror(errno))))")
        }
        if waiting + waitingForZero > 0 {
          return .inUse("\(waiting + waitingForZero) processes wait on semaphore \(index)")
        }
        let last = cipc_semctl(id, index, GETPID)
        if last > 0 && ProcessFacts.isRunning(last) {
          return .inUse("process \(last), the last to change semaphore \(index), runs")
        }
      }
      return nil
    case .posixQueue, .posixSemaphore, .posixSharedMemory:
      if object.kind == .posixQueue, let held = object.held, held > 0 {
        return .inUse("holds \(held) bytes of messages")
      }
      guard let device = object.device, let inode = object.inode else {
        return .inUse("its file cannot be read")
      }
      if scan == nil { scan = ProcessScan() }
      guard let scan else { return nil }
      if let pid = scan.users[ProcessScan.FileID(device: device, inode: inode)] {
        return .inUse("open or mapped in process \(pid)")
      }
      return scan.uninspected.isEmpty ? nil : .maybeInUse(uninspected: scan.uninspected.count)
    }
  }
}
