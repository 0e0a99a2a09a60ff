import Glibc
import IPCToolSupport

/// A child process running this same `ipc` executable, started with
/// `posix_spawn` (never `fork` from Swift).
struct ChildProcess {
  let pid: pid_t
  let role: String

  /// Starts `ipc ARGUMENTS...` as a child that shares stdout and stderr.
  init(role: String, arguments: [String]) throws {
    switch SelfProcess.spawn(arguments) {
    case .success(let pid): self.pid = pid
    case .failure(let error): throw CommandFailure("cannot start the \(role) process: \(error)")
    }
    self.role = role
  }

  /// Waits for whichever of `children` ends first; that child and whether it
  /// exited with status 0. Nil once none is left. A signal that interrupts
  /// the wait (EINTR) does not end it.
  static func waitForAny(of children: [ChildProcess]) -> (ChildProcess, Bool)? {
    guard !children.isEmpty else { return nil }
    while true {
      var status: Int32 = 0
      let pid = waitpid(-1, &status, 0)
      if pid == -1 {
        if errno == EINTR { continue }
        return nil
      }
      guard let child = children.first(where: { $0.pid == pid }) else { continue }
      // WIFEXITED and WEXITSTATUS are macros Swift cannot import.
      let signal = status & 0x7f
      if signal != 0 {
        Output.error("ipc demo: the \(child.role) process (pid \(pid)) was killed by signal \(signal)")
        return (child, false)
      }
      return (child, (status >> 8) & 0xff == 0)
    }
  }
}
