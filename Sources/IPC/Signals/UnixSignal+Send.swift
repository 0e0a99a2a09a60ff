import CIPCShims
import Glibc

extension UnixSignal {
  /// Sends this signal to process `pid`.
  ///
  /// The receiver sees your pid and real uid and the code `.user`. A standard
  /// signal already pending there is not sent twice: the two coalesce into
  /// one. The corresponding C call is `kill(pid, signal)`.
  ///
  /// - Parameter pid: a process id, greater than 0 (0 and negative numbers
  ///   name process groups to `kill`: use ``send(toGroup:)``).
  /// - Throws: `.noSuchProcess` if no process has that pid; `.notPermitted`
  ///   if it belongs to another user (only root, or a process whose real or
  ///   effective uid matches the target's, may signal it);
  ///   `.invalidArgument` for a pid of 0 or less.
  public func send(to pid: pid_t) throws(IPCError) {
    try checkTarget(pid, operation: "kill")
    if case .failure(let code) = once({ Glibc.kill(pid, rawValue) }) {
      throw sendError(code, operation: "kill", target: "process \(pid)", pid: pid)
    }
  }

  /// Queues this signal with an integer `value` for process `pid`.
  ///
  /// A real-time signal queues: sent ten times, it is received ten times,
  /// in order, each with its value. A standard signal carries the value too,
  /// but coalesces with one already pending (the first one's value is kept);
  /// the kernel allows it, so this does too. The receiver sees the code
  /// `.queue`, and the pid and uid this process reports (`sigqueue` fills
  /// them in itself; a process allowed to signal you could write others).
  /// The corresponding C call is `sigqueue(pid, signal, value)`.
  ///
  /// - Throws: `.wouldBlock` if the receiver has as many signals queued as
  ///   its `RLIMIT_SIGPENDING` allows (the error says where to see it);
  ///   otherwise as ``send(to:)``.
  public func send(to pid: pid_t, value: Int32) throws(IPCError) {
    try checkTarget(pid, operation: "sigqueue")
    if case .failure(let code) = once({ cipc_sigqueue(pid, rawValue, value) }) {
      throw sendError(code, operation: "sigqueue", target: "process \(pid)", pid: pid)
    }
  }

  /// Sends this signal to every process of process group `group`.
  ///
  /// It succeeds if at least one member could be signalled. The
  /// corresponding C call is `killpg(group, signal)`.
  ///
  /// - Parameter group: a process group id, greater than 0 (`getpgrp()` is
  ///   this process's own).
  /// - Throws: `.noSuchProcess` if no process is in the group;
  ///   `.notPermitted` if none of them may be signalled by this process;
  ///   `.invalidArgument` for a group id of 0 or less.
  public func send(toGroup group: pid_t) throws(IPCError) {
    guard group > 0 else {
      throw IPCError(
        code: .invalidArgument, operation: "killpg", object: "process group \(group)",
        reason: "a process group id is greater than 0 (getpgrp() gives this process's own)")
    }
    if case .failure(let code) = once({ killpg(group, rawValue) }) {
      throw sendError(code, operation: "killpg", target: "process group \(group)", pid: nil)
    }
  }

  private func checkTarget(_ pid: pid_t, operation: String) throws(IPCError) {
    guard pid > 0 else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: "process \(pid)",
        reason: "a process id is greater than 0; 0 and negative numbers name process groups"
          + " (to signal a group, send it to the group by its id)")
    }
  }

  /// The error of a failed send, worded for `code` (the errno value).
  func sendError(_ code: IPCError.Code, operation: String, target: String, pid: pid_t?) -> IPCError {
    let reason: String? =
      switch code {
      case .noSuchProcess:
        pid == nil
          ? "no process is in this group" : "no process has this pid (it has ended, or never existed)"
      case .notPermitted:
        "this process may not send \(name) there: the target belongs to another user (only root, or a"
          + " process whose real or effective uid is the target's, may signal it; see kill(2))"
      case .wouldBlock:
        "the receiver has as many signals queued as its RLIMIT_SIGPENDING allows; see 'Max pending"
          + " signals' in /proc/\(pid.map(String.init) ?? "PID")/limits (ulimit -i), and receive some first"
      default: nil
      }
    return IPCError(code: code, operation: operation, object: "\(name) to \(target)", reason: reason)
  }
}
