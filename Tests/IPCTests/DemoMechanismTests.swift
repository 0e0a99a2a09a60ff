import Foundation
import IPC
import Testing

/// `ipc demo --mechanism`: every message arrives, and the object is gone
/// afterwards, also after a failure, a signal, or the parent's SIGKILL.
@Suite("ipc demo over each mechanism")
struct DemoMechanismTests {
  @Test(arguments: ["sysv", "posix", "pipe"])
  func theWalkThroughRunsToTheEndAndRemovesItsObject(_ mechanism: String) throws {
    // System V is the default: it runs without the option, as a newcomer types it.
    let choice = mechanism == "sysv" ? [] : ["--mechanism", mechanism]
    let demo = try SpawnedProcess.run(Tools.ipc, ["demo"] + choice + ["--interval", "0.001"])
    #expect(demo.exitStatus == 0, "\(demo.standardError)")
    let output = demo.standardOutput
    #expect(output.contains("receiver: JSON from sender"))
    #expect(output.contains("receiver: text: batch message 20 of 20"))
    #expect(output.contains("receiver: received 21 messages: 1 from sender"))
    #expect(output.contains(", 20 from batch sender"))
    #expect(output.contains("all 3 processes exited cleanly"))
    let name = try #require(queueName(output))
    defer { removeLeftover(name, mechanism) }
    switch mechanism {
    case "sysv": #expect(Int32(name) != nil, "\(name)")
    case "posix": #expect(name.hasPrefix("/"), "\(name)")
    default: #expect(name.hasSuffix(".fifo"), "\(name)")
    }
    #expect(output.contains("\(objectWord(mechanism)) \(name) removed"))
    #expect(isGone(name, mechanism))
  }

  @Test(arguments: ["sysv", "posix", "pipe"])
  func killingTheParentLeavesNoProcessAndNoObject(_ mechanism: String) throws {
    let (demo, name, children) = try startLongDemo(mechanism)
    defer { removeLeftover(name, mechanism) }
    // The children remove the object themselves once their parent is gone.
    DemoProcesses.expectKillingTheParentLeavesNothing(demo, children: children) { isGone(name, mechanism) }
    #expect(!demo.standardOutput.contains("exited cleanly"))
  }

  @Test(arguments: [("sysv", SIGINT), ("posix", SIGTERM), ("pipe", SIGINT)])
  func aSignalStopsTheChildrenAndRemovesTheObject(_ mechanism: String, _ signal: Int32) throws {
    let (demo, name, children) = try startLongDemo(mechanism)
    defer { removeLeftover(name, mechanism) }
    kill(demo.pid, signal)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 128 + signal)
    #expect(
      demo.standardError.contains(
        "interrupted by signal \(signal); \(objectWord(mechanism)) \(name) removed"),
      "\(demo.standardError)")
    #expect(isGone(name, mechanism))
    // The supervisor waited for every child before the parent exited.
    for child in children { #expect(hasEnded(child), "child \(child) still runs") }
  }

  @Test(arguments: ["sysv", "posix"])
  func aFailedChildStopsTheOthersAndRemovesTheQueue(_ mechanism: String) throws {
    let (demo, name, children) = try startLongDemo(mechanism)
    defer { removeLeftover(name, mechanism) }
    // Removal does not wake a POSIX queue's waiters: the supervisor must stop
    // the remaining children, or this would hang.
    let pid = try receiver(of: demo)
    kill(pid, SIGKILL)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 1)
    #expect(
      demo.standardError.contains(
        "demo failed: receiver (pid \(pid)) killed by SIGKILL (signal 9); queue \(name) removed"),
      "\(demo.standardError)")
    #expect(isGone(name, mechanism))
    for child in children { #expect(hasEnded(child), "child \(child) still runs") }
  }

  @Test func anUnknownMechanismIsAUsageError() throws {
    let run = try Tools.ipc("demo", "--mechanism", "smoke-signals")
    expectUsageError(
      run, ["demo", "--mechanism", "smoke-signals"],
      mentioning: "ipc demo: --mechanism: expected sysv, posix or pipe, got 'smoke-signals'")
  }
}
