import Glibc
import IPC
import IPCToolSupport

/// `ipc msg ...`: System V message queues.
enum MessageCommand {
  private typealias Options = CommonOptions

  static let type = Option<Int>.integer(
    "--type", 1...Int.max, what: "a message type", help: "the message type (default 1)")
  static let upTo = Option<Int>.integer(
    "--up-to", 1...Int.max, what: "a message type", help: "take the oldest message of the lowest type up to N"
  )
  static let except = Option<Int>.integer(
    "--except", 1...Int.max, what: "a message type", help: "take the oldest message of any type but N")
  static let maxBytes = Option<Int>.integer(
    "--max-bytes", 1...SystemV.MessageQueue.maxBytesCeiling, what: "a number of bytes",
    help: "the most bytes the queue holds (msg_qbytes; above msgmnb needs CAP_SYS_RESOURCE)")
  static let exclusive = Flag(
    "--exclusive", help: "fail if the queue exists: the default, accepted for old scripts")
  static let truncate = Flag(
    "--truncate", help: "take a message longer than msgmax too, cut to msgmax bytes (MSG_NOERROR)")
  static let showType = Flag("--show-type", help: "print the type and a tab before the body")
  static let index = Option<Int>.integer(
    "--index", 0...Int.max, what: "a position (0 is the oldest)",
    help: "the position of the message, 0 the oldest")

  static let discussion = """
    A queue is named by --key K, --id I, or --path P --project N (ftok). K is decimal or 0x-hex.
    Exit status: 0 success, 1 failure (no message with --nowait or after --timeout, too big, removed, ...), 2 usage error.
    """

  static let group = CommandGroup(
    path: "ipc msg", abstract: "System V message queues: messages routed by a type.",
    discussion: discussion,
    commands: [
      Command(
        "ipc msg create",
        abstract: "make a queue and print its id (IPC_PRIVATE without a key); fails if the key has one",
        options: Options.keyName + [Options.mode, maxBytes, Options.openExisting, exclusive],
        exclusive: [[Options.openExisting, exclusive]],
        groupDiscussion: discussion.replacing(
          "A queue is named by --key K, --id I, or --path P --project N (ftok).",
          with: "A new queue is named by --key K or --path P --project N (ftok), or is private without them."),
        body: create),
      Command(
        "ipc msg send", abstract: "send TEXT as one message of type N (default 1)",
        options: Options.systemVName + [type, Options.nowait, Options.timeout],
        positionals: [Positional("TEXT", help: "the message body, sent as its UTF-8 bytes")],
        exclusive: [[Options.nowait, Options.timeout]], body: send),
      Command(
        "ipc msg receive", abstract: "take the oldest matching message and print its body (and a newline)",
        options: Options.systemVName + [
          type.help("take the oldest message of type N"), upTo, except, Options.nowait, Options.timeout,
          truncate, showType, Options.raw,
        ], exclusive: [[type, upTo, except], [Options.nowait, Options.timeout]], body: receive),
      Command(
        "ipc msg peek", abstract: "print the message at position N (0 = oldest) without removing it",
        options: Options.systemVName + [index, showType, Options.raw], body: peek),
      Command("ipc msg stat", abstract: "print the queue's state", options: Options.systemVName, body: stat),
      Command(
        "ipc msg remove", abstract: "remove the queue; waiting processes fail (EIDRM)",
        options: Options.systemVName, aliases: ["unlink"], body: remove),
    ])

  private static func create(_ parsed: ParsedArguments) throws {
    let keyName = try KeyName.parse(parsed)
    let key = try keyName?.resolve() ?? .private
    let permissions = parsed[Options.mode] ?? .ownerReadWrite
    // Made here or opened: only a queue this command made gets the limit (and
    // is removed when it cannot be set); an opened one must already have it.
    let queue: SystemV.MessageQueue
    var created = true
    switch Result(catching: { () throws(IPCError) in
      try SystemV.MessageQueue.create(key: key, permissions: permissions)
    }) {
    case .success(let made):
      queue = made
    // (A Result, not do/catch-where: that form crashes the Swift 6.3.1 compiler with typed throws.)
    case .failure(let error) where error.code == .exists && parsed[Options.openExisting]:
      queue = try SystemV.MessageQueue.open(key: key)
      created = false
      let status = try queue.stat()
      let existing = ExistingObject(what: "\(queue)")
      try existing.check("--max-bytes", given: parsed[Self.maxBytes], actual: status.maxBytes, unit: " bytes")
      try existing.checkMode(parsed[Options.mode], actual: status.permissions)
    case .failure(let error):
      throw error
    }
    if created, let maxBytes = parsed[Self.maxBytes] {
      do {
        try queue.setMaxBytes(maxBytes)
      } catch {
        // Do not leave behind a queue this command made but could not set up.
        try? queue.remove()
        throw error
      }
    }
    try Output.newID(queue.id, of: "queue", remove: created ? { try queue.remove() } : nil)
  }

  private static func send(_ parsed: ParsedArguments) throws {
    let name = try SystemVName.parse(parsed, kind: "queue")
    let type = parsed[Self.type] ?? 1
    let queue = try name.openQueue()
    let bytes = Array(parsed.positionals[0].utf8)
    let sent = try Wait(parsed).attempt(
      blocking: { try queue.send(bytes, type: type) }, now: { try queue.trySend(bytes, type: type) },
      within: { try queue.send(bytes, type: type, timeout: $0) })
    if !sent { throw CommandFailure("\(queue) is full; nothing was sent (see ipc msg stat)") }
  }

  private static func receive(_ parsed: ParsedArguments) throws {
    let name = try SystemVName.parse(parsed, kind: "queue")
    let selector: SystemV.MessageQueue.Selector =
      if let value = parsed[Self.type] { .type(value) } else if let value = parsed[Self.upTo] {
        .upTo(value)
      } else if let value = parsed[Self.except] { .except(value) } else { .any }
    let truncating = parsed[Self.truncate]
    let queue = try name.openQueue()
    let message: SystemV.Message? =
      switch Wait(parsed) {
      case .asLongAsNeeded: try queue.receive(selector, truncating: truncating)
      case .no: try queue.tryReceive(selector, truncating: truncating)
      case .upTo(let timeout): try queue.receive(selector, timeout: timeout, truncating: truncating)
      }
    guard let message else {
      throw CommandFailure("no message of \(selector) in \(queue)")
    }
    try show(
      message, parsed,
      from: .taken { () throws -> String in
        guard try queue.trySend(message.bytes, type: message.type) else {
          throw CommandFailure("\(queue) is full")
        }
        return "put back at the end of \(queue), type \(message.type)"
      })
  }

  private static func peek(_ parsed: ParsedArguments) throws {
    let name = try SystemVName.parse(parsed, kind: "queue")
    let index = parsed[Self.index] ?? 0
    let queue = try name.openQueue()
    guard let message = try queue.peek(at: index) else {
      throw CommandFailure("\(queue) holds no message at index \(index)")
    }
    try show(message, parsed, from: .peeked)
  }

  private static func show(_ message: SystemV.Message, _ parsed: ParsedArguments, from source: Output.Source)
    throws
  {
    try Output.message(
      message.bytes, label: parsed[Self.showType] ? "\(message.type)" : nil, raw: parsed[Options.raw],
      from: source)
  }

  private static func stat(_ parsed: ParsedArguments) throws {
    let queue = try SystemVName.parse(parsed, kind: "queue").openQueue()
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

  private static func remove(_ parsed: ParsedArguments) throws {
    try SystemVName.parse(parsed, kind: "queue").openQueue().remove()
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
