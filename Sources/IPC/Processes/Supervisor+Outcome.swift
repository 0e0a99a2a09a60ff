extension Supervisor {
  /// How a ``Supervisor``'s group ended: each child's exit, what stopped
  /// the group if something did, and whether its objects were removed.
  public struct Outcome: Sendable, CustomStringConvertible {
    /// Every child, in the order they were started.
    public let exits: [ChildExit]
    /// The first child that failed; its failure stopped the others.
    public let firstFailure: ChildExit?
    /// The termination signal (SIGINT, SIGTERM or SIGHUP) that stopped the group.
    public let signal: Int32?
    /// Whether ``Supervisor/stop()`` stopped the group.
    public let wasStopped: Bool
    /// Objects that could not be removed (one already gone is not an error).
    public let removalErrors: [IPCError]

    /// Whether every child exited with status 0 by itself and every object was removed.
    public var isSuccess: Bool {
      firstFailure == nil && signal == nil && !wasStopped && removalErrors.isEmpty
        && !exits.contains(where: \.isFailure)
    }

    /// The conventional status for a program whose work these children did:
    /// 128 + the signal that stopped the group, or the first failed child's
    /// ``ChildProcess/ExitStatus/shellStatus``, or 1 if an object could not be removed, else 0.
    public var exitCode: Int32 {
      if let signal { return 128 + signal }
      if let firstFailure { return firstFailure.status?.shellStatus ?? 1 }
      return removalErrors.isEmpty ? 0 : 1
    }

    /// `3 children exited with status 0`, or what went wrong.
    public var description: String {
      var parts: [String] = []
      if let signal { parts.append("stopped by \(SignalNames.name(signal))") }
      if wasStopped { parts.append("stopped on request") }
      if let firstFailure { parts.append("\(firstFailure) first") }
      let clean = exits.filter { $0.status?.isSuccess == true }.count
      parts.append("\(clean) of \(exits.count) children exited with status 0")
      if !removalErrors.isEmpty { parts.append("\(removalErrors.count) objects not removed") }
      return parts.joined(separator: "; ")
    }
  }
}
