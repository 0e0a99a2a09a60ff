import Glibc
import IPC
import IPCToolSupport

/// `ipc stress`: a torture run with figures. For each mechanism, producers
/// and consumers in real processes pass numbered, checksummed messages while
/// the parent kills and signals them; the table says what arrived.
enum StressCommand {
  /// The most producers or consumers: each is a real process.
  static let maxProcesses = 64
  /// The most messages in all: the ledger holds a 4-byte count per message.
  static let maxMessagesInAll = 10_000_000

  static let mechanismOption = Option<[StressMechanism]>(
    "--mechanism", valueName: "LIST",
    expecting: "all, or a comma-separated list of "
      + StressMechanism.allCases.map(\.rawValue).joined(separator: ", "),
    help: "what to torture: sysv-queue (a private System V queue), posix-queue (a POSIX queue with a random"
      + " name), pipe (an anonymous pipe), fifo (a named pipe with a random name in /tmp), shm-ring (a"
      + " ring in a private System V segment, guarded by a robust mutex), several separated by commas, or all"
      + " (default)",
    convert: parseMechanisms)
  static let producersOption = Option<Int>.integer(
    "--producers", 1...maxProcesses, what: "a number of processes", help: "producer processes (default 4)")
  static let consumersOption = Option<Int>.integer(
    "--consumers", 1...maxProcesses, what: "a number of processes", help: "consumer processes (default 4)")
  static let messagesOption = Option<Int>.integer(
    "--messages", 1...maxMessagesInAll, what: "a number of messages",
    help: "messages each producer sends (default 10000)")
  static let killsOption = Option<Int>.integer(
    "--kills", 0...10_000, what: "a number of kills",
    help: "SIGKILLs per mechanism, each to a random producer or consumer, which is replaced (default 8)")
  static let signalsOption = Option<Int>.integer(
    "--signals", 0...10_000_000, what: "a number of signals",
    help: "signals per mechanism: SIGUSR1, SIGUSR2, real-time signals (caught by handlers that interrupt"
      + " blocking calls), SIGCONT and SIGSTOP/SIGCONT pairs (default 1000)")
  static let seedOption = Option<UInt64>(
    "--seed", valueName: "S", expecting: "a seed, a decimal or 0x-hex number from 0 to 2^64-1",
    help: "the seed of the plan of kills and signals, printed by every run so it can be replayed"
      + " (default: random)", convert: parseSeed)

  static let command = Command(
    "ipc stress",
    abstract: "a torture run: producers and consumers killed and signalled, every message counted",
    options: [
      mechanismOption, producersOption, consumersOption, messagesOption, killsOption, signalsOption,
      seedOption,
    ],
    discussion: """
      For each mechanism, N producer and M consumer processes share it. Each message carries its producer, a per-producer sequence number, a payload of varying length and an FNV-1a checksum. Consumers check each one and record it in a shared ledger (a private System V segment): how many times each message arrived, and whether it came after a later one of the same producer. Meanwhile the parent kills random producers and consumers with SIGKILL, starting a new process in each one's place, and sends signals at them; a new producer carries on after the last message the ledger says was sent.

      The table says, per mechanism: sent; received; lost; in flight at kill (the one message a killed consumer had taken but not recorded, or the one a killed producer was sending, which its replacement sends again: at most one per kill); duplicated; reordered; corrupted; kills survived; signals sent; signals caught by the parties' handlers (each one that lands in a blocking call interrupts it); leftover objects (checked after teardown); seconds. Exit status 0 only if nothing was lost (beyond in flight), duplicated, reordered, corrupted or left behind; 1 otherwise.

      Every object is made exclusively (private ids, random names) and removed on every path, SIGINT and SIGTERM included; a run killed with SIGKILL leaves them with owner records, so 'ipc clean' removes them (all but the FIFO). The progress goes to standard error.
      """, body: run)

  /// The children's entry points.
  static var entryPoints: [String: EntryPoints.Body] { StressParties.entryPoints }

  private static func parseMechanisms(_ text: String) -> [StressMechanism]? {
    if text == "all" { return StressMechanism.allCases }
    var chosen: [StressMechanism] = []
    for word in text.split(separator: ",", omittingEmptySubsequences: false) {
      guard let mechanism = StressMechanism(rawValue: String(word)) else { return nil }
      if !chosen.contains(mechanism) { chosen.append(mechanism) }
    }
    return chosen.isEmpty ? nil : chosen
  }

  private static func parseSeed(_ text: String) -> UInt64? {
    let hex = text.hasPrefix("0x") || text.hasPrefix("0X")
    let digits = hex ? text.dropFirst(2) : Substring(text)
    guard !digits.isEmpty, digits.allSatisfy({ hex ? $0.isHexDigit : $0.isWholeNumber && $0.isASCII }) else {
      return nil
    }
    return UInt64(digits, radix: hex ? 16 : 10)
  }

  private static func run(_ parsed: ParsedArguments) throws {
    let mechanisms = parsed[mechanismOption] ?? StressMechanism.allCases
    let producers = parsed[producersOption] ?? 4
    let consumers = parsed[consumersOption] ?? 4
    let messages = parsed[messagesOption] ?? 10_000
    guard producers * messages <= maxMessagesInAll else {
      throw UsageError(
        "--producers × --messages is \(producers * messages), more than \(maxMessagesInAll) messages in all")
    }
    // The run's objects are temporary, unlike those of the create commands:
    // with owner records, `ipc clean` reclaims what a SIGKILLed run leaves.
    OwnerRecords.isEnabled = true
    let plan = StressPlan(kills: parsed[killsOption] ?? 8, signals: parsed[signalsOption] ?? 1000)
    let seed = parsed[seedOption] ?? UInt64.random(in: .min ... .max)
    let ledger = StressLedger(producers: producers, consumers: consumers, messages: messages)
    let seedText = "0x" + String(seed, radix: 16)
    Output.line(
      "stress: seed \(seedText); \(producers) producers × \(consumers) consumers × \(messages) messages;"
        + " \(plan.kills) kills and \(plan.signals) signals per mechanism")
    let progress = StressProgress()
    var rows: [StressRow] = []
    for mechanism in mechanisms {
      let row = StressRun(mechanism, ledger: ledger, plan: plan, seed: seed, progress: progress).run()
      if row.faults > 0 {
        Output.error(
          "stress \(mechanism.rawValue): \(StressFault.variable) made \(row.faults) fault(s) on purpose")
      }
      rows.append(row)
    }
    for line in table(rows) { Output.line(line) }
    let problems = rows.compactMap(problems)
    guard problems.isEmpty else {
      throw CommandFailure(
        "FAILED (replay with --seed \(seedText)): \(problems.joined(separator: "; "))")
    }
    // A message a consumer took and died with cannot be told from one lost
    // in the channel: say how many the verdict allowed, never "every".
    let inFlight = rows.reduce(0) { $0 + $1.inFlight }
    Output.line(
      inFlight == 0
        ? "stress: every message arrived once, in order and intact; nothing was left behind"
        : "stress: no message lost beyond the \(inFlight) in flight at a kill (at most one per kill: a"
          + " consumer killed holding one, or a producer's resent one), none duplicated, reordered or corrupted;"
          + " nothing was left behind")
  }

  /// The table: a header and one row per mechanism.
  static func table(_ rows: [StressRow]) -> [String] {
    let header = [
      "mechanism", "sent", "received", "lost", "in-flight-at-kill", "duplicated", "reordered", "corrupted",
      "kills", "signals", "caught", "leftovers", "seconds",
    ]
    return TextTable.lines(
      [header]
        + rows.map { row in
          [row.mechanism.rawValue]
            + [row.sent, row.received, row.lost, row.inFlight, row.duplicated, row.reordered, row.corrupted]
            .map { row.failure == nil ? "\($0)" : "-" }
            + [
              "\(row.kills)", "\(row.signals)", "\(row.caught)", "\(row.leftovers.count)",
              seconds(row.seconds),
            ]
        }, gap: 2)
  }

  /// What went wrong in a row, as one phrase; nil if nothing did.
  private static func problems(_ row: StressRow) -> String? {
    guard !row.isClean else { return nil }
    var parts: [String] = []
    if let failure = row.failure { parts.append("failed: \(failure)") }
    for (count, what) in [
      (row.lost, "lost"), (row.duplicated, "duplicated"), (row.reordered, "reordered"),
      (row.corrupted, "corrupted"),
    ] where count > 0 && row.failure == nil {
      parts.append("\(count) \(what)")
    }
    if !row.leftovers.isEmpty { parts.append("left behind: \(row.leftovers.joined(separator: ", "))") }
    if row.failure == nil && row.lost + row.duplicated > 0 {
      parts.append("such as \(row.examples.joined(separator: ", "))")
    }
    return "\(row.mechanism.rawValue): \(parts.joined(separator: ", "))"
  }

  /// `1.234`: seconds with milliseconds.
  private static func seconds(_ duration: Duration) -> String {
    let milliseconds = Int(duration / .milliseconds(1))
    let fraction = String(milliseconds % 1000)
    return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
  }
}
