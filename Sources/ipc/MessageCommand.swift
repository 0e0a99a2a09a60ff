import Glibc
import IPC
import IPCToolSupport

/// `ipc msg ...`: System V message queues.
enum MessageCommand {
  static let usage = """
    usage: ipc msg <subcommand> [options]

      create  [--key K | --path P --project N] [--mode 0600] [--max-bytes N] [--exclusive]
              make a queue (IPC_PRIVATE without a key) and print its id; without
              --exclusive an existing queue for the key is opened instead
      send    QUEUE [--type N] [--nowait | --timeout S] TEXT
              send TEXT as one message of type N (default 1)
      receive QUEUE [--type N | --up-to N | --except N] [--nowait | --timeout S]
              [--truncate] [--show-type]
              print the body of the oldest matching message (with --show-type:
              the type, a tab, the body)
      peek    QUEUE [--index N] [--show-type]
              print the message at position N (0 = oldest) without removing it
      stat    QUEUE      print the queue's state
      remove  QUEUE      remove the queue

    QUEUE is --key K, --id I, or --path P --project N (ftok). K is decimal or
    0x-hex. Exit status: 0 success, 1 failure (no message with --nowait or after
    --timeout, too big, removed, ...), 2 usage error.
    """

  static func main(_ arguments: Arguments) -> Int32 {
    runSubcommand(
      "msg", usage: usage, arguments,
      [
        "create": create,
        "send": send,
        "receive": receive,
        "peek": peek,
        "stat": stat,
        "remove": remove,
      ])
  }

  private static func create(_ arguments: inout Arguments) throws {
    let keyName = try keyOption(&arguments)
    let permissions = try permissionsOption(&arguments)
    let maxBytes = try arguments.integer("--max-bytes")
    if let maxBytes, maxBytes < 1 { throw UsageError("--max-bytes needs a number ≥ 1") }
    let exclusive = arguments.flag("--exclusive")
    try arguments.finish()
    let key = try keyName?.resolve() ?? .private
    // Try to make it first, so this command knows whether the queue is its own.
    // (A Result, not do/catch-where: that form crashes the Swift 6.3.1 compiler
    // with typed throws.)
    let queue: SystemV.MessageQueue
    var created = true
    switch Result(catching: { () throws(IPCError) in
      try SystemV.MessageQueue.create(key: key, permissions: permissions)
    }) {
    case .success(let made):
      queue = made
    case .failure(let error) where error.code == .exists && !exclusive:
      queue = try SystemV.MessageQueue.open(key: key)
      created = false
    case .failure(let error):
      throw error
    }
    if let maxBytes {
      do {
        try queue.setMaxBytes(maxBytes)
      } catch {
        // Do not leave behind a queue this command made but could not set up.
        if created { try? queue.remove() }
        throw error
      }
    }
    Output.line("\(queue.id)")
  }

  private static func send(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "queue")
    let type = try arguments.integer("--type") ?? 1
    guard type >= 1 else { throw UsageError("--type needs a message type ≥ 1, not \(type)") }
    let wait = try arguments.wait()
    let text = try arguments.positionals(min: 1, max: 1, names: "TEXT")[0]
    let queue = try name.openQueue()
    let bytes = Array(text.utf8)
    let sent: Bool
    switch wait {
    case .asLongAsNeeded:
      try queue.send(bytes, type: type)
      sent = true
    case .no: sent = try queue.trySend(bytes, type: type)
    case .upTo(let timeout): sent = try queue.send(bytes, type: type, timeout: timeout)
    }
    if !sent { throw CommandFailure("\(queue) is full; nothing was sent (see ipc msg stat)") }
  }

  private static func receive(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "queue")
    let selector = try selectorOptions(&arguments)
    let wait = try arguments.wait()
    let truncating = arguments.flag("--truncate")
    let showType = arguments.flag("--show-type")
    try arguments.finish()
    let queue = try name.openQueue()
    let message: SystemV.Message? =
      switch wait {
      case .asLongAsNeeded: try queue.receive(selector, truncating: truncating)
      case .no: try queue.tryReceive(selector, truncating: truncating)
      case .upTo(let timeout): try queue.receive(selector, timeout: timeout, truncating: truncating)
      }
    guard let message else {
      throw CommandFailure("no message of \(selector) in \(queue)")
    }
    try show(message, showType: showType)
  }

  private static func peek(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "queue")
    let index = try arguments.integer("--index") ?? 0
    guard index >= 0 else { throw UsageError("--index needs a position ≥ 0 (0 is the oldest)") }
    let showType = arguments.flag("--show-type")
    try arguments.finish()
    let queue = try name.openQueue()
    guard let message = try queue.peek(at: index) else {
      throw CommandFailure("\(queue) holds no message at index \(index)")
    }
    try show(message, showType: showType)
  }

  private static func show(_ message: SystemV.Message, showType: Bool) throws {
    try Output.message(message.bytes, label: showType ? "\(message.type)" : nil)
  }

  private static func stat(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "queue")
    try arguments.finish()
    let queue = try name.openQueue()
    let status = try queue.stat()
    let rows: [(String, String)] = [
      ("id", "\(queue.id)"),
      ("key", "\(status.key)"),
      ("permissions", "\(status.permissions)"),
      ("owner", "\(userName(status.ownerUID)) (uid \(status.ownerUID), gid \(status.ownerGID))"),
      ("creator", "\(userName(status.creatorUID)) (uid \(status.creatorUID), gid \(status.creatorGID))"),
      ("messages", "\(status.messageCount)"),
      ("bytes", "\(status.byteCount) of \(status.maxBytes)"),
      ("last send", event(status.lastSenderPID, status.lastSendTime)),
      ("last receive", event(status.lastReceiverPID, status.lastReceiveTime)),
      ("changed", Clock.format(status.lastChangeTime)),
    ]
    TextTable.lines(rows.map { [$0.0, $0.1] }).forEach(Output.line)
  }

  private static func event(_ pid: Int32?, _ time: Int?) -> String {
    guard let pid, let time else { return "never" }
    return "pid \(pid) at \(Clock.format(time))"
  }

  private static func remove(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "queue")
    try arguments.finish()
    let queue = try name.openQueue()
    try queue.remove()
  }

  // MARK: Options shared by the subcommands

  /// The key given by `--key K` or `--path P --project N`, if any.
  static func keyOption(_ arguments: inout Arguments) throws -> KeyName? {
    let keyText = try arguments.option("--key")
    let path = try arguments.option("--path")
    let project = try arguments.integer("--project")
    if let keyText {
      guard path == nil, project == nil else {
        throw UsageError("give either --key or --path/--project, not both")
      }
      guard let key = SystemV.Key(parsing: keyText) else {
        throw UsageError("--key needs a decimal or 0x-hex number, not '\(keyText)'")
      }
      return .key(key)
    }
    if let path {
      guard let project, (1...255).contains(project) else {
        throw UsageError("--path needs --project N with N from 1 to 255")
      }
      return .file(path, project)
    }
    if project != nil { throw UsageError("--project needs --path P") }
    return nil
  }

  static func permissionsOption(_ arguments: inout Arguments) throws -> Permissions {
    guard let text = try arguments.option("--mode") else { return .ownerReadWrite }
    guard let permissions = Permissions(octal: text) else {
      throw UsageError("--mode needs octal permissions such as 0600, not '\(text)'")
    }
    return permissions
  }

  private static func selectorOptions(_ arguments: inout Arguments) throws
    -> SystemV.MessageQueue.Selector
  {
    let choices: [(String, (Int) -> SystemV.MessageQueue.Selector)] = [
      ("--type", { .type($0) }), ("--up-to", { .upTo($0) }), ("--except", { .except($0) }),
    ]
    var selector = SystemV.MessageQueue.Selector.any
    var given = 0
    for (name, make) in choices {
      if let value = try arguments.integer(name) {
        guard value >= 1 else { throw UsageError("\(name) needs a message type ≥ 1, not \(value)") }
        selector = make(value)
        given += 1
      }
    }
    if given > 1 { throw UsageError("give at most one of --type, --up-to, --except") }
    return selector
  }

  static func userName(_ uid: UInt32) -> String {
    guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "\(uid)" }
    return String(cString: name)
  }
}

/// Formats kernel timestamps for people.
enum Clock {
  /// `2026-11-25 01:23:45 UTC` in local time.
  static func format(_ seconds: Int) -> String {
    var time = time_t(seconds)
    var parts = tm()
    localtime_r(&time, &parts)
    var buffer = [CChar](repeating: 0, count: 64)
    let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S %Z", &parts)
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

/// A key as given on the command line; `ftok` runs only when it is resolved.
enum KeyName {
  case key(SystemV.Key)
  case file(String, Int)

  func resolve() throws(IPCError) -> SystemV.Key {
    switch self {
    case .key(let key): key
    case .file(let path, let project): try SystemV.Key(path: path, projectID: project)
    }
  }
}
