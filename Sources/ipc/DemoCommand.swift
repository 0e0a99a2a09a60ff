import CIPCShims  // mq_unlink: mqueue.h is not in Swift's Glibc module
import Glibc
import IPC

/// `ipc demo`: the classic walk-through of a sender, a batch sender and a
/// receiver sharing one message queue, done with real processes and message
/// types instead of `terminate()`.
enum DemoCommand {
  static let usage = """
    usage: ipc demo [--mechanism sysv|posix|pipe] [--interval SECONDS] [--count N]
           ipc demo bounded-buffer [--producers N] [--consumers N] [--items N] [--slots N]

      Three child processes share one message queue (or named pipe):
        sender        sends one JSON greeting
        batch sender  sends N numbered text messages, --interval apart
        receiver      prints each message as it arrives, decoding JSON where it can
      Each sender ends with an end-of-stream message that says how many it
      sent; the receiver stops when both have ended and checks that nothing
      was lost. The queue is then removed and a summary printed.

      --mechanism sysv    a private System V queue; the kinds of message are
                          message types (greeting 1, batch 2, end 3) (default)
      --mechanism posix   a POSIX queue named /ipc-demo-PID; the kinds are
                          priorities (greeting 2, batch 1, end 0)
      --mechanism pipe    a named pipe /tmp/ipc-demo-PID.fifo; each message is
                          one length-prefixed frame led by a kind byte (G, B, E)
      --interval SECONDS  pause between batch messages (default 0.05)
      --count N           number of batch messages (default 20)

      bounded-buffer: the producer/consumer problem. A private System V
      shared memory segment holds a ring of item slots; a private semaphore
      set holds empty (the free slots), full (the filled ones) and mutex.
      Each producer puts its items with P(empty) P(mutex) put V(mutex)
      V(full); consumers take them with P(full) P(mutex) take V(mutex)
      V(empty) until the last producer puts one stop item per consumer.
      Consumers count every item they take in the segment; the parent then
      checks that each was consumed exactly once (exit status 1 if not) and
      removes both objects, also after a failure or a signal.

      --producers N       producer processes (default 3)
      --consumers N       consumer processes (default 2)
      --items N           items each producer puts (default 1000)
      --slots N           slots in the ring (default 8)
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
      // The producer/consumer demo lives in a file of its own.
      if arguments.words.first == "bounded-buffer" {
        _ = arguments.subcommand()
        try BoundedBufferDemo.main(&arguments)
        return
      }
      // Children are this executable run with a hidden --role option.
      if let role = try arguments.option("--role") {
        let queue = try openChannel(&arguments, role: role)
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
      let mechanismText = try arguments.option("--mechanism") ?? DemoMechanism.systemV.rawValue
      guard let mechanism = DemoMechanism(rawValue: mechanismText) else {
        throw UsageError("--mechanism needs sysv, posix or pipe, not '\(mechanismText)'")
      }
      // Checked here, with the children's own parser, then passed on as given.
      let intervalText = try arguments.option("--interval") ?? "0.05"
      var check = Arguments(["--interval", intervalText])
      _ = try check.seconds("--interval")
      let interval = intervalText
      let count = try arguments.integer("--count") ?? 20
      guard count >= 0 else { throw UsageError("--count needs a number ≥ 0") }
      try arguments.finish()
      try coordinate(mechanism, interval: interval, count: count)
    }
  }

  /// A child's channel, from the hidden `--id ID` or `--name NAME` option.
  private static func openChannel(_ arguments: inout Arguments, role: String) throws -> any DemoChannel {
    if let path = try arguments.option("--fifo") {
      let pipe = try NamedPipe.open(at: path)
      return role == "receiver"
        ? try PipeDemoChannel.receiver(pipe) : PipeDemoChannel(end: try pipe.openForWriting())
    }
    if let name = try arguments.option("--name") {
      return POSIXDemoChannel(queue: try POSIX.MessageQueue.open(name))
    }
    guard let idText = try arguments.option("--id"), let id = Int32(idText) else {
      throw UsageError("--role needs --id QUEUE or --name NAME")
    }
    return SystemVDemoChannel(queue: try SystemV.MessageQueue.open(id: id))
  }

  /// The parent's object: made, named to the children, removed exactly once.
  private struct Setup {
    var channelArguments: [String]
    var made: String
    var object: String
    /// Whether removing the object wakes children blocked on it (a System V
    /// queue does, with EIDRM); otherwise they are stopped with SIGTERM.
    var removalWakesChildren: Bool
    var remove: () throws -> Void
  }

  private static func setUp(_ mechanism: DemoMechanism) throws -> Setup {
    switch mechanism {
    case .systemV:
      let queue = try SystemV.MessageQueue.create()
      demoCleanup = .systemV(queue.id)
      return Setup(
        channelArguments: ["--id", "\(queue.id)"], made: "private message queue \(queue.id)",
        object: "queue \(queue.id)", removalWakesChildren: true, remove: { try queue.remove() })
    case .posix:
      let queue = try POSIX.MessageQueue.create("/ipc-demo-\(getpid())", maxMessages: 10, messageSize: 512)
      demoCleanup = .path(strdup(queue.name)!, unlinkQueue: true)
      return Setup(
        channelArguments: ["--name", queue.name], made: "POSIX message queue \(queue.name)",
        object: "queue \(queue.name)", removalWakesChildren: false, remove: { try queue.unlink() })
    case .pipe:
      let pipe = try NamedPipe.create(at: "/tmp/ipc-demo-\(getpid()).fifo")
      demoCleanup = .path(strdup(pipe.path)!, unlinkQueue: false)
      return Setup(
        channelArguments: ["--fifo", pipe.path], made: "named pipe \(pipe.path)",
        object: "pipe \(pipe.path)", removalWakesChildren: false, remove: { try pipe.remove() })
    }
  }

  /// The parent: makes the queue, starts the three processes, waits, removes the queue.
  private static func coordinate(_ mechanism: DemoMechanism, interval: String, count: Int) throws {
    let setup = try setUp(mechanism)
    demoChildren.update(repeating: 0)  // initialized now, never first inside the handler
    // Ctrl-C, SIGTERM or SIGHUP must not leave the object behind: the handler
    // removes it (msgctl, mq_unlink and unlink are async-signal-safe).
    for signal in [SIGINT, SIGTERM, SIGHUP] {
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { signal in
        demoCleanup.run()
        demoSignal = signal
        // Removal wakes no one blocked on a POSIX queue or a pipe: stop the
        // children here (kill is async-signal-safe), whatever the parent was doing.
        if demoStopsChildren {
          for index in 0..<demoChildren.count where demoChildren[index] > 0 {
            kill(demoChildren[index], SIGTERM)
          }
        }
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
    defer { if !removed { try? setup.remove() } }
    Output.line("demo: made \(setup.made); starting 3 processes")
    let channel = setup.channelArguments
    demoStopsChildren = !setup.removalWakesChildren
    var running = [
      try ChildProcess(role: "receiver", arguments: ["demo", "--role", "receiver"] + channel),
      try ChildProcess(role: "sender", arguments: ["demo", "--role", "sender"] + channel),
      try ChildProcess(
        role: "batch sender",
        arguments: ["demo", "--role", "batch"] + channel + ["--interval", interval, "--count", "\(count)"]),
    ]
    for (index, child) in running.enumerated() { demoChildren[index] = child.pid }
    // A signal that came while the children were being started found no pid.
    if demoSignal != 0 && demoStopsChildren { for child in running { kill(child.pid, SIGTERM) } }
    var allOK = true
    // Children that removal does not wake are stopped when one fails.
    let stopOthers = {
      guard !setup.removalWakesChildren else { return }
      for child in running { kill(child.pid, SIGTERM) }
    }
    while let (child, ok) = ChildProcess.waitForAny(of: running) {
      running.removeAll { $0.pid == child.pid }
      if !ok && allOK {
        // One process failed: removing the queue wakes the others with a clear
        // "removed" error instead of leaving them waiting for messages that
        // will never come, or for room that will never be made.
        allOK = false
        try? setup.remove()
        removed = true
        stopOthers()
      }
    }
    if demoSignal != 0 {
      Output.error("ipc demo: interrupted by signal \(demoSignal); \(setup.object) removed")
      exit(128 + demoSignal)
    }
    if !removed {
      try setup.remove()
      removed = true
    }
    guard allOK else {
      throw CommandFailure("demo failed: a process did not finish cleanly; \(setup.object) removed")
    }
    Output.line("demo: all 3 processes exited cleanly; \(setup.object) removed")
  }

  private static func sender(_ channel: any DemoChannel) throws {
    let pid = getpid()
    try channel.send(.greeting(Greeting(from: "sender", pid: pid, text: "hello from the sender")))
    Output.line("sender (pid \(pid)): sent a JSON greeting")
    try channel.send(.end(EndOfStream(from: "sender", pid: pid, sent: 1)))
  }

  private static func batchSender(_ channel: any DemoChannel, count: Int, interval: Duration) throws {
    let pid = getpid()
    for number in stride(from: 1, through: count, by: 1) {
      try channel.send(.batch("batch message \(number) of \(count)"))
      if number < count { pause(interval) }
    }
    Output.line("batch sender (pid \(pid)): sent \(count) messages")
    try channel.send(.end(EndOfStream(from: "batch sender", pid: pid, sent: count)))
  }

  private static func receiver(_ channel: any DemoChannel) throws {
    var received: [String: Int] = [:]
    var ended: [EndOfStream] = []
    while ended.count < 2 {
      switch try channel.receive() {
      case .end(let end):
        ended.append(end)
      case .greeting(let greeting):
        received["sender", default: 0] += 1
        Output.line("receiver: JSON from \(greeting.from) (pid \(greeting.pid)): \(greeting.text)")
      case .batch(let text):
        received["batch sender", default: 0] += 1
        // Not JSON: print the text as it is, as the walk-through's receiver does.
        Output.line("receiver: text: \(text)")
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

/// What the signal handler removes: only async-signal-safe calls on plain values.
enum DemoCleanup {
  case none
  case systemV(Int32)
  /// A C string made before any signal can arrive; a POSIX queue or a path.
  case path(UnsafeMutablePointer<CChar>, unlinkQueue: Bool)

  func run() {
    switch self {
    case .none: break
    case .systemV(let id): msgctl(id, IPC_RMID, nil)
    case .path(let path, let isQueue): _ = isQueue ? mq_unlink(path) : unlink(path)
    }
  }
}

/// The children's pids and whether the signal handler must stop them.
/// Plain memory, not an Array: a handler must not touch reference counts.
nonisolated(unsafe) private let demoChildren: UnsafeMutableBufferPointer<pid_t> = {
  let pids = UnsafeMutableBufferPointer<pid_t>.allocate(capacity: 3)
  pids.initialize(repeating: 0)
  return pids
}()
nonisolated(unsafe) private var demoStopsChildren = false

/// The demo's object, for the signal handler that removes it.
nonisolated(unsafe) private var demoCleanup = DemoCleanup.none
/// The signal that interrupted the demo, or 0.
nonisolated(unsafe) private var demoSignal: Int32 = 0
