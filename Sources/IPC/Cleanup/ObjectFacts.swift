import CIPCShims
import Glibc

/// What the kernel says about one object, as a cleanup needs it: who owns
/// and made it, what tells it from a later object of the same identity, and
/// what says whether it is in use.
struct ObjectFacts: Sendable, Equatable {
  var kind: CleanupCandidate.Kind
  /// A System V id, or a POSIX name without its '/'.
  var identity: String
  /// A System V object's key.
  var key: Int32? = nil
  /// The owner's uid (may be changed with IPC_SET or chown).
  var owner: uid_t
  /// The creator's effective uid: the user whose records describe it.
  var creatorUID: uid_t
  /// A POSIX object's device and inode; nil if it could not be read.
  var device: UInt64? = nil
  var inode: UInt64? = nil
  /// A System V segment's creator pid (`shm_cpid`).
  var creatorPID: Int32? = nil
  /// A System V segment's number of attachments (`shm_nattch`).
  var attached: Int? = nil
  /// A System V queue's last sender and receiver (`msg_lspid`, `msg_lrpid`).
  var lastPIDs: [Int32] = []
  /// A System V set's number of semaphores.
  var count: Int? = nil
  /// A System V queue's or set's last change (`msg_ctime`, `sem_ctime`):
  /// creation or a later IPC_SET, SETVAL or SETALL, in seconds since 1970.
  var changed: Int? = nil
  /// The messages a queue holds (`msg_qnum`; for a POSIX queue its bytes,
  /// `QSIZE` of its file in /dev/mqueue): data nobody has read yet.
  var held: Int? = nil

  /// Whether this is the object `record` was written for: same creating
  /// user, and IPC namespace for the kinds it has a say in; for a POSIX object the same inode; for a segment the same creator
  /// pid. (A System V id carries the kernel's sequence number, so a slot
  /// reused later has another id.)
  func isDescribed(by record: OwnerRecord) -> Bool {
    guard record.owner == creatorUID, !kind.isPerIPCNamespace || record.isOfThisNamespace else {
      return false
    }
    if let recorded = record.instance, inode != recorded { return false }
    if let creatorPID, record.pid != creatorPID { return false }
    // Ids do come back (the sequence in an id wraps after about four million
    // objects in a slot): an object changed before its record was written is
    // a later one. Two seconds of slack for the library's own SETALL.
    if let changed, let created = record.created, changed < created - 2 { return false }
    return true
  }

  /// Whether `other` is the same object as this one, seen again later.
  func isSameObject(as other: ObjectFacts) -> Bool {
    kind == other.kind && identity == other.identity && key == other.key && creatorUID == other.creatorUID
      && inode == other.inode && creatorPID == other.creatorPID
  }
}

extension ObjectFacts {
  /// The System V objects of this machine, from /proc/sysvipc.
  static func systemVObjects() throws(IPCError) -> [ObjectFacts] {
    var objects: [ObjectFacts] = []
    for (kind, file) in [
      (CleanupCandidate.Kind.systemVQueue, "msg"), (.systemVSemaphoreSet, "sem"),
      (.systemVSharedMemory, "shm"),
    ] {
      let path = "/proc/sysvipc/\(file)"
      guard let text = ProcFile.read(path) else {
        throw IPCError(
          code: .notFound, operation: "open", object: path, reason: "cannot read \(path) (is /proc mounted?)")
      }
      let lines = text.split(separator: "\n")
      guard let header = lines.first?.split(separator: " ").map(String.init) else { continue }
      for line in lines.dropFirst() {
        let row = Dictionary(zip(header, line.split(separator: " ").map(String.init))) { first, _ in first }
        if let object = systemVObject(kind, row) { objects.append(object) }
      }
    }
    return objects
  }

  /// One line of a /proc/sysvipc table, by column name.
  private static func systemVObject(_ kind: CleanupCandidate.Kind, _ row: [String: String]) -> ObjectFacts? {
    let idColumn = ["sysv-msg": "msqid", "sysv-sem": "semid", "sysv-shm": "shmid"][kind.rawValue] ?? ""
    guard let id = row[idColumn].flatMap({ Int32($0) }), let owner = row["uid"].flatMap({ uid_t($0) }),
      let creator = row["cuid"].flatMap({ uid_t($0) }), let key = row["key"].flatMap({ Int64($0) })
    else { return nil }
    var object = ObjectFacts(
      kind: kind, identity: "\(id)", key: Int32(truncatingIfNeeded: key), owner: owner, creatorUID: creator)
    switch kind {
    case .systemVQueue:
      object.lastPIDs = [row["lspid"], row["lrpid"]].compactMap { $0.flatMap { Int32($0) } }
      object.held = row["qnum"].flatMap { Int($0) }
      object.changed = row["ctime"].flatMap { Int($0) }
    case .systemVSemaphoreSet:
      object.count = row["nsems"].flatMap { Int($0) }
      object.changed = row["ctime"].flatMap { Int($0) }
    case .systemVSharedMemory:
      object.creatorPID = row["cpid"].flatMap { Int32($0) }
      object.attached = row["nattch"].flatMap { Int($0) }
    default: break
    }
    return object
  }

  /// The POSIX shared memory objects and semaphores in /dev/shm, and the
  /// queues in /dev/mqueue if it is mounted.
  static func posixObjects() -> [ObjectFacts] {
    var objects: [ObjectFacts] = []
    for (name, info) in files(in: "/dev/shm") where !name.hasPrefix(".ipc-owners-") {
      let isSemaphore = name.hasPrefix("sem.") && name.utf8.count > 4
      objects.append(
        ObjectFacts(
          kind: isSemaphore ? .posixSemaphore : .posixSharedMemory,
          identity: isSemaphore ? String(name.dropFirst(4)) : name, info: info))
    }
    if queuesAreMounted {
      for (name, info) in files(in: queueDirectory) {
        var queue = ObjectFacts(kind: .posixQueue, identity: name, info: info)
        queue.held = queuedBytes(name)
        objects.append(queue)
      }
    }
    return objects
  }

  /// A POSIX object seen through its file's `stat`.
  init(kind: CleanupCandidate.Kind, identity: String, info: stat) {
    self.init(
      kind: kind, identity: identity, owner: info.st_uid, creatorUID: info.st_uid,
      device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
  }

  static let queueDirectory = "/dev/mqueue"

  /// Whether the mqueue filesystem is mounted on /dev/mqueue, from
  /// /proc/self/mounts ("none /dev/mqueue mqueue rw,... 0 0").
  static var queuesAreMounted: Bool {
    guard let mounts = ProcFile.read("/proc/self/mounts") else { return false }
    return mounts.split(separator: "\n").contains { line in
      let fields = line.split(separator: " ")
      return fields.count > 2 && fields[1] == queueDirectory && fields[2] == "mqueue"
    }
  }

  /// The object of `kind` and `identity` as it is now, or nil if there is none.
  static func current(_ kind: CleanupCandidate.Kind, identity: String) throws(IPCError) -> ObjectFacts? {
    switch kind {
    case .systemVQueue, .systemVSemaphoreSet, .systemVSharedMemory:
      return try systemVObjects().first { $0.kind == kind && $0.identity == identity }
    case .posixSemaphore, .posixSharedMemory:
      let file = kind == .posixSemaphore ? "sem." + identity : identity
      var info = stat()
      guard lstat("/dev/shm/" + file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
      return ObjectFacts(kind: kind, identity: identity, info: info)
    case .posixQueue:
      return queue(named: identity)
    }
  }

  /// The POSIX queue `/NAME`, by its file in /dev/mqueue or else by opening it
  /// (`mq_open(O_RDONLY)` and `fstat`); nil if there is none. A queue this
  /// user may not open is given without its inode, so it is never removed.
  static func queue(named name: String) -> ObjectFacts? {
    var info = stat()
    if queuesAreMounted {
      guard lstat(queueDirectory + "/" + name, &info) == 0 else { return nil }
      var queue = ObjectFacts(kind: .posixQueue, identity: name, info: info)
      queue.held = queuedBytes(name)
      return queue
    }
    let fd = cipc_mq_open("/" + name, O_RDONLY | O_CLOEXEC, 0, nil)
    if fd < 0 {
      guard errno == EACCES else { return nil }
      return ObjectFacts(kind: .posixQueue, identity: name, owner: uid_t.max, creatorUID: uid_t.max)
    }
    defer { mq_close(fd) }
    guard fstat(fd, &info) == 0 else { return nil }
    return ObjectFacts(kind: .posixQueue, identity: name, info: info)
  }

  /// The bytes of the messages in the POSIX queue NAME, from the first
  /// field of its file in /dev/mqueue ("QSIZE:129 NOTIFY:0 ..."); nil if it
  /// cannot be read.
  static func queuedBytes(_ name: String) -> Int? {
    guard let text = ProcFile.read(queueDirectory + "/" + name),
      let field = text.split(separator: " ").first, field.hasPrefix("QSIZE:")
    else { return nil }
    return Int(field.dropFirst(6))
  }

  /// The regular files of `directory` with their `lstat`.
  private static func files(in directory: String) -> [(String, stat)] {
    guard let stream = opendir(directory) else { return [] }
    defer { closedir(stream) }
    var files: [(String, stat)] = []
    while let entry = readdir(stream) {
      let name = ProcessScan.name(of: entry)
      var info = stat()
      guard name != ".", name != "..", lstat(directory + "/" + name, &info) == 0,
        info.st_mode & S_IFMT == S_IFREG
      else { continue }
      files.append((name, info))
    }
    return files
  }
}
