import Glibc
import IPC
import IPCToolSupport

/// `ipc list`: the message queues, semaphores and shared memory of this
/// machine: System V like `ipcs` with more columns, POSIX queues from the
/// mqueue filesystem, POSIX named semaphores and shared memory from /dev/shm.
enum ListCommand {
  /// One kind of object: its filter option and how it is listed.
  struct Kind: Sendable {
    var flag: Flag
    /// The section's key in the JSON output.
    var jsonKey: String
    var list: @Sendable () throws -> Section
  }

  static let kinds: [Kind] = [
    Kind(
      flag: Flag(
        "--sysv-queues", short: "-q",
        help: "System V message queues (as ipcs -q): key, id, owner, permissions, messages, bytes used and"
          + " allowed, last sender and receiver pids, from /proc/sysvipc/msg"),
      jsonKey: "sysv_queues", list: systemVQueues),
    Kind(
      flag: Flag(
        "--posix-queues",
        help: "POSIX message queues: name, owner, permissions, messages, limits and bytes queued, from"
          + " /dev/mqueue (mount -t mqueue none /dev/mqueue)"),
      jsonKey: "posix_queues", list: posixQueues),
    Kind(
      flag: Flag(
        "--sysv-semaphores", short: "-s",
        help: "System V semaphore sets (as ipcs -s): key, id, owner, permissions, number of semaphores and"
          + " their values (the first 8; '-' where this user may not read them), from /proc/sysvipc/sem"),
      jsonKey: "sysv_semaphores", list: systemVSemaphoreSets),
    Kind(
      flag: Flag(
        "--posix-semaphores",
        help: "POSIX named semaphores: name, owner, permissions and value, from /dev/shm/sem.NAME"),
      jsonKey: "posix_semaphores", list: posixSemaphores),
    Kind(
      flag: Flag(
        "--sysv-shm", short: "-m",
        help: "System V shared memory segments (as ipcs -m): key, id, owner, permissions, size, attachments,"
          + " creator and last pids, 'dest' if removed while attached, from /proc/sysvipc/shm"),
      jsonKey: "sysv_shm", list: systemVSegments),
    Kind(
      flag: Flag(
        "--posix-shm", help: "POSIX shared memory objects: name, owner, permissions and size, from /dev/shm"),
      jsonKey: "posix_shm", list: posixSharedMemory),
    Kind(
      flag: Flag(
        "--sockets",
        help: "Unix-domain sockets of this user (or held by its processes) that have a name: path or"
          + " @abstract name, kind, state (listening, connected, bound) and the pids holding them, from the"
          + " kernel's socket table (netlink sock_diag) and /proc/PID/fd (unnamed ones, such as socket pairs"
          + " and clients' ends, are left out)"),
      jsonKey: "unix_sockets", list: unixSockets),
  ]

  static let command = Command(
    "ipc list",
    abstract: "list queues, semaphores, shared memory (System V, like ipcs, and POSIX) and Unix sockets",
    options: kinds.map(\.flag) + [CommonOptions.json],
    discussion: """
      Without a kind option every kind is listed; kind options combine (ipc list -q -s, or -qs). With --json the output is one JSON object with a key per kind listed (sysv_queues, posix_queues, sysv_semaphores, posix_semaphores, sysv_shm, posix_shm, unix_sockets), each an array of objects (null when the kind cannot be read), numbers as numbers.
      Exit status: 0 success, 1 failure (/proc not mounted), 2 usage error.
      """, body: run)

  private static func run(_ parsed: ParsedArguments) throws {
    let chosen = kinds.filter { parsed[$0.flag] }
    let listed = chosen.isEmpty ? kinds : chosen
    var members: [(String, JSONValue)] = []
    for kind in listed {
      let section = try kind.list()
      if parsed[CommonOptions.json] {
        members.append((kind.jsonKey, section.json))
      } else {
        section.lines.forEach(Output.line)
      }
    }
    if parsed[CommonOptions.json] { Output.line(JSONValue.object(members).rendered()) }
  }

  private static func posixQueues() -> Section {
    let title = "POSIX message queues"
    let columns = ["NAME", "OWNER", "PERMS", "MESSAGES", "MAX-MESSAGES", "MESSAGE-SIZE", "BYTES"]
    guard let names = MountedQueues.names() else {
      return Section(
        title: title, columns: columns, rows: [],
        unavailable: "/dev/mqueue is not mounted (\(MountedQueues.mountHint))")
    }
    var rows: [[Cell]] = []
    for name in names {
      var info = stat()
      let found = stat(MountedQueues.directory + name, &info) == 0
      // The limits need mq_getattr, which needs read permission on the queue.
      let attributes = try? POSIX.MessageQueue.open(name, access: .readOnly).attributes()
      rows.append([
        .text(name), found ? .text(MessageCommand.userName(info.st_uid)) : .unknown,
        found ? .text(Permissions(rawValue: info.st_mode & 0o777).octal) : .unknown,
        attributes.map { .number($0.currentMessages) } ?? .unreadable,
        attributes.map { .number($0.maxMessages) } ?? .unreadable,
        attributes.map { .number($0.messageSize) } ?? .unreadable,
        Cell(parsing: MountedQueues.state(of: name)?["QSIZE"]),
      ])
    }
    return Section(title: title, columns: columns, rows: rows)
  }

  private static func systemVQueues() throws -> Section {
    let rows = try ProcTable(path: "/proc/sysvipc/msg").rows
    let columns = ["KEY", "ID", "OWNER", "PERMS", "MESSAGES", "BYTES", "MAX-BYTES", "LSPID", "LRPID"]
    var cells: [[Cell]] = []
    for row in rows {
      guard let id = Int32(row["msqid"] ?? "") else { continue }
      // msg_qbytes is not in /proc; ask the kernel, which may refuse without read permission.
      let maxBytes = (try? SystemV.MessageQueue.open(id: id).stat().maxBytes).map(Cell.number) ?? .unreadable
      cells.append([
        .text(row.key), .number(Int(id)), .text(row.owner), .text(row.permissions),
        Cell(parsing: row["qnum"]),
        Cell(parsing: row["cbytes"]), maxBytes, Cell(parsing: row["lspid"]), Cell(parsing: row["lrpid"]),
      ])
    }
    return Section(title: "System V message queues", columns: columns, rows: cells)
  }
}

extension ListCommand {
  /// How many values of a set the table shows before "…" (JSON has them all).
  static let shownValues = 8

  private static func systemVSemaphoreSets() throws -> Section {
    let rows = try ProcTable(path: "/proc/sysvipc/sem").rows
    var cells: [[Cell]] = []
    for row in rows {
      guard let id = Int32(row["semid"] ?? "") else { continue }
      // Values need semctl(GETALL), which needs read permission on the set.
      let values = try? SystemV.SemaphoreSet.open(id: id).values()
      cells.append([
        .text(row.key), .number(Int(id)), .text(row.owner), .text(row.permissions),
        Cell(parsing: row["nsems"]),
        values.map { .numbers($0, shown: shownValues) } ?? .unreadable,
      ])
    }
    return Section(
      title: "System V semaphore sets", columns: ["KEY", "ID", "OWNER", "PERMS", "NSEMS", "VALUES"],
      rows: cells)
  }

  private static func posixSemaphores() -> Section {
    // sem_open needs read and write permission on the file, and the
    // library refuses a file too short to be a semaphore.
    files(.semaphores, title: "POSIX semaphores", column: "VALUE") { entry in
      (try? POSIX.Semaphore.open(entry.name).value()).map(Cell.number) ?? .unreadable
    }
  }

  /// The objects of `kind` in /dev/shm: name, owner, permissions, and
  /// `column` as `value` gives it.
  private static func files(
    _ kind: ShmFiles.Kind, title: String, column: String, _ value: (ShmFiles.Entry) -> Cell
  ) -> Section {
    let columns = ["NAME", "OWNER", "PERMS", column]
    guard let entries = ShmFiles.entries(kind) else {
      return Section(
        title: title, columns: columns, rows: [],
        unavailable: "cannot read \(ShmFiles.directory): \(String(cString: strerror(errno)))")
    }
    let rows = entries.map { entry -> [Cell] in
      [
        .text(entry.name), .text(MessageCommand.userName(entry.info.st_uid)),
        .text(Permissions(rawValue: entry.info.st_mode & 0o777).octal), value(entry),
      ]
    }
    return Section(title: title, columns: columns, rows: rows)
  }

  private static func systemVSegments() throws -> Section {
    let rows = try ProcTable(path: "/proc/sysvipc/shm").rows
    var cells: [[Cell]] = []
    for row in rows {
      guard let id = Int32(row["shmid"] ?? "") else { continue }
      cells.append([
        .text(row.key), .number(Int(id)), .text(row.owner), .text(row.permissions),
        Cell(parsing: row["size"]),
        Cell(parsing: row["nattch"]), Cell(parsing: row["cpid"]), Cell(parsing: row["lpid"]),
        .text(row.mode & UInt32(SHM_DEST) != 0 ? "dest" : ""),
      ])
    }
    return Section(
      title: "System V shared memory segments",
      columns: ["KEY", "ID", "OWNER", "PERMS", "SIZE", "ATTACHED", "CPID", "LPID", "STATUS"], rows: cells)
  }

  private static func posixSharedMemory() -> Section {
    files(.sharedMemory, title: "POSIX shared memory", column: "SIZE") { .number(Int($0.info.st_size)) }
  }

  private static func unixSockets() -> Section {
    let title = "Unix sockets"
    let columns = ["ADDRESS", "KIND", "STATE", "PIDS"]
    let sockets: [UnixSocketTable.Entry]
    switch UnixSocketTable.sockets() {
    case .success(let all): sockets = all
    case .failure(let code):
      return Section(
        title: title, columns: columns, rows: [],
        unavailable: "cannot read the kernel's socket table (netlink sock_diag): \(code.explanation)")
    }
    // Sockets of this user, and those a process of this user holds.
    let user = geteuid()
    let holders = UnixSocketTable.holders(uid: user)
    let rows = sockets.compactMap { entry -> [Cell]? in
      let pids = holders[entry.inode]
      guard pids != nil || entry.uid == user else { return nil }
      return [.text(entry.address), .text(entry.kind), .text(entry.state), .numbers(pids ?? [], shown: 4)]
    }
    return Section(title: title, columns: columns, rows: rows.sorted { $0[0].text < $1[0].text })
  }
}

/// One cell of `ipc list`: a table shows it as text, JSON as its own type.
enum Cell {
  case text(String)
  case number(Int)
  /// A semaphore set's values: the table shows the first `shown`.
  case numbers([Int], shown: Int)
  /// The kernel did not let this user read it: "-" in the table, null in JSON.
  case unreadable
  /// A field /proc did not give: "?" in the table, null in JSON.
  case unknown

  /// A /proc field as a number, or ``unknown``.
  init(parsing text: String?) {
    self = text.flatMap { Int($0) }.map(Cell.number) ?? .unknown
  }

  /// What the table shows: text with its control characters escaped, since
  /// another user's object name may carry terminal escape sequences.
  var text: String {
    switch self {
    case .text(let text): UsageError.shown(text)
    case .number(let value): "\(value)"
    case .numbers(let values, let shown):
      values.prefix(shown).map { "\($0)" }.joined(separator: ",") + (values.count > shown ? ",…" : "")
    case .unreadable: "-"
    case .unknown: "?"
    }
  }

  var json: JSONValue {
    switch self {
    case .text(let text): .string(text)
    case .number(let value): .number(value)
    case .numbers(let values, _): .array(values.map(JSONValue.number))
    case .unreadable, .unknown: .null
    }
  }
}

/// One kind of object as `ipc list` shows it: a titled table, or JSON objects.
struct Section {
  var title: String
  var columns: [String]
  var rows: [[Cell]]
  /// Why the kind could not be listed, if it could not.
  var unavailable: String?

  /// The title line and the table.
  var lines: [String] {
    if let unavailable { return ["------ \(title): not listed, \(unavailable) ------"] }
    return ["------ \(title) (\(rows.count)) ------"]
      + TextTable.lines([columns] + rows.map { $0.map(\.text) })
  }

  /// An array of objects keyed by the column names in snake case; null if unavailable.
  var json: JSONValue {
    guard unavailable == nil else { return .null }
    let keys = columns.map { $0.lowercased().replacing("-", with: "_") }
    return .array(rows.map { row in .object(Array(zip(keys, row.map(\.json)))) })
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
