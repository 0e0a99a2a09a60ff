import Foundation
import IPC
import Testing

/// `ipc demo --mechanism`: every message arrives, and the object is gone
/// afterwards, also after a failure, a signal, or the parent's SIGKILL.
@Suite("ipc demo over each mechanism")
struct DemoMechanismTests {
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
    expectUsageError(
      run, ["demo", "--mechanism", "smoke-signals"],
      mentioning: "ipc demo: --mechanism: expected sysv, posix or pipe, got 'smoke-signals'")
  }
}
