import Foundation

/// Python 3 with `sysv_ipc` and `posix_ipc`, the peers of the interop tests.
enum Python {
  /// Runs `python3 -c script` from PATH (CI may put a virtual environment first).
  static func run(_ script: String) throws -> SpawnedProcess {
    try SpawnedProcess.run("/usr/bin/env", ["python3", "-c", script])
  }

  /// Whether tests that need `sysv_ipc` run: where it is installed, and
  /// always in CI, which installs it (so a missing module fails there).
  static let sysvIPC = inCI || canImport("sysv_ipc")

  /// Whether tests that need `posix_ipc` run; as ``sysvIPC``.
  static let posixIPC = inCI || canImport("posix_ipc")

  /// Whether the Unix socket tests run: Python's `socket.send_fds` and
  /// `recv_fds` (Python 3.9 and later); always in CI.
  static let unixSockets =
    inCI || ((try? run("import socket; socket.send_fds, socket.recv_fds"))?.exitStatus == 0)

  private static let inCI = ProcessInfo.processInfo.environment["CI"] != nil

  private static func canImport(_ module: String) -> Bool {
    (try? run("import \(module)"))?.exitStatus == 0
  }
}
