import Foundation
import Testing

@testable import IPC

/// The `ipc` command as a real peer process: every `msg` subcommand, `list`,
/// usage errors, and the demo.
@Suite("The ipc command")
struct IPCCommandTests {
  @Test func createSendReceiveStatRemoveByKey() throws {
    let key = TestKeys.next()
    let create = try Tools.ipc("msg", "create", "--key", "\(key)", "--mode", "0640", "--max-bytes", "4096")
    #expect(create.exitStatus == 0, "\(create.standardError)")
    let id = try #require(Int32(create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let queue = try SystemV.MessageQueue.open(id: id)
    defer { try? queue.remove() }
    #expect(try queue.stat().maxBytes == 4096)
    #expect(try queue.stat().permissions.octal == "0640")

    #expect(try Tools.ipc("msg", "send", "--key", "\(key)", "--type", "4", "four").exitStatus == 0)
    #expect(try Tools.ipc("msg", "send", "--id", "\(id)", "--type", "2", "two").exitStatus == 0)
    #expect(try Tools.ipc("msg", "send", "--id", "\(id)", "--nowait", "one").exitStatus == 0)
    #expect(try queue.peek(at: 2) == SystemV.Message(1, "one"))

    let peek = try Tools.ipc("msg", "peek", "--id", "\(id)", "--index", "1", "--show-type")
    #expect(peek.standardOutput == "2\ttwo\n")
    let upTo = try Tools.ipc("msg", "receive", "--key", "\(key)", "--up-to", "3", "--show-type")
    #expect(upTo.standardOutput == "1\tone\n")
    let except = try Tools.ipc("msg", "receive", "--id", "\(id)", "--except", "2")
    #expect(except.standardOutput == "four\n")

    let stat = try Tools.ipc("msg", "stat", "--id", "\(id)")
    #expect(stat.exitStatus == 0)
    #expect(stat.standardOutput.contains("messages     1"))
    #expect(stat.standardOutput.contains("bytes        3 of 4096"))
    #expect(stat.standardOutput.contains("rw-r----- (0640)"))

    let exact = try Tools.ipc("msg", "receive", "--id", "\(id)", "--type", "2", "--nowait")
    #expect(exact.standardOutput == "two\n")
    let empty = try Tools.ipc("msg", "receive", "--id", "\(id)", "--nowait")
    #expect(empty.exitStatus == 1)
    #expect(empty.standardError.contains("no message of any type in queue \(id)"))
    let timedOut = try Tools.ipc("msg", "receive", "--id", "\(id)", "--timeout", "0.05")
    #expect(timedOut.exitStatus == 1)

    #expect(try Tools.ipc("msg", "remove", "--key", "\(key)").exitStatus == 0)
    #expect(throws: IPCError.self) { try queue.stat() }
  }

  @Test func createByFtokPathAndExclusiveCreateOfAnExistingKeyFails() throws {
    let path = NSTemporaryDirectory() + "ipc-cli-\(getpid())-\(UUID().uuidString)"
    #expect(FileManager.default.createFile(atPath: path, contents: Data()))
    defer { unlink(path) }
    let create = try Tools.ipc("msg", "create", "--path", path, "--project", "3")
    let id = try #require(Int32(create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let queue = try SystemV.MessageQueue.open(id: id)
    defer { try? queue.remove() }
    #expect(try queue.stat().key == SystemV.Key(path: path, projectID: 3))
    let again = try Tools.ipc("msg", "create", "--path", path, "--project", "3")
    #expect(again.standardOutput == create.standardOutput)
    let exclusive = try Tools.ipc("msg", "create", "--path", path, "--project", "3", "--exclusive")
    #expect(exclusive.exitStatus == 1)
    #expect(exclusive.standardError.contains("already exists"))
    #expect(exclusive.standardError.contains("[EEXIST]"))
  }

  @Test func badInputIsAnErrorAndChangesNothing() throws {
    try withQueue { queue in
      try queue.send("kept".utf8, type: 1)
      let id = "\(queue.id)"
      let typeZero = try Tools.ipc("msg", "send", "--id", id, "--type", "0", "x")
      #expect(typeZero.exitStatus == 1)
      #expect(typeZero.standardError.contains("message type 0 is invalid"))
      let big = String(repeating: "x", count: SystemV.MessageQueue.Limits.current().maxMessageSize + 1)
      let tooBig = try Tools.ipc("msg", "send", "--id", id, big)
      #expect(tooBig.exitStatus == 1)
      #expect(tooBig.standardError.contains("/proc/sys/kernel/msgmax"))
      let noQueue = try Tools.ipc("msg", "receive", "--key", "\(TestKeys.next())", "--nowait")
      #expect(noQueue.exitStatus == 1)
      #expect(noQueue.standardError.contains("[ENOENT]"))
      let missingPath = try Tools.ipc("msg", "stat", "--path", "/nonexistent/x", "--project", "1")
      #expect(missingPath.exitStatus == 1)
      #expect(missingPath.standardError.contains("ftok"))
      #expect(try drain(queue) == [SystemV.Message(1, "kept")])
    }
  }

  @Test(arguments: [
    ["msg", "send", "--type", "1", "x"],  // no queue named
    ["msg", "receive", "--id", "1", "--type", "1", "--except", "2"],
    ["msg", "frobnicate"],
    ["msg", "create", "--mode", "999"],
    ["msg", "send", "--id", "1"],  // no text
    ["list", "--bogus"],
    ["msg", "create", "--max-bytes", "0"],
    ["msg", "receive", "--id", "1", "--timeout", "1e12"],
    ["msg", "receive", "--id", "1", "--timeout", "inf"],
    ["demo", "--interval", "inf"],
    ["nonsense"],
    [],
  ])
  func usageErrorsExitWith2(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    #expect(run.exitStatus == 2, "\(arguments): \(run.standardError)")
    #expect(run.standardError.contains("usage: ipc"))
  }

  @Test(arguments: [
    ["--help"], ["msg", "--help"], ["msg", "send", "--help"], ["list", "--help"], ["demo", "--help"],
  ])
  func helpExitsWith0(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    #expect(run.exitStatus == 0)
    #expect(run.standardOutput.contains("usage: ipc"))
  }

  @Test func listShowsOurQueueWithItsCounts() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.create(key: key)
    defer { try? queue.remove() }
    try queue.send("12345".utf8, type: 1)
    let list = try Tools.ipc("list")
    #expect(list.exitStatus == 0)
    let row = list.standardOutput.split(separator: "\n").first { $0.hasPrefix("\(key) ") }
    let columns = try #require(row).split(separator: " ").map(String.init)
    #expect(columns[1] == "\(queue.id)")
    #expect(columns[3] == "0600")
    #expect(columns[4] == "1")
    #expect(columns[5] == "5")
    #expect(columns[6] == "\(try queue.stat().maxBytes)")
    #expect(columns[7] == "\(getpid())")
  }

  @Test func demoReceivesAll21MessagesFromTwoSendersAndRemovesItsQueue() throws {
    let demo = try SpawnedProcess.run(Tools.ipc, ["demo", "--interval", "0.001"])
    #expect(demo.exitStatus == 0, "\(demo.standardError)")
    let output = demo.standardOutput
    #expect(output.contains("receiver: JSON from sender"))
    #expect(output.contains("receiver: text: batch message 20 of 20"))
    #expect(output.contains("receiver: received 21 messages: 1 from sender"))
    #expect(output.contains(", 20 from batch sender"))
    #expect(output.contains("all 3 processes exited cleanly"))
    // "demo: made private message queue ID; starting 3 processes"
    let words = try #require(output.split(separator: "\n").first).split(separator: " ")
    let queueWord = try #require(words.firstIndex(of: "queue"))
    let id = try #require(Int32(words[queueWord + 1].dropLast()))
    #expect(throws: IPCError.self) { try SystemV.MessageQueue.open(id: id) }
  }
}
