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
      // msg_qbytes is not in /proc; ask the kernel, which may refuse without read permission.
      let maxBytes = (try? SystemV.MessageQueue.open(id: id).stat().maxBytes).map { "\($0)" } ?? "-"
      table.append([
        row.key, "\(id)", row.owner, row.permissions, row["qnum"] ?? "?", row["cbytes"] ?? "?", maxBytes,
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
      // Values need semctl(GETALL), which needs read permission on the set.
      let values = try? SystemV.SemaphoreSet.open(id: id).values()
      let shown = values.map { values in
        values.prefix(shownValues).map { "\($0)" }.joined(separator: ",")
          + (values.count > shownValues ? ",…" : "")
      }
      table.append([
        row.key, "\(id)", row.owner, row.permissions, row["nsems"] ?? "?", shown ?? "-",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }

  private static func listPOSIXSemaphores() {
    // sem_open needs read and write permission on the file, and the
    // library refuses a file too short to be a semaphore.
    listFiles(.semaphores, title: "POSIX semaphores", column: "VALUE") { entry in
      (try? POSIX.Semaphore.open(entry.name).value()).map { "\($0)" } ?? "-"
    }
  }

  /// The objects of `kind` in /dev/shm: name, owner, permissions, and
  /// `column` as `value` gives it.
  private static func listFiles(
    _ kind: ShmFiles.Kind, title: String, column: String, _ value: (ShmFiles.Entry) -> String
  ) {
    guard let entries = ShmFiles.entries(kind) else {
      Output.line(
        "------ \(title): not listed, cannot read \(ShmFiles.directory):"
          + " \(String(cString: strerror(errno))) ------")
      return
    }
    Output.line("------ \(title) (\(entries.count)) ------")
    var table = [["NAME", "OWNER", "PERMS", column]]
    for entry in entries {
      table.append([
        entry.name, MessageCommand.userName(entry.info.st_uid),
        Permissions(rawValue: entry.info.st_mode & 0o777).octal, value(entry),
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
      table.append([
        row.key, "\(id)", row.owner, row.permissions, row["size"] ?? "?", row["nattch"] ?? "?",
        row["cpid"] ?? "?", row["lpid"] ?? "?", row.mode & UInt32(SHM_DEST) != 0 ? "dest" : "",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }

  private static func listPOSIXSharedMemory() {
    listFiles(.sharedMemory, title: "POSIX shared memory", column: "SIZE") { "\($0.info.st_size)" }
  }
}

/// A /proc/sysvipc table: a header line of column names, then one line per object.
struct ProcTable {
  /// One object's line, by column name.
  struct Row {
    var fields: [String: String]

    /// The column `name`'s text, or nil if the line has none.
    subscript(name: String) -> String? { fields[name] }

    /// The `key` column as `ipcs` shows it, 0x00000000 for IPC_PRIVATE.
    var key: String {
      let key = SystemV.Key(rawValue: Int32(truncatingIfNeeded: Int64(fields["key"] ?? "") ?? 0))
      return key.isPrivate ? "0x00000000" : "\(key)"
    }

    /// The owner's user name, from the `uid` column.
    var owner: String { MessageCommand.userName(UInt32(fields["uid"] ?? "") ?? 0) }

    /// The `perms` column: the mode, which for a segment also carries SHM_DEST.
    var mode: UInt32 { UInt32(fields["perms"] ?? "", radix: 8) ?? 0 }

    /// The permission bits of ``mode`` in octal, such as 0640.
    var permissions: String { Permissions(rawValue: mode & 0o777).octal }
  }

  var rows: [Row] = []

  init(path: String) throws {
    guard let text = readTextFile(path) else {
      throw CommandFailure("cannot read \(path): \(String(cString: strerror(errno))) (is /proc mounted?)")
    }
    let lines = text.split(separator: "\n")
    guard let header = lines.first?.split(separator: " ").map(String.init) else { return }
    for line in lines.dropFirst() {
      let fields = line.split(separator: " ").map(String.init)
      rows.append(Row(fields: Dictionary(uniqueKeysWithValues: zip(header, fields))))
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
