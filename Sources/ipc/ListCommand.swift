import Glibc
import IPC
import IPCToolSupport

/// `ipc list`: the message queues, semaphores and shared memory of this
/// machine: System V like `ipcs` with more columns, POSIX queues from the
/// mqueue filesystem, POSIX named semaphores and shared memory from /dev/shm.
enum ListCommand {
  static let usage = """
    usage: ipc list

      List System V message queues: key, id, owner, permissions, messages,
      bytes used and allowed, last sender and receiver pids. Reads
      /proc/sysvipc/msg, so it shows every queue, as ipcs -q does.

      Then list POSIX message queues: name, owner, permissions, messages,
      limits and bytes queued. They are read from /dev/mqueue, where the
      mqueue filesystem must be mounted (mount -t mqueue none /dev/mqueue).

      Then list System V semaphore sets: key, id, owner, permissions, number
      of semaphores and their values (the first 8; "-" where the set's mode
      does not let this user read them), from /proc/sysvipc/sem as ipcs -s.

      Then list POSIX named semaphores: name, owner, permissions and value,
      from their files /dev/shm/sem.NAME.

      Then list System V shared memory segments: key, id, owner, permissions,
      size, attachments, creator and last pids, and "dest" for a segment
      removed while still attached, from /proc/sysvipc/shm as ipcs -m.

      Then list POSIX shared memory objects: name, owner, permissions and
      size, from the other files of /dev/shm.
    """

  static func main(_ arguments: Arguments) -> Int32 {
    run(usage: usage, arguments) { arguments in
      try arguments.finish()
      try listQueues()
      listPOSIXQueues()
      try listSemaphoreSets()
      listPOSIXSemaphores()
      try listSegments()
      listPOSIXSharedMemory()
    }
  }

  private static func listPOSIXQueues() {
    guard let names = MountedQueues.names() else {
      Output.line(
        "------ POSIX message queues: not listed, /dev/mqueue is not mounted"
          + " (\(MountedQueues.mountHint)) ------")
      return
    }
    Output.line("------ POSIX message queues (\(names.count)) ------")
    var table = [["NAME", "OWNER", "PERMS", "MESSAGES", "MAX-MESSAGES", "MESSAGE-SIZE", "BYTES"]]
    for name in names {
      var info = stat()
      let found = stat(MountedQueues.directory + name, &info) == 0
      // The limits need mq_getattr, which needs read permission on the queue.
      let attributes = try? POSIX.MessageQueue.open(name, access: .readOnly).attributes()
      table.append([
        name, found ? MessageCommand.userName(info.st_uid) : "?",
        found ? Permissions(rawValue: info.st_mode & 0o777).octal : "?",
        attributes.map { "\($0.currentMessages)" } ?? "-",
        attributes.map { "\($0.maxMessages)" } ?? "-",
        attributes.map { "\($0.messageSize)" } ?? "-",
        MountedQueues.state(of: name)?["QSIZE"] ?? "?",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }

  private static func listQueues() throws {
    let rows = try ProcTable(path: "/proc/sysvipc/msg").rows
    Output.line("------ System V message queues (\(rows.count)) ------")
    let header = ["KEY", "ID", "OWNER", "PERMS", "MESSAGES", "BYTES", "MAX-BYTES", "LSPID", "LRPID"]
    var table = [header]
    for row in rows {
      guard let id = Int32(row["msqid"] ?? "") else { continue }
      let key = SystemV.Key(rawValue: Int32(truncatingIfNeeded: Int64(row["key"] ?? "") ?? 0))
      let uid = UInt32(row["uid"] ?? "") ?? 0
      let mode = Permissions(rawValue: UInt32(row["perms"] ?? "", radix: 8) ?? 0)
      // msg_qbytes is not in /proc; ask the kernel, which may refuse without read permission.
      let maxBytes = (try? SystemV.MessageQueue.open(id: id).stat().maxBytes).map { "\($0)" } ?? "-"
      table.append([
        key.isPrivate ? "0x00000000" : "\(key)", "\(id)", MessageCommand.userName(uid),
        mode.octal, row["qnum"] ?? "?", row["cbytes"] ?? "?", maxBytes,
        row["lspid"] ?? "?", row["lrpid"] ?? "?",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }
}

extension ListCommand {
  /// How many values of a set `ipc list` shows before "…".
  static let shownValues = 8

  private static func listSemaphoreSets() throws {
    let rows = try ProcTable(path: "/proc/sysvipc/sem").rows
    Output.line("------ System V semaphore sets (\(rows.count)) ------")
    var table = [["KEY", "ID", "OWNER", "PERMS", "NSEMS", "VALUES"]]
    for row in rows {
      guard let id = Int32(row["semid"] ?? "") else { continue }
      let key = SystemV.Key(rawValue: Int32(truncatingIfNeeded: Int64(row["key"] ?? "") ?? 0))
      let uid = UInt32(row["uid"] ?? "") ?? 0
      let mode = Permissions(rawValue: UInt32(row["perms"] ?? "", radix: 8) ?? 0)
      // Values need semctl(GETALL), which needs read permission on the set.
      let values = try? SystemV.SemaphoreSet.open(id: id).values()
      let shown = values.map { values in
        values.prefix(shownValues).map { "\($0)" }.joined(separator: ",")
          + (values.count > shownValues ? ",…" : "")
      }
      table.append([
        key.isPrivate ? "0x00000000" : "\(key)", "\(id)", MessageCommand.userName(uid), mode.octal,
        row["nsems"] ?? "?", shown ?? "-",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }

  private static func listPOSIXSemaphores() {
    guard let entries = ShmFiles.entries(.semaphores) else {
      Output.line(
        "------ POSIX semaphores: not listed, cannot read \(ShmFiles.directory):"
          + " \(String(cString: strerror(errno))) ------")
      return
    }
    Output.line("------ POSIX semaphores (\(entries.count)) ------")
    var table = [["NAME", "OWNER", "PERMS", "VALUE"]]
    for entry in entries {
      // sem_open needs read and write permission on the file, and the
      // library refuses a file too short to be a semaphore.
      let value = try? POSIX.Semaphore.open(entry.name).value()
      table.append([
        entry.name, MessageCommand.userName(entry.info.st_uid),
        Permissions(rawValue: entry.info.st_mode & 0o777).octal, value.map { "\($0)" } ?? "-",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }
}

extension ListCommand {
  private static func listSegments() throws {
    let rows = try ProcTable(path: "/proc/sysvipc/shm").rows
    Output.line("------ System V shared memory segments (\(rows.count)) ------")
    var table = [["KEY", "ID", "OWNER", "PERMS", "SIZE", "ATTACHED", "CPID", "LPID", "STATUS"]]
    for row in rows {
      guard let id = Int32(row["shmid"] ?? "") else { continue }
      let key = SystemV.Key(rawValue: Int32(truncatingIfNeeded: Int64(row["key"] ?? "") ?? 0))
      let uid = UInt32(row["uid"] ?? "") ?? 0
      // The mode field carries SHM_DEST (01000) beside the permissions.
      let mode = UInt32(row["perms"] ?? "", radix: 8) ?? 0
      table.append([
        key.isPrivate ? "0x00000000" : "\(key)", "\(id)", MessageCommand.userName(uid),
        Permissions(rawValue: mode & 0o777).octal, row["size"] ?? "?", row["nattch"] ?? "?",
        row["cpid"] ?? "?", row["lpid"] ?? "?", mode & UInt32(SHM_DEST) != 0 ? "dest" : "",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }

  private static func listPOSIXSharedMemory() {
    guard let entries = ShmFiles.entries(.sharedMemory) else {
      Output.line(
        "------ POSIX shared memory: not listed, cannot read \(ShmFiles.directory):"
          + " \(String(cString: strerror(errno))) ------")
      return
    }
    Output.line("------ POSIX shared memory (\(entries.count)) ------")
    var table = [["NAME", "OWNER", "PERMS", "SIZE"]]
    for entry in entries {
      table.append([
        entry.name, MessageCommand.userName(entry.info.st_uid),
        Permissions(rawValue: entry.info.st_mode & 0o777).octal, "\(entry.info.st_size)",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }
}

/// A /proc/sysvipc table: a header line of column names, then one line per object.
struct ProcTable {
  var rows: [[String: String]] = []

  init(path: String) throws {
    guard let text = readTextFile(path) else {
      throw CommandFailure("cannot read \(path): \(String(cString: strerror(errno))) (is /proc mounted?)")
    }
    let lines = text.split(separator: "\n")
    guard let header = lines.first?.split(separator: " ").map(String.init) else { return }
    for line in lines.dropFirst() {
      let fields = line.split(separator: " ").map(String.init)
      rows.append(Dictionary(uniqueKeysWithValues: zip(header, fields)))
    }
  }
}

/// The whole text of `path` (at most `limit` bytes), or nil with `errno` set.
func readTextFile(_ path: String, limit: Int = 1 << 24) -> String? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while bytes.count < limit {
    let count = read(fd, &chunk, chunk.count)
    if count < 0 && errno == EINTR { continue }
    guard count > 0 else { break }
    bytes += chunk[0..<count]
  }
  return String(decoding: bytes, as: UTF8.self)
}
