import Glibc
import IPC
import IPCToolSupport

/// `ipc demo`: the classic walk-through of a sender, a batch sender and a
/// receiver sharing one message queue, done with real processes and message
/// types instead of `terminate()`.
enum DemoCommand {
  static let mechanism = Option<DemoMechanism>.choice(
    "--mechanism",
    help: "sysv: a private System V queue; the kinds of message are message types (greeting 1, batch 2,"
      + " end 3) (default). posix: a POSIX queue named /ipc-demo-PID; the kinds are priorities (greeting 2,"
      + " batch 1, end 0). pipe: a named pipe /tmp/ipc-demo-PID.fifo; each message is one length-prefixed"
      + " frame led by a kind byte (G, B, E). socket: the receiver listens on the abstract name"
      + " @ipc-demo-PID, checks each client's credentials (SO_PEERCRED) and hands it a private pipe through"
      + " the socket (SCM_RIGHTS), on which the client sends its frames. channel: a SharedChannel in POSIX"
      + " shared memory /ipc-demo-PID-channel with 2 producer slots; the senders are its producers, the"
      + " receiver its consumer; each message is one Codable value in the binary coder's format, and the"
      + " receiver ends at the channel's end of stream, once both producers have closed")
  static let interval = Option<Duration>.seconds(
    "--interval", help: "pause between batch messages (default 0.05)")
  static let count = Option<Int>.integer(
    "--count", 0...Int.max, what: "a number of messages", help: "number of batch messages (default 20)")

  static let command = Command(
    "ipc demo", abstract: "the classic sender / batch sender / receiver walk-through, with real processes",
    options: [mechanism, interval, count],
    discussion: """
      Three child processes share one message queue (or named pipe, or shared channel, or meet at a socket):
        sender        sends one JSON greeting
        batch sender  sends N numbered text messages, --interval apart
        receiver      prints each message as it arrives, decoding JSON where it can
      Each sender ends with an end-of-stream message that says how many it sent; the receiver stops when both have ended and checks that nothing was lost. The queue is then removed and a summary printed.
      The first process to fail stops the others; the queue is removed on every path: a failure, Ctrl-C, SIGTERM, even SIGKILL to the parent (its children then remove it and end).

      \(BoundedBufferDemo.command.spec.usageLine)
      The producer/consumer problem: see 'ipc demo bounded-buffer --help'.

      \(SignalsDemo.command.spec.usageLine)
      Workers coordinated by signals with values: see 'ipc demo signals --help'.
      """, body: run)

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

  /// The children's entry points: each runs in a fresh copy of this
  /// executable, started by the parent with the queue (or pipe) handed over.
  static var entryPoints: [String: EntryPoints.Body] {
    [
      Role.sender: DemoGroup.entryPoint { context in
        try sender(try DemoMechanism.channel(in: context, receiving: false))
      },
      Role.batch: DemoGroup.entryPoint { context in
        // The parent passes the interval in nanoseconds and the count (then, over a socket, its name).
        guard context.arguments.count >= 2, let nanoseconds = Int64(context.arguments[0]), nanoseconds >= 0,
          let count = Int(context.arguments[1]), count >= 0
        else {
          throw CommandFailure(
            "\(Role.batch) needs an interval in nanoseconds and a count, not \(context.arguments)")
        }
        try batchSender(
          try DemoMechanism.channel(in: context, receiving: false), count: count,
          interval: .nanoseconds(nanoseconds))
      },
      Role.receiver: DemoGroup.entryPoint { context in
        try receiver(try DemoMechanism.channel(in: context, receiving: true))
      },
    ]
  }

  /// The entry points' names.
  enum Role {
    static let sender = "demo-sender"
    static let batch = "demo-batch"
    static let receiver = "demo-receiver"
  }

  /// `ipc demo ...`: the walk-through, or `bounded-buffer` and its options.
  static func main(_ words: [String]) -> Int32 {
    // The producer/consumer and signals demos live in files of their own.
    if words.first == "bounded-buffer" { return BoundedBufferDemo.command.run(Array(words.dropFirst())) }
    if words.first == "signals" { return SignalsDemo.command.run(Array(words.dropFirst())) }
    return command.run(words)
  }

  private static func run(_ parsed: ParsedArguments) throws {
    try coordinate(
      parsed[Self.mechanism] ?? .systemV, interval: parsed[Self.interval] ?? .milliseconds(50),
      count: parsed[Self.count] ?? 20)
  }

  /// The parent: makes the queue (or pipe), starts the three processes under
  /// one supervisor, waits for them; the supervisor removes the object.
  private static func coordinate(_ mechanism: DemoMechanism, interval: Duration, count: Int) throws {
    let group = try DemoGroup()
    let outcome = try group.supervise {
      let made = try mechanism.make(in: group)
      Output.line("demo: made \(made.made); starting 3 processes")
      let handed = made.handed
      // Over a socket, each child is told the name (the receiver listens there).
      let socket = mechanism == .socket ? [SocketDemo.argument(for: getpid())] : []
      // Arguments are strings: the interval crosses exactly, in nanoseconds.
      let (seconds, attoseconds) = interval.components
      let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
      try group.start("receiver", entryPoint: Role.receiver, handing: handed, arguments: socket)
      try group.start("sender", entryPoint: Role.sender, handing: handed, arguments: socket)
      try group.start(
        "batch sender", entryPoint: Role.batch, handing: handed,
        arguments: ["\(nanoseconds)", "\(count)"] + socket)
    }
    if let failure = group.failure(in: outcome) {
      throw CommandFailure("demo failed: \(failure); \(group.removal(outcome))")
    }
    guard outcome.removalErrors.isEmpty else {
      throw CommandFailure("demo: all 3 processes exited cleanly, but \(group.removal(outcome))")
    }
    Output.line("demo: all 3 processes exited cleanly; \(group.removal(outcome))")
  }

  private static func sender(_ channel: any DemoChannel) throws {
    let pid = getpid()
    try channel.send(.greeting(Greeting(from: "sender", pid: pid, text: "hello from the sender")))
    Output.line("sender (pid \(pid)): sent a \(channel.greetingFormat) greeting")
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
        Output.line(
          "receiver: \(channel.greetingFormat) from \(greeting.from) (pid \(greeting.pid)): \(greeting.text)")
      case .batch(let text):
        received["batch sender", default: 0] += 1
        // Not JSON: print the text as it is, as the walk-through's receiver does.
        Output.line("receiver: text: \(text)")
      }
    }
    try channel.finish()
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

/// A demo's children and the one supervisor that watches them. The first
/// child to fail stops the others (SIGTERM, then SIGKILL after the grace
/// period); SIGINT, SIGTERM or SIGHUP stops them all; and the demo's objects
/// are removed on every path: by the supervisor once every child has ended,
/// or by the children themselves if this process is killed first.
final class DemoGroup {
  let supervisor: Supervisor
  /// How the demo's lines name its objects (`queue 5`), in the order they were made.
  private var names: [String] = []
  /// Each child with the name the demo's lines give it (`batch sender`, `consumer 2`).
  private var children: [(label: String, process: ChildProcess)] = []

  /// A group whose supervisor handles the termination signals from now on,
  /// before any object exists.
  init() throws {
    supervisor = try Supervisor(onSignal: .stop)
  }

  /// Runs `setUp`, which makes and registers the objects and starts the
  /// children, then waits until every child has ended and the objects are
  /// removed. If `setUp` fails, the children started so far are stopped
  /// first. A signal ends this process here: it says what was removed and
  /// exits with 128 + the signal's number, as a shell expects.
  func supervise(_ setUp: () throws -> Void) throws -> Supervisor.Outcome {
    do {
      try setUp()
    } catch {
      supervisor.stop()
      let outcome = supervisor.wait()
      exitIfInterrupted(outcome)
      // A child that failed already stopped the group, which then refused to
      // start the next one: the child's failure is the news.
      if outcome.firstFailure != nil { return outcome }
      let message = (error as? CommandFailure)?.message ?? "\(error)"
      throw CommandFailure(names.isEmpty ? message : "\(message); \(removal(outcome))")
    }
    let outcome = supervisor.wait()
    exitIfInterrupted(outcome)
    return outcome
  }

  /// Makes an object that the supervisor removes when the group finishes,
  /// named `name` in the demo's lines. Made inside the supervisor's call, so
  /// no signal comes between its creation and its registration. Make objects
  /// before starting the children that use them: the children are told to
  /// remove them should this process be killed.
  func make<Object: Inheritable>(
    _ object: @autoclosure () throws(IPCError) -> Object, named name: (Object) -> String
  ) throws(IPCError) -> Object {
    let made = try supervisor.removeWhenFinished(try object())
    names.append(name(made))
    return made
  }

  /// Starts the entry point `entryPoint` in a child the supervisor watches.
  @discardableResult
  func start(
    _ label: String, entryPoint: String, handing objects: [String: any Inheritable], arguments: [String] = []
  ) throws -> ChildProcess {
    do {
      // In this process's group: a terminal's Ctrl-C reaches the children
      // too, and the supervisor still reports it as the signal it is.
      let child = try ChildProcess.start(
        entryPoint: entryPoint, handing: objects, arguments: arguments, in: supervisor)
      children.append((label, child))
      return child
    } catch {
      throw CommandFailure("cannot start the \(label) process: \(error)")
    }
  }

  /// The child that failed first, as the demo names it:
  /// `receiver (pid 42) killed by SIGKILL (signal 9)`; nil if none did.
  func failure(in outcome: Supervisor.Outcome) -> String? {
    guard let exit = outcome.firstFailure ?? outcome.exits.first(where: \.isFailure) else { return nil }
    let label = children.first { $0.process.pid == exit.pid }?.label ?? exit.name
    return "\(label) (pid \(exit.pid)) \(exit.status.map { "\($0)" } ?? "ended; its status was lost")"
  }

  /// `queue 5 removed`, or which objects could not be removed and why.
  func removal(_ outcome: Supervisor.Outcome) -> String {
    // Over a socket the demo makes no object: its abstract name leaves no file.
    if names.isEmpty && outcome.removalErrors.isEmpty { return "nothing to remove" }
    let objects = names.joined(separator: " and ")
    guard outcome.removalErrors.isEmpty else {
      return "\(objects) not all removed: \(outcome.removalErrors.map { "\($0)" }.joined(separator: "; "))"
    }
    return "\(objects) removed"
  }

  /// Ends the demo if a termination signal stopped the group.
  private func exitIfInterrupted(_ outcome: Supervisor.Outcome) {
    guard let signal = outcome.signal else { return }
    let removed = names.isEmpty ? "" : "; \(removal(outcome))"
    Output.error("ipc demo: interrupted by signal \(signal)\(removed)")
    exit(outcome.exitCode)
  }

  /// An entry point that reports its errors as every `ipc` command does
  /// (`ipc: ...`, exit status 1), rather than as the library's generic line.
  static func entryPoint(_ body: @escaping (ChildContext) throws -> Void) -> EntryPoints.Body {
    { context in
      let status = reportingErrors(path: "ipc") { try body(context) }
      if status != ExitStatus.success { exit(status) }
    }
  }
}
