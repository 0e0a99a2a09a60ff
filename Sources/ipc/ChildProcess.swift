import Glibc

/// A child process running this same `ipc` executable, started with
/// `posix_spawn` (never `fork` from Swift).
struct ChildProcess {
  let pid: pid_t
  let role: String

  /// The path of the running executable, so children run the same binary.
  static let executable: String = {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return count > 0
      ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      : CommandLine.arguments[0]
  }()

  /// Starts `ipc ARGUMENTS...` as a child that shares stdout and stderr.
  init(role: String, arguments: [String]) throws {
    let argv = ([Self.executable] + arguments).map { strdup($0) }
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let result = Self.executable.withCString { path in
      posix_spawn(&pid, path, nil, nil, argv + [nil], environ)
    }
    guard result == 0 else {
      throw CommandFailure("cannot start the \(role) process: \(String(cString: strerror(result)))")
    }
    self.pid = pid
    self.role = role
  }

  /// Waits for whichever of `children` ends first; that child and whether it
  /// exited with status 0. Nil once none is left. `onInterrupt` runs when a
  /// signal interrupts the wait.
  static func waitForAny(of children: [ChildProcess], onInterrupt: () -> Void) -> (ChildProcess, Bool)? {
    guard !children.isEmpty else { return nil }
    while true {
      var status: Int32 = 0
      let pid = waitpid(-1, &status, 0)
      if pid == -1 {
        if errno == EINTR {
          onInterrupt()
          continue
        }
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
