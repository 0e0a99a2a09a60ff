import Foundation
import IPC
import Testing

extension DemoMechanismTests {
  /// The object in "demo: made POSIX message queue /ipc-demo-PID; starting 3
  /// processes": a queue's id or name, or a FIFO's path.
  func queueName(_ output: String) -> String? {
    guard let first = output.split(separator: "\n").first, first.hasPrefix("demo: made") else { return nil }
    return first.split(separator: " ").first { $0.hasSuffix(";") }.map { String($0.dropLast()) }
  }

  /// Starts a long demo over `mechanism` and returns it, once messages flow,
  /// with its object's name (a queue's id or name, or a FIFO's path) and the
  /// children seen running meanwhile.
  func startLongDemo(_ mechanism: String = "posix") throws -> (SpawnedProcess, String, [pid_t]) {
    let demo = try SpawnedProcess(
      Tools.ipc, ["demo", "--mechanism", mechanism, "--interval", "0.01", "--count", "100000"])
    var children: Set<pid_t> = []
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
      children.formUnion(DemoProcesses.children(of: demo.pid))
      if let name = queueName(demo.standardOutput), demo.standardOutput.contains("text: batch message 1 ") {
        return (demo, name, children.sorted())
      }
      usleep(5_000)
    }
    throw SpawnFailure(message: "the demo never got going: \(demo.standardError)")
  }

  /// The word the demo puts before its object's name: `queue 5`, `pipe /tmp/x.fifo`.
  func objectWord(_ mechanism: String) -> String {
    switch mechanism {
    case "pipe": "pipe"
    case "channel": "shared memory"
    default: "queue"
    }
  }

  /// The demo's receiver, found by its entry point: the sender may already have
  /// finished, so the number of children says nothing.
  func receiver(of demo: SpawnedProcess) throws -> pid_t {
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
      let receiver = DemoProcesses.children(of: demo.pid).first {
        DemoProcesses.entryPoint(of: $0) == "demo-receiver"
      }
      if let receiver { return receiver }
      usleep(5_000)
    }
    throw SpawnFailure(message: "the demo's receiver never showed: \(demo.standardError)")
  }

  /// Whether the demo's object `name` over `mechanism` is gone.
  func isGone(_ name: String, _ mechanism: String) -> Bool {
    switch mechanism {
    case "sysv": return Int32(name).map { !systemVExists($0, in: "msg") } ?? false
    case "posix":
      do {
        _ = try POSIX.MessageQueue.open(name)
        return false
      } catch {
        return error.code == .notFound
      }
    case "channel": return access("/dev/shm" + name, F_OK) != 0
    default: return access(name, F_OK) != 0
    }
  }

  /// Removes the demo's object if it is still there, so a failed test leaves nothing behind.
  func removeLeftover(_ name: String, _ mechanism: String) {
    switch mechanism {
    case "sysv": _ = Int32(name).map { try? SystemV.MessageQueue.open(id: $0).remove() }
    case "posix": try? POSIX.MessageQueue.unlink(name)
    case "channel": try? POSIX.SharedMemory.unlink(name)
    default: unlink(name)
    }
  }
}
