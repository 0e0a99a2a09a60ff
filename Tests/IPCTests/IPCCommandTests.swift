import Foundation
import Testing

@testable import IPC

/// The `ipc` command as a real peer process: every `msg` subcommand, `list`,
/// and usage errors (the demo is DemoMechanismTests).
@Suite("The ipc command")
struct IPCCommandTests {
  @Test func createSendReceiveStatRemoveByKey() throws {
    let key = TestKeys.next()
    let create = try Tools.ipc(
      "msg", "create", "--key", "\(key)", "--mode", "0640", "--max-bytes", "4096", "--exclusive")
    defer { try? SystemV.MessageQueue.open(key: key).remove() }
    #expect(create.exitStatus == 0, "\(create.standardError)")
    let id = try #require(Int32(create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let queue = try SystemV.MessageQueue.open(id: id)
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

  @Test func createByFtokPathFailsOnAnExistingKeyUnlessAskedToOpenIt() throws {
    let path = NSTemporaryDirectory() + "ipc-cli-\(getpid())-\(UUID().uuidString)"
    #expect(FileManager.default.createFile(atPath: path, contents: Data()))
    defer { unlink(path) }
    let create = try Tools.ipc("msg", "create", "--path", path, "--project", "3")
    let id = try #require(Int32(create.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let queue = try SystemV.MessageQueue.open(id: id)
    defer { try? queue.remove() }
    #expect(try queue.stat().key == SystemV.Key(path: path, projectID: 3))
    try queue.send("kept".utf8, type: 1)
    let again = try Tools.ipc("msg", "create", "--path", path, "--project", "3")
    #expect(again.exitStatus == 1)
    #expect(again.standardOutput.isEmpty)
    #expect(again.standardError.contains("already exists"))
    #expect(again.standardError.contains("(id \(id)); give --open-existing to open it, or remove it first"))
    #expect(again.standardError.contains("[EEXIST]"))
    #expect(again.standardError.split(separator: "\n").count == 1)
    // --exclusive, the old way to ask for this, is still accepted.
    let exclusive = try Tools.ipc("msg", "create", "--path", path, "--project", "3", "--exclusive")
    #expect(exclusive.exitStatus == 1)
    #expect(exclusive.standardError.contains("[EEXIST]"))
    let open = try Tools.ipc("msg", "create", "--path", path, "--project", "3", "--open-existing")
    #expect(open.exitStatus == 0, "\(open.standardError)")
    #expect(open.standardOutput == create.standardOutput)
    #expect(try queue.stat().messageCount == 1)
  }

  @Test func badInputIsAnErrorAndChangesNothing() throws {
    try withQueue { queue in
      try queue.send("kept".utf8, type: 1)
      let id = "\(queue.id)"
      let typeZero = try Tools.ipc("msg", "send", "--id", id, "--type", "0", "x")
      expectUsageError(
        typeZero, ["--type", "0"],
        mentioning: "ipc msg send: --type: expected a message type from 1 to 9223372036854775807, got '0'"
          + " (see 'ipc msg send --help')")
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
    ["msg", "receive", "--id", "1", "--up-to", "0"],
    ["msg", "peek", "--id", "1", "--index", "-1"],
    ["msg", "stat", "--path", "/", "--project", "0"],
    ["msg", "receive", "--id", "1", "--timeout", "1e12"],
    ["msg", "receive", "--id", "1", "--timeout", "inf"],
    ["demo", "--interval", "inf"],
    ["nonsense"],
    [],
  ])
  func usageErrorsExitWith2(arguments: [String]) throws {
    expectUsageError(try SpawnedProcess.run(Tools.ipc, arguments), arguments)
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

  @Test func createWithALimitItMayNotSetRemovesTheQueueItMade() throws {
    let key = TestKeys.next()
    defer { try? SystemV.MessageQueue.open(key: key).remove() }
    // As nobody, a limit above msgmnb needs CAP_SYS_RESOURCE: the command fails.
    let limit = SystemV.MessageQueue.Limits.current().defaultMaxBytes + 1
    let create = try SpawnedProcess.run(
      "/usr/bin/setpriv",
      [
        "--reuid=65534", "--regid=65534", "--clear-groups", Tools.ipc, "msg", "create", "--key", "\(key)",
        "--max-bytes", "\(limit)",
      ])
    #expect(create.exitStatus == 1)
    #expect(create.standardError.contains("CAP_SYS_RESOURCE"))
    let error = #expect(throws: IPCError.self) { try SystemV.MessageQueue.open(key: key) }
    #expect(error?.code == .notFound)
  }

  @Test func aReceivedMessageThatCannotBeWrittenIsPutBackAndTheFailureSaysSo() throws {
    try withQueue { queue in
      try queue.send("lost?".utf8, type: 3)
      let run = try SpawnedProcess.run(
        "/bin/sh", ["-c", "'\(Tools.ipc)' msg receive --id \(queue.id) > /dev/full"])
      #expect(run.exitStatus == 1)
      #expect(run.standardError.contains("could not be written to standard output"), "\(run.standardError)")
      #expect(run.standardError.contains("put back at the end of queue \(queue.id), type 3"))
      let back = try queue.tryReceive()
      #expect(back?.type == 3 && back?.bytes == Array("lost?".utf8))
    }
  }

  @Test func aReceivedPOSIXMessageThatCannotBeWrittenIsPutBackWithItsPriority() throws {
    try withPOSIXQueue { queue in
      try queue.send(Array("kept".utf8), priority: 7)
      let again = try SpawnedProcess.run(
        "/bin/sh", ["-c", "'\(Tools.ipc)' mq receive '\(queue.name)' > /dev/full"])
      #expect(again.exitStatus == 1)
      #expect(again.standardError.contains("priority 7"), "\(again.standardError)")
      let back = try queue.tryReceive()
      #expect(back?.priority == 7 && back?.bytes == Array("kept".utf8))
    }
  }

  @Test func aMessageThatCanBeNeitherWrittenNorPutBackGoesToStandardError() throws {
    // Others may read the queue but not write it, and the command runs as nobody:
    // it can take the message, not send it again.
    try withQueue(permissions: Permissions(rawValue: 0o644)) { queue in
      try queue.send([0xde, 0xad, 0xbe, 0xef], type: 1)
      let command = "'\(Tools.ipc)' msg receive --id \(queue.id) > /dev/full"
      let run = try SpawnedProcess.run(
        "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", command])
      #expect(run.exitStatus == 1)
      #expect(run.standardError.contains("putting it back failed too"), "\(run.standardError)")
      #expect(run.standardError.contains("de ad be ef"), "\(run.standardError)")
      #expect(try queue.tryReceive() == nil)
    }
  }
}
