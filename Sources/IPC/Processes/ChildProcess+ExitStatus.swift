extension ChildProcess {
  /// How a child process ended: it exited with a status code, or a signal killed it.
  ///
  /// (Nested in `ChildProcess`: Swift Testing has an `ExitStatus` of its own.)
  ///
  /// The library reads it with `waitid`, which reports the two cases apart
  /// (`CLD_EXITED`, `CLD_KILLED`, `CLD_DUMPED`), so there is no `WIFEXITED`
  /// arithmetic to get wrong.
  ///
  ///     switch try child.wait() {
  ///     case .exited(0): print("done")
  ///     case .exited(let code): print("failed with status \(code)")
  ///     case .signalled(let signal, _): print("killed by signal \(signal)")
  ///     }
  public enum ExitStatus: Hashable, Sendable, CustomStringConvertible {
    /// The process called `exit` (or returned from `main`) with this code, 0 to 255.
    case exited(Int32)
    /// A signal ended the process; `coreDumped` says whether it left a core dump.
    case signalled(Int32, coreDumped: Bool)

    /// Whether the process exited with status 0.
    public var isSuccess: Bool { self == .exited(0) }

    /// The status a shell would report in `$?`: the exit code, or 128 plus the
    /// signal's number (130 for SIGINT), the convention for a process that
    /// passes on how its child ended.
    public var shellStatus: Int32 {
      switch self {
      case .exited(let code): code
      case .signalled(let signal, _): 128 + signal
      }
    }

    /// `exited with status 1`, `killed by SIGKILL (signal 9)`,
    /// `killed by SIGSEGV (signal 11), core dumped`.
    public var description: String {
      switch self {
      case .exited(let code): return "exited with status \(code)"
      case .signalled(let signal, let coreDumped):
        return "killed by \(SignalNames.name(signal)) (signal \(signal))\(coreDumped ? ", core dumped" : "")"
      }
    }
  }
}
