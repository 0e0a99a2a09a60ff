import Glibc
import IPC
import IPCToolSupport

/// `ipc mq ...`: POSIX message queues.
enum POSIXQueueCommand {
  private typealias Options = CommonOptions

  static let maxMessages = Option<Int>.integer(
    "--max-messages", 1...Int.max, what: "a number of messages",
    help: "the most messages it holds (default /proc/sys/fs/mqueue/msg_default)")
  static let messageSize = Option<Int>.integer(
    "--message-size", 1...Int.max, what: "a number of bytes",
    help: "the largest message (default /proc/sys/fs/mqueue/msgsize_default)")
  static let exclusive = Flag(
    "--exclusive", help: "fail if the queue exists: the default, accepted for old scripts")
  static let priority = Option<Int>.integer(
    "--priority", 0...max(0, POSIX.MessageQueue.Limits.current().priorityLimit - 1),
    what: "a priority (below MQ_PRIO_MAX)",
    help: "the priority, below MQ_PRIO_MAX (32768); higher ones are received first (default 0)")
  static let showPriority = Flag("--show-priority", help: "print the priority and a tab before the body")
  static let name = Positional(
    "NAME", help: "the queue's name: '/' and 1 to 255 bytes without '/', such as /orders")

  static let discussion = """
    Exit status: 0 success, 1 failure (empty with --nowait or after --timeout, full, too long, no such queue, ...), 2 usage error.
    """

  static let group = CommandGroup(
    path: "ipc mq", abstract: "POSIX message queues: named, with priorities.", discussion: discussion,
    commands: [
      Command(
        "ipc mq create", abstract: "make a queue; fails if the name is taken",
        options: [maxMessages, messageSize, Options.mode, Options.openExisting, exclusive],
        positionals: [name], exclusive: [[Options.openExisting, exclusive]], body: create),
      Command(
        "ipc mq send", abstract: "send TEXT as one message of priority P",
        options: [priority, Options.nowait, Options.timeout],
        positionals: [name, Positional("TEXT", help: "the message body, sent as its UTF-8 bytes")],
        exclusive: [[Options.nowait, Options.timeout]], body: send),
      Command(
        "ipc mq receive", abstract: "take the highest-priority, oldest message and print its body",
        options: [Options.nowait, Options.timeout, showPriority, Options.raw], positionals: [name],
        exclusive: [[Options.nowait, Options.timeout]], body: receive),
      Command(
        "ipc mq stat", abstract: "print the queue's limits, message count and owner", positionals: [name],
        body: stat),
      Command(
        "ipc mq remove", abstract: "remove the name (mq_unlink); processes that have it open keep it",
        positionals: [name], aliases: ["unlink"], body: remove),
    ])

  private static func create(_ parsed: ParsedArguments) throws {
    let name = parsed.positionals[0]
    let (maxMessages, messageSize) = (parsed[Self.maxMessages], parsed[Self.messageSize])
    let permissions = parsed[Options.mode] ?? .ownerReadWrite
    switch Result(catching: { () throws(IPCError) in
      try POSIX.MessageQueue.create(
        name, maxMessages: maxMessages, messageSize: messageSize, permissions: permissions)
    }) {
    case .success: break
    case .failure(let error) where error.code == .exists && parsed[Options.openExisting]:
      let queue = try POSIX.MessageQueue.open(name, access: .readOnly)
      let attributes = try queue.attributes()
      let existing = ExistingObject(what: "\(queue)")
      try existing.check(
        "--max-messages", given: maxMessages, actual: attributes.maxMessages, unit: " messages")
      try existing.check("--message-size", given: messageSize, actual: attributes.messageSize, unit: " bytes")
      try existing.checkMode(parsed[Options.mode], ofFileAt: "/dev/mqueue" + name)
    case .failure(let error): throw error
    }
  }

  private static func send(_ parsed: ParsedArguments) throws {
    let priority = parsed[Self.priority] ?? 0
    let queue = try POSIX.MessageQueue.open(parsed.positionals[0], access: .writeOnly)
    let bytes = Array(parsed.positionals[1].utf8)
    let sent = try Wait(parsed).attempt(
      blocking: { try queue.send(bytes, priority: priority) },
      now: { try queue.trySend(bytes, priority: priority) },
      within: { try queue.send(bytes, priority: priority, timeout: $0) })
    if !sent {
      throw CommandFailure("\(queue) is full; nothing was sent (see ipc mq stat \(queue.name))")
    }
  }

  private static func receive(_ parsed: ParsedArguments) throws {
    let queue = try POSIX.MessageQueue.open(parsed.positionals[0], access: .readOnly)
    let message: POSIX.Message? =
      switch Wait(parsed) {
      case .asLongAsNeeded: try queue.receive()
      case .no: try queue.tryReceive()
      case .upTo(let timeout): try queue.receive(timeout: timeout)
      }
    guard let message else { throw CommandFailure("\(queue) is empty") }
    try Output.message(
      message.bytes, label: parsed[Self.showPriority] ? "\(message.priority)" : nil, raw: parsed[Options.raw],
      from: .taken { () throws -> String in
        // Opened to read only: putting back needs a writing descriptor.
        let writer = try POSIX.MessageQueue.open(queue.name, access: .writeOnly)
        guard try writer.trySend(message.bytes, priority: message.priority) else {
          throw CommandFailure("\(queue) is full")
        }
        return "put back in \(queue), priority \(message.priority) (behind messages of that priority)"
      })
  }

  private static func stat(_ parsed: ParsedArguments) throws {
    let queue = try POSIX.MessageQueue.open(parsed.positionals[0], access: .readOnly)
    let attributes = try queue.attributes()
    var rows: [(String, String)] = [
      ("name", UsageError.shown(queue.name)),
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

  private static func remove(_ parsed: ParsedArguments) throws {
    try POSIX.MessageQueue.unlink(parsed.positionals[0])
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
