import Foundation
import IPC
import Testing

/// `ipc demo --mechanism`: every message arrives, and the object is gone
/// afterwards, also after a failure, a signal, or the parent's SIGKILL.
@Suite("ipc demo over each mechanism")
struct DemoMechanismTests {
  /// The object in "demo: made POSIX message queue /ipc-demo-PID; starting 3
  /// processes": a queue's id or name, or a FIFO's path.
  private func queueName(_ output: String) -> String? {
    guard let first = output.split(separator: "\n").first, first.hasPrefix("demo: made") else { return nil }
    return first.split(separator: " ").first { $0.hasSuffix(";") }.map { String($0.dropLast()) }
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
  /// with its object's name (a queue's id or name, or a FIFO's path) and the
  /// children seen running meanwhile.
  private func startLongDemo(_ mechanism: String = "posix") throws -> (SpawnedProcess, String, [pid_t]) {
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

  /// Whether the demo's object `name` over `mechanism` is gone.
  private func isGone(_ name: String, _ mechanism: String) -> Bool {
    switch mechanism {
    case "sysv": return Int32(name).map { !systemVExists($0, in: "msg") } ?? false
    case "posix":
      do {
        _ = try POSIX.MessageQueue.open(name)
        return false
      } catch {
        return error.code == .notFound
      }
    default: return access(name, F_OK) != 0
    }
  }

  /// Removes the demo's object if it is still there, so a failed test leaves nothing behind.
  private func removeLeftover(_ name: String, _ mechanism: String) {
    switch mechanism {
    case "sysv": _ = Int32(name).map { try? SystemV.MessageQueue.open(id: $0).remove() }
    case "posix": try? POSIX.MessageQueue.unlink(name)
    default: unlink(name)
    }
  }

  @Test(arguments: ["sysv", "posix", "pipe"])
  func killingTheParentLeavesNoProcessAndNoObject(_ mechanism: String) throws {
    let (demo, name, children) = try startLongDemo(mechanism)
    defer { removeLeftover(name, mechanism) }
    // The children remove the object themselves once their parent is gone.
    DemoProcesses.expectKillingTheParentLeavesNothing(demo, children: children) { isGone(name, mechanism) }
    #expect(!demo.standardOutput.contains("exited cleanly"))
  }

  @Test func aSignalStopsTheChildrenAndUnlinksTheQueue() throws {
    let (demo, name, children) = try startLongDemo()
    defer { try? POSIX.MessageQueue.unlink(name) }
    kill(demo.pid, SIGTERM)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 128 + SIGTERM)
    #expect(demo.standardError.contains("interrupted by signal \(SIGTERM); queue \(name) removed"))
    #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
    // The supervisor waited for every child before the parent exited.
    for child in children { #expect(hasEnded(child), "child \(child) still runs") }
  }

  @Test func aFailedChildStopsTheOthersAndUnlinksTheQueue() throws {
    let (demo, name, children) = try startLongDemo()
    defer { try? POSIX.MessageQueue.unlink(name) }
    // Removal does not wake a POSIX queue's waiters: the supervisor must stop
    // the remaining children, or this would hang.
    let receiver = children.first { DemoProcesses.entryPoint(of: $0) == "demo-receiver" }
    let pid = try #require(receiver)
    kill(pid, SIGKILL)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 1)
    #expect(
      demo.standardError.contains(
        "demo failed: receiver (pid \(pid)) killed by SIGKILL (signal 9); queue \(name) removed"),
      "\(demo.standardError)")
    #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
    for child in children { #expect(hasEnded(child), "child \(child) still runs") }
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
    let (demo, fifo, _) = try startLongDemo("pipe")
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
