/// How `ipc-bench` was asked to run.
struct Options {
  enum Pinning: String, CaseIterable {
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

  static let usage = """
    usage: ipc-bench [--quick] [--json] [--repeat N] [--pin split|same|none] [--filter TEXT]

      Measures each IPC mechanism through the Swift layer and through a plain C
      loop, in the same run, with two processes per measurement (this program
      starts a copy of itself as the peer), and starting /bin/true and waiting
      for it (the process row). Swift and C repetitions alternate,
      and the Swift/C ratio is taken pair by pair; each figure is the median of
      the repetitions, with min and max.

      --quick        fewer iterations, for a run under 10 seconds
      --json         print the results as JSON on stdout
      --repeat N     repetitions per row (default 5)
      --pin MODE     split: the two processes on different CPUs (default);
                     same: both on one CPU; none: no pinning
      --filter TEXT  run only rows whose name contains TEXT

    Progress goes to stderr. Build with -c release for meaningful numbers.
    """

  /// Parses the command line; a message on a usage error.
  static func parse(_ arguments: [String]) -> Result<Options, UsageFailure> {
    var options = Options()
    var rest = arguments[...]
    while let word = rest.popFirst() {
      switch word {
      case "--quick": options.quick = true
      case "--json": options.json = true
      case "--repeat":
        guard let text = rest.popFirst(), let count = Int(text), (1...1000).contains(count) else {
          return .failure(UsageFailure("--repeat needs a number from 1 to 1000"))
        }
        options.repetitions = count
      case "--pin":
        guard let text = rest.popFirst(), let mode = Pinning(rawValue: text) else {
          return .failure(UsageFailure("--pin needs split, same or none"))
        }
        options.pinning = mode
      case "--filter":
        guard let text = rest.popFirst() else { return .failure(UsageFailure("--filter needs text")) }
        options.filter = text
      default:
        return .failure(UsageFailure("unknown argument '\(word)'"))
      }
    }
    return .success(options)
  }
}

/// A mistake in how ipc-bench was called.
struct UsageFailure: Error {
  var message: String
  init(_ message: String) { self.message = message }
}
