import Glibc

/// What /proc says about a process, to tell a live creator from a dead one
/// whose pid another process now has.
enum ProcessFacts {
  /// Whether process `pid` runs, and since when.
  enum State: Equatable {
    /// No such process, or a zombie: it has exited.
    case gone
    /// It runs, and started `startTime` clock ticks after boot (field 22 of
    /// /proc/PID/stat), which with the pid names one process for the whole uptime.
    case running(startTime: UInt64)
    /// It runs, but /proc does not show it to this process (/proc mounted
    /// with `hidepid`, or systemd's `ProtectProc=invisible`): when it started is unknown.
    case hidden
  }

  /// The state of `pid`, read from /proc/PID/stat (readable for every process
  /// /proc shows); for a pid /proc hides, `kill(pid, 0)`, which fails with
  /// `EPERM` rather than `ESRCH` for a process that runs.
  static func state(of pid: Int32) -> State {
    guard pid > 0 else { return .gone }
    guard let text = ProcFile.read("/proc/\(pid)/stat") else {
      return kill(pid, 0) == 0 || errno == EPERM ? .hidden : .gone
    }
    // The command name (field 2) is in parentheses and may hold spaces or ')':
    // the fields that follow start after the last ')'.
    guard let close = text.utf8.lastIndex(of: UInt8(ascii: ")")) else { return .gone }
    let fields = text[text.utf8.index(after: close)...].split(separator: " ")
    // fields[0] is field 3 (the state), so field 22 is fields[19].
    guard fields.count > 19, let start = UInt64(fields[19]) else { return .gone }
    if fields[0] == "Z" || fields[0] == "X" { return .gone }
    return .running(startTime: start)
  }

  /// Whether `pid` names a process now (a zombie does not count).
  static func isRunning(_ pid: Int32) -> Bool {
    state(of: pid) != .gone
  }

  /// The IPC namespace of this process, read once: the inode number in the
  /// link /proc/self/ns/ipc ("ipc:[4026531839]"). System V ids and POSIX
  /// queues are per namespace: an id means nothing in another.
  static let ipcNamespace = namespace("ipc")

  /// The pid namespace of this process, read once: a pid means a process only in it.
  static let pidNamespace = namespace("pid")

  /// The inode number in the link /proc/self/ns/`kind`.
  private static func namespace(_ kind: String) -> UInt64? {
    var link = [CChar](repeating: 0, count: 64)
    let count = readlink("/proc/self/ns/\(kind)", &link, link.count - 1)
    guard count > 0 else { return nil }
    let text = String(decoding: link[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return UInt64(text.filter(\.isNumber))
  }

  /// This process's start time, read once: a process started with
  /// `posix_spawn` is a new process with a new value.
  static let ownStartTime: UInt64? = {
    if case .running(let start) = state(of: getpid()) { return start }
    return nil
  }()
}
