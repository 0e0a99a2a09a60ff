import Glibc
import IPC

/// `ipc demo`: the classic walk-through of a sender, a batch sender and a
/// receiver sharing one message queue, done with real processes and message
/// types instead of `terminate()`.
enum DemoCommand {
  static let usage = """
    usage: ipc demo [--interval SECONDS] [--count N]

      Three child processes share one private System V message queue:
        sender        sends one JSON greeting (type 1)
        batch sender  sends N numbered text messages (type 2), --interval apart
        receiver      prints each message as it arrives, decoding JSON where it can
      Each sender ends with an end-of-stream message (type 3) that says how many
      it sent; the receiver stops when both have ended and checks that nothing
      was lost. The queue is then removed and a summary printed.

      --interval SECONDS  pause between batch messages (default 0.05)
      --count N           number of batch messages (default 20)
    """

  /// Message types: the queue routes the roles.
  enum Kind {
    static let greeting = 1
    static let batch = 2
    static let end = 3
  }

  /// The JSON message the sender sends, like the Python walk-through's `json.dumps`.
  struct Greeting: TypedMessage {
    static let messageType = Kind.greeting
    var from: String
    var pid: Int32
    var text: String
  }

  /// The last message of each sender: who it was and how many messages it sent.
  struct EndOfStream: TypedMessage {
    static let messageType = Kind.end
    var from: String
    var pid: Int32
    var sent: Int
  }

  static func main(_ arguments: Arguments) -> Int32 {
    run(usage: usage, arguments) { arguments in
      // Children are this executable run with a hidden --role option.
      if let role = try arguments.option("--role") {
        guard let idText = try arguments.option("--id"), let id = Int32(idText) else {
          throw UsageError("--role needs --id QUEUE")
        }
        let queue = try SystemV.MessageQueue.open(id: id)
        switch role {
        case "sender":
          try arguments.finish()
          try sender(queue)
        case "batch":
          let interval = try arguments.seconds("--interval") ?? .milliseconds(50)
          let count = try arguments.integer("--count") ?? 20
          try arguments.finish()
          try batchSender(queue, count: count, interval: interval)
        case "receiver":
          try arguments.finish()
          try receiver(queue)
        default:
          throw UsageError("unknown role '\(role)'")
        }
        return
      }
      // Checked here, with the children's own parser, then passed on as given.
      let intervalText = try arguments.option("--interval") ?? "0.05"
      var check = Arguments(["--interval", intervalText])
      _ = try check.seconds("--interval")
      let interval = intervalText
      let count = try arguments.integer("--count") ?? 20
      guard count >= 0 else { throw UsageError("--count needs a number ≥ 0") }
      try arguments.finish()
      try coordinate(interval: interval, count: count)
    }
  }

  /// The parent: makes the queue, starts the three processes, waits, removes the queue.
  private static func coordinate(interval: String, count: Int) throws {
    let queue = try SystemV.MessageQueue.create()
    // Ctrl-C, SIGTERM or SIGHUP must not leave the queue behind: the handler
    // removes it (msgctl is async-signal-safe), which also wakes every child.
    demoQueueID = queue.id
    for signal in [SIGINT, SIGTERM, SIGHUP] {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { signal in
        msgctl(demoQueueID, IPC_RMID, nil)
        demoSignal = signal
      }
      sigemptyset(&action.sa_mask)
      action.sa_flags = 0  // interrupt waitpid, so the parent notices
      sigaction(signal, &action, nil)
    }
    // A handler is no use on a blocked signal, and a parent process may block them.
    var handled = sigset_t()
    sigemptyset(&handled)
    for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&handled, signal) }
    pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    var removed = false
    defer { if !removed { try? queue.remove() } }
    Output.line("demo: made private message queue \(queue.id); starting 3 processes")
    let id = "\(queue.id)"
    var running = [
      try ChildProcess(role: "receiver", arguments: ["demo", "--role", "receiver", "--id", id]),
      try ChildProcess(role: "sender", arguments: ["demo", "--role", "sender", "--id", id]),
      try ChildProcess(
        role: "batch sender",
        arguments: ["demo", "--role", "batch", "--id", id, "--interval", interval, "--count", "\(count)"]),
    ]
    var allOK = true
    while let (child, ok) = ChildProcess.waitForAny(of: running) {
      running.removeAll { $0.pid == child.pid }
      if !ok && allOK {
        // One process failed: removing the queue wakes the others with a clear
        // "removed" error instead of leaving them waiting for messages that
        // will never come, or for room that will never be made.
        allOK = false
        try? queue.remove()
        removed = true
      }
    }
    if demoSignal != 0 {
      Output.error("ipc demo: interrupted by signal \(demoSignal); queue \(id) removed")
      exit(128 + demoSignal)
    }
    if !removed {
      try queue.remove()
      removed = true
    }
    guard allOK else {
      throw CommandFailure("demo failed: a process did not finish cleanly; queue \(id) removed")
    }
    Output.line("demo: all 3 processes exited cleanly; queue \(id) removed")
  }

  private static func sender(_ queue: SystemV.MessageQueue) throws {
    let pid = getpid()
    try queue.send(Greeting(from: "sender", pid: pid, text: "hello from the sender"))
    Output.line("sender (pid \(pid)): sent a JSON greeting")
    try queue.send(EndOfStream(from: "sender", pid: pid, sent: 1))
  }

  private static func batchSender(_ queue: SystemV.MessageQueue, count: Int, interval: Duration) throws {
    let pid = getpid()
    for number in stride(from: 1, through: count, by: 1) {
      try queue.send(Array("batch message \(number) of \(count)".utf8), type: Kind.batch)
      if number < count { pause(interval) }
    }
    Output.line("batch sender (pid \(pid)): sent \(count) messages")
    try queue.send(EndOfStream(from: "batch sender", pid: pid, sent: count))
  }

  private static func receiver(_ queue: SystemV.MessageQueue) throws {
    var received: [String: Int] = [:]
    var ended: [EndOfStream] = []
    while ended.count < 2 {
      let message = try queue.receive()
      switch message.type {
      case Kind.end:
        ended.append(try message.decode(EndOfStream.self))
      case Kind.greeting:
        received["sender", default: 0] += 1
        if let greeting = try? message.decode(Greeting.self) {
          Output.line("receiver: JSON from \(greeting.from) (pid \(greeting.pid)): \(greeting.text)")
        } else {
          Output.line("receiver: text: \(message.text)")
        }
      default:
        received["batch sender", default: 0] += 1
        // Not JSON: print the text as it is, as the walk-through's receiver does.
        Output.line("receiver: text: \(message.text)")
      }
    }
    let total = received.values.reduce(0, +)
    let parts = ended.sorted { $0.from > $1.from }.map { end in
      "\(received[end.from, default: 0]) from \(end.from) (pid \(end.pid))"
    }
    Output.line("receiver: received \(total) messages: \(parts.joined(separator: ", "))")
    let lost = ended.filter { received[$0.from, default: 0] != $0.sent }
    guard lost.isEmpty else {
      let detail = lost.map { "\($0.from) sent \($0.sent), got \(received[$0.from, default: 0])" }
      throw CommandFailure("messages were lost: \(detail.joined(separator: "; "))")
    }
  }

  private static func pause(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
  }
}

/// The demo's queue, for the signal handler that removes it.
nonisolated(unsafe) private var demoQueueID: Int32 = -1
/// The signal that interrupted the demo, or 0.
nonisolated(unsafe) private var demoSignal: Int32 = 0
