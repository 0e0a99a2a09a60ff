import Foundation
import IPC
import Testing

/// `ipc demo --mechanism`: every message arrives, and the object is gone
/// afterwards, also after a failure, a signal, or the parent's SIGKILL.
@Suite("ipc demo over each mechanism")
struct DemoMechanismTests {
  @Test(arguments: ["sysv", "posix", "pipe", "channel"])
  func theWalkThroughRunsToTheEndAndRemovesItsObject(_ mechanism: String) throws {
    // System V is the default: it runs without the option, as a newcomer types it.
    let choice = mechanism == "sysv" ? [] : ["--mechanism", mechanism]
    let demo = try SpawnedProcess.run(Tools.ipc, ["demo"] + choice + ["--interval", "0.001"])
    #expect(demo.exitStatus == 0, "\(demo.standardError)")
    let output = demo.standardOutput
    // Over a shared channel the greeting is a binary Codable value, elsewhere JSON.
    let format = mechanism == "channel" ? "binary Codable" : "JSON"
    #expect(output.contains("receiver: \(format) from sender"), "\(output)")
    #expect(output.contains("receiver: text: batch message 20 of 20"))
    #expect(output.contains("receiver: received 21 messages: 1 from sender"))
    #expect(output.contains(", 20 from batch sender"))
    #expect(output.contains("all 3 processes exited cleanly"))
    let name = try #require(queueName(output))
    defer { removeLeftover(name, mechanism) }
    switch mechanism {
    case "sysv": #expect(Int32(name) != nil, "\(name)")
    case "posix": #expect(name.hasPrefix("/"), "\(name)")
    case "channel":
      #expect(name == "/ipc-demo-\(demo.pid)-channel", "\(name)")
      // The channel's own end of stream, after both senders' last messages.
      #expect(output.contains("receiver: end of stream: both producers have closed the channel"))
    default: #expect(name.hasSuffix(".fifo"), "\(name)")
    }
    #expect(output.contains("\(objectWord(mechanism)) \(name) removed"))
    #expect(isGone(name, mechanism))
  }

  @Test(arguments: ["sysv", "posix", "pipe", "channel"])
  func killingTheParentLeavesNoProcessAndNoObject(_ mechanism: String) throws {
    let (demo, name, children) = try startLongDemo(mechanism)
    defer { removeLeftover(name, mechanism) }
    // The children remove the object themselves once their parent is gone.
    DemoProcesses.expectKillingTheParentLeavesNothing(demo, children: children) { isGone(name, mechanism) }
    #expect(!demo.standardOutput.contains("exited cleanly"))
  }

  @Test(arguments: [("sysv", SIGINT), ("posix", SIGTERM), ("pipe", SIGINT), ("channel", SIGTERM)])
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

  @Test(arguments: ["sysv", "posix", "channel"])
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
        "demo failed: receiver (pid \(pid)) killed by SIGKILL (signal 9); \(objectWord(mechanism)) \(name) removed"
      ),
      "\(demo.standardError)")
    #expect(isGone(name, mechanism))
    for child in children { #expect(hasEnded(child), "child \(child) still runs") }
  }

  @Test func overASocketTheServerChecksEachClientAndHandsItAPipe() throws {
    let demo = try SpawnedProcess.run(Tools.ipc, ["demo", "--mechanism", "socket", "--interval", "0.001"])
    #expect(demo.exitStatus == 0, "\(demo.standardError)")
    let output = demo.standardOutput
    let name = try #require(queueName(output))
    #expect(name.hasPrefix("@ipc-demo-"), "\(output)")
    #expect(output.contains("receiver (pid "), "\(output)")
    #expect(output.contains("listening on \(name)"))
    // Each client: seen with its credentials, handed a pipe through the socket, which it uses.
    let checked = output.split(separator: "\n").filter {
      $0.hasPrefix("receiver: client pid ")
        && $0.hasSuffix("(uid \(getuid())) checked; handed it a private pipe")
    }
    #expect(checked.count == 2, "\(output)")
    let connected = output.split(separator: "\n").filter {
      $0.contains("connected to \(name); the receiver handed over a pipe")
    }
    #expect(connected.count == 2, "\(output)")
    #expect(output.contains("receiver: received 21 messages: 1 from sender"))
    #expect(output.contains(", 20 from batch sender"))
    #expect(output.contains("demo: all 3 processes exited cleanly; nothing to remove"))
    #expect(!TestSockets.isListed(name))
  }

  /// A client of another user connects to the demo's abstract name (which
  /// has no permissions): the receiver refuses it by its credentials and
  /// carries on. Needs root, to run the intruder as nobody.
  @Test(.enabled(if: getuid() == 0, "needs root to start a client of another uid"))
  func overASocketAClientOfAnotherUserIsRefused() throws {
    let (demo, name, children) = try startLongDemo("socket")
    defer { for child in children where !hasEnded(child) { kill(child, SIGKILL) } }
    let script =
      "import socket; s = socket.socket(socket.AF_UNIX); s.connect('\\0' + '\(name.dropFirst())'); s.recv(1)"
    let intruder = try SpawnedProcess.run(
      "/usr/bin/setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script])
    #expect(intruder.exitStatus == 0, "\(intruder.standardError)")
    #expect(
      eventually { demo.standardOutput.contains("receiver: refused a client: pid ") },
      "\(demo.standardOutput)")
    #expect(demo.standardOutput.contains("runs as uid 65534, not as this user (uid 0)"))
    // The demo goes on: the batch sender's messages keep coming.
    let before = demo.standardOutput.count
    #expect(eventually { demo.standardOutput.count > before })
    kill(demo.pid, SIGTERM)
    #expect(demo.wait(timeout: .seconds(20)))
    #expect(demo.exitStatus == 128 + SIGTERM)
    #expect(demo.standardError.contains("interrupted by signal \(SIGTERM)"), "\(demo.standardError)")
    for child in children { #expect(hasEnded(child), "child \(child) still runs") }
    #expect(eventually { !TestSockets.isListed(name) })
  }

  @Test func overASocketKillingTheParentLeavesNoProcessAndNoName() throws {
    let (demo, name, children) = try startLongDemo("socket")
    DemoProcesses.expectKillingTheParentLeavesNothing(demo, children: children) {
      !TestSockets.isListed(name)
    }
  }

  @Test func anUnknownMechanismIsAUsageError() throws {
    let run = try Tools.ipc("demo", "--mechanism", "smoke-signals")
    expectUsageError(
      run, ["demo", "--mechanism", "smoke-signals"],
      mentioning: "ipc demo: --mechanism: expected sysv, posix, pipe, socket or channel, got 'smoke-signals'")
  }
}
