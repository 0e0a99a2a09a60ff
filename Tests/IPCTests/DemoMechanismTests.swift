import Foundation
import Testing

@testable import IPC

/// `ipc demo --mechanism` over the other mechanisms: every message arrives,
/// and the object is gone afterwards, also after a failure or a signal.
@Suite("ipc demo over POSIX queues and named pipes")
struct DemoMechanismTests {
  /// The name in "demo: made POSIX message queue /ipc-demo-PID; starting 3 processes".
  private func queueName(_ output: String) -> String? {
    guard let first = output.split(separator: "\n").first, first.hasPrefix("demo: made") else { return nil }
    return first.split(separator: " ").first { $0.hasPrefix("/") }.map { String($0.dropLast()) }
  }

  @Test func theWalkThroughRunsOverAPOSIXQueueAndUnlinksIt() throws {
    let demo = try SpawnedProcess.run(Tools.ipc, ["demo", "--mechanism", "posix", "--interval", "0.001"])
    #expect(demo.exitStatus == 0, "\(demo.standardError)")
    let output = demo.standardOutput
    #expect(output.contains("receiver: JSON from sender"))
    #expect(output.contains("receiver: text: batch message 20 of 20"))
    #expect(output.contains("receiver: received 21 messages: 1 from sender"))
    let name = try #require(queueName(output))
    #expect(output.contains("queue \(name) removed"))
    let error = #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
    #expect(error?.code == .notFound)
  }

  /// Starts a long demo over `mechanism` and returns it, once messages flow,
  /// with its object's name (a queue name or a FIFO path).
  private func startLongDemo(_ mechanism: String = "posix") throws -> (SpawnedProcess, String) {
    let demo = try SpawnedProcess(
      Tools.ipc, ["demo", "--mechanism", mechanism, "--interval", "0.01", "--count", "100000"])
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
      if let name = queueName(demo.standardOutput), demo.standardOutput.contains("text: batch message 1 ") {
        return (demo, name)
      }
      usleep(5_000)
    }
    throw SpawnFailure(message: "the demo never got going")
  }

  @Test func aSignalStopsTheChildrenAndUnlinksTheQueue() throws {
    let (demo, name) = try startLongDemo()
    defer { try? POSIX.MessageQueue.unlink(name) }
    kill(demo.pid, SIGTERM)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 128 + SIGTERM)
    #expect(demo.standardError.contains("interrupted by signal \(SIGTERM); queue \(name) removed"))
    #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
  }

  @Test func aFailedChildStopsTheOthersAndUnlinksTheQueue() throws {
    let (demo, name) = try startLongDemo()
    defer { try? POSIX.MessageQueue.unlink(name) }
    // Removal does not wake a POSIX queue's waiters: the parent must stop
    // the remaining children itself, or this would hang.
    let children =
      (try? String(contentsOfFile: "/proc/\(demo.pid)/task/\(demo.pid)/children", encoding: .utf8)) ?? ""
    let receiver = children.split(separator: " ").compactMap { pid_t($0) }.first { pid in
      let commandLine = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
      return commandLine.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "receiver" }
    }
    kill(try #require(receiver), SIGKILL)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 1)
    #expect(demo.standardError.contains("queue \(name) removed"))
    #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
  }

  @Test func theWalkThroughRunsOverANamedPipeAndRemovesIt() throws {
    let demo = try SpawnedProcess.run(Tools.ipc, ["demo", "--mechanism", "pipe", "--interval", "0.001"])
    #expect(demo.exitStatus == 0, "\(demo.standardError)")
    let output = demo.standardOutput
    #expect(output.contains("receiver: JSON from sender"))
    #expect(output.contains("receiver: received 21 messages: 1 from sender"))
    let path = try #require(queueName(output))
    #expect(path.hasSuffix(".fifo"))
    #expect(output.contains("pipe \(path) removed"))
    #expect(access(path, F_OK) != 0)
  }

  @Test func aSignalStopsThePipeDemoAndRemovesItsFIFO() throws {
    let (demo, fifo) = try startLongDemo("pipe")
    defer { unlink(fifo) }
    kill(demo.pid, SIGINT)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 130)
    #expect(demo.standardError.contains("interrupted by signal 2; pipe \(fifo) removed"))
    #expect(access(fifo, F_OK) != 0)
  }

  @Test func anUnknownMechanismIsAUsageError() throws {
    let run = try Tools.ipc("demo", "--mechanism", "smoke-signals")
    #expect(run.exitStatus == 2)
    #expect(run.standardError.contains("--mechanism needs sysv, posix or pipe"))
  }
}
