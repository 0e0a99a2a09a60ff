import Glibc

extension Supervisor {
  /// How one child of a ``Supervisor`` ended.
  public struct ChildExit: Hashable, Sendable, CustomStringConvertible {
    /// The child's name: its entry point or executable.
    public let name: String
    /// Its process id.
    public let pid: pid_t
    /// How it ended; nil if its status was lost (something else reaped it).
    public let status: ChildProcess.ExitStatus?
    /// Whether the supervisor ended it (SIGTERM or SIGKILL while stopping the
    /// group): then a signal is not counted as the child's failure.
    public let wasStopped: Bool

    /// Whether it counts as a failure: a status other than 0, a signal the
    /// supervisor did not send, or a lost status.
    public var isFailure: Bool {
      guard let status else { return true }
      if case .signalled = status, wasStopped { return false }
      return !status.isSuccess
    }

    /// `receiver (pid 42) exited with status 1`.
    public var description: String {
      "\(name) (pid \(pid)) \(status.map(\.description) ?? "ended; its status was lost")"
        + (wasStopped ? ", stopped by the supervisor" : "")
    }
  }
}
