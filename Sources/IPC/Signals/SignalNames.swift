import Glibc

/// The names of signals, for exit statuses and errors (`SIGTERM`,
/// `SIGRTMIN+3`), and back from names to numbers.
enum SignalNames {
  /// The standard signals of Linux, by number.
  static let standard: [Int32: String] = [
    SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
    SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
    SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
    SIGSTKFLT: "SIGSTKFLT", SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP",
    SIGTTIN: "SIGTTIN", SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ",
    SIGVTALRM: "SIGVTALRM", SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH", SIGIO: "SIGIO", SIGPWR: "SIGPWR",
    SIGSYS: "SIGSYS",
  ]

  /// Names without `SIG` to numbers, with the other spellings `kill -l`
  /// accepts (IOT, CLD, POLL).
  static let numbers: [String: Int32] = {
    var numbers = [String: Int32]()
    for (number, name) in standard { numbers[String(name.dropFirst(3))] = number }
    numbers["IOT"] = SIGABRT
    numbers["CLD"] = SIGCHLD
    numbers["POLL"] = SIGIO
    return numbers
  }()

  /// The real-time range in force (glibc keeps the first two for itself, so
  /// SIGRTMIN is a function, not a constant).
  static var realTime: ClosedRange<Int32> { __libc_current_sigrtmin()...__libc_current_sigrtmax() }

  /// `SIGTERM`, `SIGRTMIN+3`, or `signal 40` for a number with no name.
  static func name(_ signal: Int32) -> String {
    if let name = standard[signal] { return name }
    let range = realTime
    if range.contains(signal) {
      return signal == range.lowerBound ? "SIGRTMIN" : "SIGRTMIN+\(signal - range.lowerBound)"
    }
    return "signal \(signal)"
  }

  /// Whether `signal` is a signal number this system has (1 to SIGRTMAX).
  static func isValid(_ signal: Int32) -> Bool { signal >= 1 && signal <= realTime.upperBound }
}
