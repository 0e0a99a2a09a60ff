import Foundation
import IPC
import Testing

/// A real child process started with posix_spawn, its output captured in files,
/// so tests know its pid (to signal it or read its kernel state) and never fork.
final class SpawnedProcess {
  let pid: pid_t
  private let outputPath: String
  private let errorPath: String

  /// The exit status once `wait` returned, or nil if it was killed by a signal.
  private(set) var exitStatus: Int32?
  private(set) var terminatingSignal: Int32?

  /// Starts `executable`: standard input is /dev/null and the output goes to
  /// files, unless `passing` hands pipe ends to the child as descriptors of
  /// its own, such as `[(reader, 0)]` for its standard input. The caller
  /// closes its copies of those ends afterwards.
  init(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    passing ends: [(PipeEnd, Int32)] = []
  ) throws {
    let base = "\(NSTemporaryDirectory())/ipc-test-\(getpid())-\(UUID().uuidString)"
    outputPath = base + ".out"
    errorPath = base + ".err"
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    for (end, childDescriptor) in ends { try end.addDuplication(to: &actions, as: childDescriptor) }
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    // A child starts as from a shell: no blocked signals, default dispositions
    // (the test runner's threads may block or ignore some).
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard result == 0 else {
      throw SpawnFailure(message: "posix_spawn \(executable): \(String(cString: strerror(result)))")
    }
    self.pid = pid
  }

  deinit {
    if exitStatus == nil && terminatingSignal == nil {
      kill(pid, SIGKILL)
      var status: Int32 = 0
      waitpid(pid, &status, 0)
    }
    unlink(outputPath)
    unlink(errorPath)
  }

  /// Waits for the process to end, killing it if it outlives `timeout` (a
  /// failed test must not hang the suite). Returns true if it exited by itself.
  @discardableResult
  func wait(timeout: Duration = .seconds(30)) -> Bool {
    let deadline = ContinuousClock.now + timeout
    var status: Int32 = 0
    while true {
      let result = waitpid(pid, &status, WNOHANG)
      if result == pid { break }
      if result == -1 && errno != EINTR { return false }
      if ContinuousClock.now >= deadline {
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        terminatingSignal = SIGKILL
        Issue.record("process \(pid) did not end within \(timeout); killed")
        return false
      }
      usleep(2_000)
    }
    if status & 0x7f == 0 {
      exitStatus = (status >> 8) & 0xff
    } else {
      terminatingSignal = status & 0x7f
    }
    return true
  }

  var standardOutput: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
  /// Standard output as raw bytes, for output that need not be UTF-8.
  var standardOutputBytes: [UInt8] {
    (try? Data(contentsOf: URL(fileURLWithPath: outputPath))).map { Array($0) } ?? []
  }
  var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

  /// Waits until a thread of the process sleeps in the kernel function
  /// `function` (as /proc/PID/task/TID/wchan names it, e.g. `do_msgrcv`): proof that it is blocked in
  /// that call, without guessing with sleeps.
  func waitUntilBlocked(in function: String, timeout: Duration = .seconds(10)) -> Bool {
    Self.waitUntilBlocked(pid: pid, in: function, timeout: timeout)
  }

  /// Waits until a thread of the process sleeps in any of `functions` (kernel
  /// versions name the same wait differently: `anon_pipe_read`, `pipe_read`).
  func waitUntilBlocked(inAnyOf functions: Set<String>, timeout: Duration = .seconds(10)) -> Bool {
    Self.waitUntilBlocked(pid: pid, inAnyOf: functions, timeout: timeout)
  }

  static func waitUntilBlocked(pid: pid_t, in function: String, timeout: Duration = .seconds(10))
    -> Bool
  {
    waitUntilBlocked(pid: pid, inAnyOf: [function], timeout: timeout)
  }

  static func waitUntilBlocked(
    pid: pid_t, inAnyOf functions: Set<String>, timeout: Duration = .seconds(10)
  ) -> Bool {
    let deadline = ContinuousClock.now + timeout
    let tasks = "/proc/\(pid)/task"
    while ContinuousClock.now < deadline {
      // Any thread: an exit test runs its body off the main thread.
      let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
      for thread in threads {
        let wchan = try? String(contentsOfFile: "\(tasks)/\(thread)/wchan", encoding: .utf8)
        if let wchan, functions.contains(wchan) { return true }
      }
      usleep(1_000)
    }
    return false
  }

  /// Runs a command to completion and returns it.
  static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60))
    throws -> SpawnedProcess
  {
    let process = try SpawnedProcess(executable, arguments)
    process.wait(timeout: timeout)
    return process
  }
}

struct SpawnFailure: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
