import Foundation
import IPC
import Testing

extension Tools {
  /// The Swift peer with the entry points the process tests start (Tests/ProcessPeer).
  static var testPeer: String { productsDirectory + "/ipc-test-peer" }
}

/// A file for a child's output, removed when released.
final class OutputFile: Sendable {
  let path = "\(NSTemporaryDirectory())/ipc-test-\(getpid())-\(UUID().uuidString).out"

  deinit { unlink(path) }

  var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

  /// Waits until the output holds `fragment`; false after `timeout`.
  func waitFor(_ fragment: String, timeout: Duration = .seconds(10)) -> Bool {
    eventually(within: timeout) { text.contains(fragment) }
  }
}

/// Starts entry point `entry` of the Swift peer, its output (and errors) in
/// files of their own.
func startPeer(
  _ entry: String, handing objects: [String: any Inheritable] = [:], arguments: [String] = [],
  descriptors: [Int32: ChildProcess.Descriptor] = [:], diesWithParent: Bool = true,
  in supervisor: Supervisor? = nil
) throws -> (child: ChildProcess, output: OutputFile, errors: OutputFile) {
  let output = OutputFile()
  let errors = OutputFile()
  let child = try ChildProcess.start(
    entryPoint: entry, handing: objects, arguments: arguments, standardInput: .null,
    standardOutput: .write(to: output.path), standardError: .write(to: errors.path), descriptors: descriptors,
    diesWithParent: diesWithParent, executable: Tools.testPeer, in: supervisor)
  return (child, output, errors)
}

/// Runs a program to its end, returning its status and standard output.
func runToEnd(
  _ executable: String, _ arguments: [String] = [], environment: ChildProcess.Environment = .inherit,
  workingDirectory: String? = nil
) throws -> (status: ChildProcess.ExitStatus, output: String) {
  let output = OutputFile()
  let child = try ChildProcess.start(
    executable: executable, arguments: arguments, environment: environment,
    workingDirectory: workingDirectory, standardInput: .null, standardOutput: .write(to: output.path))
  return (try child.wait(), output.text)
}

/// Whether process `pid` has ended: gone, or a zombie nobody reaped (a child
/// whose parent died belongs to pid 1, which in a sandbox may never reap it).
func hasEnded(_ pid: pid_t) -> Bool {
  guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
    let close = stat.lastIndex(of: ")")
  else { return true }
  return stat[stat.index(close, offsetBy: 2)] == "Z"
}

/// Whether process `pid` has ended and waits, unreaped, as a zombie.
func isZombie(_ pid: pid_t) -> Bool {
  guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
    let close = stat.lastIndex(of: ")")
  else { return false }
  return stat[stat.index(close, offsetBy: 2)] == "Z"
}

/// Waits until every one of `pids` has ended; false after `timeout`.
func waitUntilEnded(_ pids: [pid_t], timeout: Duration = .seconds(10)) -> Bool {
  eventually(within: timeout, every: .milliseconds(5)) { pids.allSatisfy(hasEnded) }
}

/// Whether a System V object with `id` exists in /proc/sysvipc/`table` (`msg`, `sem`, `shm`).
func systemVExists(_ id: Int32, in table: String) -> Bool {
  let text = (try? procText("/proc/sysvipc/\(table)")) ?? ""
  return text.split(separator: "\n").dropFirst().contains { line in
    line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "\(id)"
  }
}

/// One object of every kind that a process hands over by key, id, name or path.
struct OneOfEveryKind {
  let queue: SystemV.MessageQueue
  let set: SystemV.SemaphoreSet
  let memory: SystemV.SharedMemory
  let posixQueue: POSIX.MessageQueue
  let semaphore: POSIX.Semaphore
  let sharedMemory: POSIX.SharedMemory
  let fifo: NamedPipe

  /// All of them, in the order above.
  var all: [any Inheritable] { [queue, set, memory, posixQueue, semaphore, sharedMemory, fifo] }
}

/// Runs `body` with one new object of every kind (a set of two semaphores,
/// 64 bytes of each memory, a POSIX queue of 2 messages of 16 bytes), each
/// removed afterwards, also when the body fails.
func withOneOfEveryKind<R>(_ body: (OneOfEveryKind) throws -> R) throws -> R {
  let queue = try SystemV.MessageQueue.create()
  defer { try? queue.remove() }
  let set = try SystemV.SemaphoreSet.create(values: [1, 2])
  defer { try? set.remove() }
  let memory = try SystemV.SharedMemory.create(size: 64)
  defer { try? memory.remove() }
  let posixQueue = try POSIX.MessageQueue.create(TestNames.next(), maxMessages: 2, messageSize: 16)
  defer { try? posixQueue.unlink() }
  let semaphore = try POSIX.Semaphore.create(TestNames.next())
  defer { try? semaphore.unlink() }
  let sharedMemory = try POSIX.SharedMemory.create(TestNames.next(), size: 64)
  defer { try? sharedMemory.unlink() }
  let fifo = try NamedPipe.create(at: "/tmp/ipc-test-\(getpid())-\(UUID().uuidString).fifo")
  defer { try? fifo.remove() }
  return try body(
    OneOfEveryKind(
      queue: queue, set: set, memory: memory, posixQueue: posixQueue, semaphore: semaphore,
      sharedMemory: sharedMemory, fifo: fifo))
}
