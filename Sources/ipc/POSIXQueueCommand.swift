import Glibc
import IPC
import IPCToolSupport

/// `ipc mq ...`: POSIX message queues.
enum POSIXQueueCommand {
  static let usage = """
    usage: ipc mq <subcommand> NAME [options]

      create  NAME [--max-messages N] [--message-size N] [--mode 0600] [--exclusive]
              make a queue (limits default to /proc/sys/fs/mqueue/msg_default and
              msgsize_default); without --exclusive an existing queue is kept
      send    NAME [--priority P] [--nowait | --timeout S] TEXT
              send TEXT as one message of priority P (0 ..< 32768, default 0)
      receive NAME [--nowait | --timeout S] [--show-priority]
              print the highest-priority, oldest message (with --show-priority:
              the priority, a tab, the body)
      stat    NAME       print the queue's limits, message count and owner
      unlink  NAME       remove the name; processes that have it open keep it

    NAME is '/' followed by 1 to 255 bytes without '/', such as /orders.
    Exit status: 0 success, 1 failure (empty with --nowait or after --timeout,
    full, too long, ...), 2 usage error.
    """

  static func main(_ arguments: Arguments) -> Int32 {
    runSubcommand(
      "mq", usage: usage, arguments,
      [
        "create": create,
        "send": send,
        "receive": receive,
        "stat": stat,
        "unlink": unlink,
      ])
  }

  private static func create(_ arguments: inout Arguments) throws {
    let maxMessages = try positive(&arguments, "--max-messages")
    let messageSize = try positive(&arguments, "--message-size")
    let permissions = try MessageCommand.permissionsOption(&arguments)
    let exclusive = arguments.flag("--exclusive")
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    _ =
      exclusive
      ? try POSIX.MessageQueue.create(
        name, maxMessages: maxMessages, messageSize: messageSize, permissions: permissions)
      : try POSIX.MessageQueue.openOrCreate(
        name, maxMessages: maxMessages, messageSize: messageSize, permissions: permissions)
  }

  private static func positive(_ arguments: inout Arguments, _ option: String) throws -> Int? {
    let value = try arguments.integer(option)
    if let value, value < 1 { throw UsageError("\(option) needs a number ≥ 1, not \(value)") }
    return value
  }

  private static func send(_ arguments: inout Arguments) throws {
    let priority = try arguments.integer("--priority") ?? 0
    let wait = try arguments.wait()
    let words = try arguments.positionals(min: 2, max: 2, names: "NAME and TEXT")
    let queue = try POSIX.MessageQueue.open(words[0], access: .writeOnly)
    let bytes = Array(words[1].utf8)
    let sent: Bool
    switch wait {
    case .asLongAsNeeded:
      try queue.send(bytes, priority: priority)
      sent = true
    case .no: sent = try queue.trySend(bytes, priority: priority)
    case .upTo(let timeout): sent = try queue.send(bytes, priority: priority, timeout: timeout)
    }
    if !sent {
      throw CommandFailure("\(queue) is full; nothing was sent (see ipc mq stat \(queue.name))")
    }
  }

  private static func receive(_ arguments: inout Arguments) throws {
    let wait = try arguments.wait()
    let showPriority = arguments.flag("--show-priority")
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    let queue = try POSIX.MessageQueue.open(name, access: .readOnly)
    let message: POSIX.Message? =
      switch wait {
      case .asLongAsNeeded: try queue.receive()
      case .no: try queue.tryReceive()
      case .upTo(let timeout): try queue.receive(timeout: timeout)
      }
    guard let message else { throw CommandFailure("\(queue) is empty") }
    try Output.message(message.bytes, label: showPriority ? "\(message.priority)" : nil)
  }

  private static func stat(_ arguments: inout Arguments) throws {
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    let queue = try POSIX.MessageQueue.open(name, access: .readOnly)
    let attributes = try queue.attributes()
    var rows: [(String, String)] = [
      ("name", queue.name),
      ("messages", "\(attributes.currentMessages) of \(attributes.maxMessages)"),
      ("message size", "\(attributes.messageSize) bytes"),
    ]
    var info = Glibc.stat()
    if fstat(queue.fileDescriptor, &info) == 0 {
      rows.append(("permissions", "\(Permissions(rawValue: info.st_mode & 0o777))"))
      rows.append(
        ("owner", "\(MessageCommand.userName(info.st_uid)) (uid \(info.st_uid), gid \(info.st_gid))"))
    }
    if let state = MountedQueues.state(of: queue.name) {
      rows.append(("bytes queued", state["QSIZE"] ?? "?"))
      let notifier = state["NOTIFY_PID"] ?? "0"
      rows.append(("notification", notifier == "0" ? "none" : "registered by pid \(notifier)"))
    }
    TextTable.lines(rows.map { [$0.0, $0.1] }).forEach(Output.line)
  }

  private static func unlink(_ arguments: inout Arguments) throws {
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    try POSIX.MessageQueue.unlink(name)
  }
}

/// The mqueue filesystem, where Linux shows every POSIX queue as a file.
enum MountedQueues {
  static let directory = "/dev/mqueue"
  static let mountHint = "mount -t mqueue none /dev/mqueue"

  /// Whether the mqueue filesystem is mounted at /dev/mqueue; read once, as
  /// `ipc list` asks for every queue.
  static let isMounted: Bool = {
    // /proc/self/mounts: "none /dev/mqueue mqueue rw,... 0 0".
    guard let mounts = readTextFile("/proc/self/mounts") else { return false }
    return mounts.split(separator: "\n").contains { line in
      let fields = line.split(separator: " ")
      return fields.count > 2 && fields[1] == directory && fields[2] == "mqueue"
    }
  }()

  /// The queue names, sorted; nil if the filesystem is not mounted.
  static func names() -> [String]? {
    guard isMounted, let directory = opendir(directory) else { return nil }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append("/" + name) }
    }
    return names.sorted()
  }

  /// The fields of the queue's file (`QSIZE:0 NOTIFY:0 SIGNO:0 NOTIFY_PID:0`).
  static func state(of name: String) -> [String: String]? {
    guard isMounted, let text = readTextFile(directory + name) else { return nil }
    var fields: [String: String] = [:]
    for field in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
      let parts = field.split(separator: ":", maxSplits: 1)
      if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
    }
    return fields
  }
}
