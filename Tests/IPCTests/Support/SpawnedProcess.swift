import Foundation
import IPC
import Testing

/// A real child process for a test, started through the library's
/// ``ChildProcess`` (posix_spawn, never fork), its output captured in files,
/// so tests know its pid (to signal it or read its kernel state).
final class SpawnedProcess {
  let child: ChildProcess
  var pid: pid_t { child.pid }
  private let outputPath: String
  private let errorPath: String

  /// The exit status once `wait` returned, or nil if it was killed by a signal.
  private(set) var exitStatus: Int32?
  private(set) var terminatingSignal: Int32?

  /// Starts `executable`: standard input is /dev/null and the output goes to
  /// files, unless `passing` hands pipe ends to the child as descriptors of
  /// its own, such as `[(reader, 0)]` for its standard input. The caller
  /// closes its copies of those ends afterwards. The child starts as from a
  /// shell: no blocked signals, default dispositions.
  init(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    passing ends: [(PipeEnd, Int32)] = [], workingDirectory: String? = nil
  ) throws {
    let base = "\(NSTemporaryDirectory())/ipc-test-\(getpid())-\(UUID().uuidString)"
    outputPath = base + ".out"
    errorPath = base + ".err"
    var standard: [ChildProcess.Descriptor] = [.null, .write(to: outputPath), .write(to: errorPath)]
    var descriptors: [Int32: ChildProcess.Descriptor] = [:]
    for (end, number) in ends {
      if number <= 2 { standard[Int(number)] = .pipe(end) } else { descriptors[number] = .pipe(end) }
    }
    do {
      child = try ChildProcess.start(
        executable: executable, arguments: arguments, environment: .inherit(updating: environment),
        workingDirectory: workingDirectory, standardInput: standard[0], standardOutput: standard[1],
        standardError: standard[2],
        descriptors: descriptors)
    } catch {
      // No deinit for an object whose init failed: the output files go here (E2BIG, EMFILE, ...).
      unlink(outputPath)
      unlink(errorPath)
      throw error
    }
  }

  deinit {
    if exitStatus == nil && terminatingSignal == nil {
      try? child.kill()
      _ = try? child.wait()
    }
    unlink(outputPath)
    unlink(errorPath)
  }

  /// Waits for the process to end, killing it if it outlives `timeout` (a
  /// failed test must not hang the suite). Returns true if it exited by itself.
  @discardableResult
  func wait(timeout: Duration = .seconds(30)) -> Bool {
    guard let status = try? child.wait(timeout: timeout) else {
      try? child.kill()
      _ = try? child.wait()
      terminatingSignal = SIGKILL
      Issue.record("process \(pid) did not end within \(timeout); killed")
      return false
    }
    switch status {
    case .exited(let code): exitStatus = code
    case .signalled(let signal, _): terminatingSignal = signal
    }
    return true
  }

  /// Waits up to `limit` for the process to end; if it is still running,
  /// stops it (SIGTERM, so it can remove what it made; SIGKILL 2 s later) and
  /// returns false without recording an issue: the caller decides whether
  /// running that long was allowed. `terminatingSignal` is then the signal
  /// that ended it.
  func wait(upTo limit: Duration) -> Bool {
    if let status = try? child.wait(timeout: limit) {
      record(status)
      return true
    }
    try? child.terminate()
    let status = (try? child.wait(timeout: .seconds(2))) ?? nil
    if let status {
      record(status)
    } else {
      try? child.kill()
      if let status = try? child.wait() { record(status) } else { terminatingSignal = SIGKILL }
    }
    return false
  }

  private func record(_ status: ChildProcess.ExitStatus) {
    switch status {
    case .exited(let code): exitStatus = code
    case .signalled(let signal, _): terminatingSignal = signal
    }
  }

  var standardOutput: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
  /// Standard output as raw bytes, for output that need not be UTF-8.
  var standardOutputBytes: [UInt8] {
    (try? Data(contentsOf: URL(fileURLWithPath: outputPath))).map { Array($0) } ?? []
  }
  /// What the process wrote on stderr, without the lines a coverage build's
  /// profile runtime adds when a child running as another user cannot write
  /// its profile: they are not the program's output.
  var standardError: String {
    let text = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
    guard text.contains("LLVM Profile Error") else { return text }
    return text.split(separator: "\n", omittingEmptySubsequences: false)
      .filter { !$0.hasPrefix("LLVM Profile Error") }.joined(separator: "\n")
  }

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
    let tasks = "/proc/\(pid)/task"
    return eventually(within: timeout, every: .milliseconds(1)) {
      // Any thread: an exit test runs its body off the main thread.
      let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
      return threads.contains { thread in
        let wchan = try? String(contentsOfFile: "\(tasks)/\(thread)/wchan", encoding: .utf8)
        return wchan.map(functions.contains) ?? false
      }
    }
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
