import IPCToolSupport

/// How `ipc-bench` was asked to run.
struct Options {
  enum Pinning: String, CaseIterable, Sendable {
    /// Parent and child on different CPUs: every wake-up crosses CPUs.
    case split
    /// Both on one CPU: a round trip is a plain context switch.
    case same
    /// No pinning: the scheduler decides.
    case none
  }

  var quick = false
  var json = false
  var repetitions = 5
  var pinning = Pinning.split
  var filter: String?

  static let quickFlag = Flag(
    "--quick", help: "fewer iterations, for a shorter and noisier run (about a minute)")
  static let jsonFlag = Flag("--json", help: "print the results as JSON on stdout")
  static let repeatOption = Option<Int>.integer(
    "--repeat", 1...1000, what: "a number of repetitions", help: "repetitions per row (default 5)")
  static let pinOption = Option<Pinning>.choice(
    "--pin",
    help: "split: the two processes on different CPUs (default); same: both on one CPU; none: no pinning")
  static let filterOption = Option<String>.text(
    "--filter", valueName: "TEXT", what: "text",
    help: "run only rows whose name contains TEXT (the named-pipe and socketpair async rows run only so)")

  static let spec = CommandSpec(
    "ipc-bench",
    abstract: """
      Measures each IPC mechanism through the Swift layer and through a plain C loop, in the same run, with two processes per measurement (this program starts a copy of itself as the peer), and starting /bin/true and waiting for it (the process row). Swift and C repetitions alternate, and the Swift/C ratio is taken pair by pair; each figure is the median of the repetitions, with min and max.
      """,
    options: [quickFlag, jsonFlag, repeatOption, pinOption, filterOption],
    discussion: "Progress goes to stderr. Build with -c release for meaningful numbers.")

  /// The options `words` ask for; a usage error names the first bad one.
  static func parse(_ words: [String]) throws(UsageError) -> Options {
    let parsed = try spec.parse(words)
    var options = Options()
    options.quick = parsed[quickFlag]
    options.json = parsed[jsonFlag]
    options.repetitions = parsed[repeatOption] ?? options.repetitions
    options.pinning = parsed[pinOption] ?? options.pinning
    options.filter = parsed[filterOption]
    return options
  }
}
