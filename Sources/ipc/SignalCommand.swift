import Glibc
import IPC
import IPCToolSupport

/// `ipc signal ...`: signals as messages, sent with a value and received with
/// their sender.
enum SignalCommand {
  static let value = Option<Int>.integer(
    "--value", Int(Int32.min)...Int(Int32.max), what: "a signal value",
    help: "queue the signal with this integer (sigqueue): real-time signals then queue in order, none lost")
  static let group = Flag("--group", help: "PID is a process group id: signal every process of the group")
  static let count = Option<Int>.integer(
    "--count", 1...Int.max, what: "a number of signals", help: "receive N signals, then exit (default 1)")
  static let showSender = Flag(
    "--show-sender", help: "print name, value ('-' if none), sender pid and sender uid, tab-separated")
  static let pid = Positional("PID", help: "the process (or, with --group, the process group) to signal")
  static let signal = Positional(
    "SIGNAL", help: "a name as kill -l lists it (USR1, SIGTERM, RTMIN+3) or a number")
  static let signals = Positional(
    "SIGNAL", help: "the signals to wait for, as kill -l names them (USR1, RTMIN+3) or numbers",
    repeating: true)

  static let discussion = """
    A signal sent before 'ipc signal wait' blocks it takes its default action (for most signals, the end of the process): a sender can check that the waiter is ready in the SigBlk line of /proc/PID/status. Real-time signals (RTMIN to RTMAX-1; RTMAX is the library's) queue with their values; a standard signal sent twice before it is received arrives once.
    Exit status: 0 success, 1 failure (no such process, not permitted, timeout, ...), 2 usage error.
    """

  static let command = CommandGroup(
    path: "ipc signal", abstract: "Signals as messages: send with a value, wait and print who sent them.",
    discussion: discussion,
    commands: [
      Command(
        "ipc signal send", abstract: "send SIGNAL to PID (kill), or queue it with --value (sigqueue)",
        options: [value, group], positionals: [pid, signal], body: send),
      Command(
        "ipc signal wait",
        abstract:
          "block the SIGNALs, then print each one received: its name and, if it has one, a tab and its value",
        options: [count, CommonOptions.timeout, showSender], positionals: [signals], body: wait),
    ])

  private static func send(_ parsed: ParsedArguments) throws {
    let text = parsed.positionals[0]
    guard let target = wholeNumber(text, as: Int32.self), target > 0 else {
      throw UsageError(
        "PID: expected a \(parsed[group] ? "process group id" : "process id") from 1 to \(Int32.max), got"
          + " '\(UsageError.shown(text))'")
    }
    let signal = try parseSignal(parsed.positionals[1])
    if parsed[group] {
      guard parsed[value] == nil else { throw UsageError("--value: a process group takes no value (killpg)") }
      try signal.send(toGroup: target)
    } else if let value = parsed[value] {
      // The option's range is Int32's.
      try signal.send(to: target, value: Int32(truncatingIfNeeded: value))
    } else {
      try signal.send(to: target)
    }
  }

  private static func wait(_ parsed: ParsedArguments) throws {
    var wanted: [UnixSignal] = []
    for text in parsed.positionals {
      let signal = try parseSignal(text)
      guard signal.canBeCaught else {
        throw UsageError(
          "SIGNAL: \(signal.name) cannot be caught, blocked or received; no process can wait for it")
      }
      wanted.append(signal)
    }
    // A signal no receiver may take (the library's own) is the input's fault.
    if case .failure(let error) = Result(catching: { () throws(IPCError) in
      try SignalReceiver.blockInProcess(wanted)
    }) {
      if error.code == .invalidArgument { throw UsageError("SIGNAL: \(error.reason)") }
      throw error
    }
    let receiver = try SignalReceiver(wanted)
    let count = parsed[Self.count] ?? 1
    let timeout = parsed[CommonOptions.timeout]
    let clock = ContinuousClock()
    let deadline = timeout.map { clock.now.advanced(by: $0) }
    for received in 0..<count {
      let next: ReceivedSignal?
      if let deadline {
        next = try receiver.wait(timeout: max(.zero, clock.now.duration(to: deadline)))
      } else {
        next = try receiver.wait()
      }
      guard let next else {
        throw CommandFailure(
          "timed out after \(timeout ?? .zero) with \(received) of \(count) signal\(count == 1 ? "" : "s") received"
        )
      }
      Output.line(line(for: next, showSender: parsed[showSender]))
    }
  }

  /// `SIGRTMIN+1<TAB>42`, or with the sender `SIGRTMIN+1<TAB>42<TAB>1234<TAB>1000`.
  static func line(for received: ReceivedSignal, showSender: Bool) -> String {
    let value = received.value.map(String.init)
    guard showSender else { return received.signal.name + (value.map { "\t" + $0 } ?? "") }
    return [received.signal.name, value ?? "-", "\(received.senderPID)", "\(received.senderUID)"]
      .joined(separator: "\t")
  }

  private static func parseSignal(_ text: String) throws -> UnixSignal {
    do throws(IPCError) {
      return try UnixSignal(parsing: text)
    } catch {
      throw UsageError("SIGNAL: \(error.reason), got '\(UsageError.shown(text))'")
    }
  }
}
