import Foundation
import Testing

@testable import IPC

/// `ipc mq`: every subcommand against real queues, usage errors, and `ipc list`.
@Suite("ipc mq")
struct POSIXQueueCommandTests {
  @Test func createSendReceiveStatRemove() throws {
    let name = TestNames.next()
    defer { try? POSIX.MessageQueue.unlink(name) }
    let create = try Tools.ipc(
      "mq", "create", name, "--max-messages", "3", "--message-size", "40", "--mode", "0640")
    #expect(create.exitStatus == 0, "\(create.standardError)")
    let queue = try POSIX.MessageQueue.open(name)
    #expect(queue.maxMessages == 3 && queue.messageSize == 40)
    var info = stat()
    #expect(fstat(queue.fileDescriptor, &info) == 0 && info.st_mode & 0o777 == 0o640)
    #expect(try Tools.ipc("mq", "create", name, "--exclusive").exitStatus == 1)
    #expect(try Tools.ipc("mq", "create", name).exitStatus == 1)  // exists: refused
    #expect(try Tools.ipc("mq", "create", name, "--open-existing").exitStatus == 0)
    #expect(try Tools.ipc("mq", "send", name, "--priority", "2", "low").exitStatus == 0)
    #expect(try Tools.ipc("mq", "send", name, "--priority", "6", "--timeout", "1", "high").exitStatus == 0)
    let stat = try Tools.ipc("mq", "stat", name)
    #expect(stat.standardOutput.contains("messages     2 of 3"), "\(stat.standardOutput)")
    #expect(stat.standardOutput.contains("message size 40 bytes"))
    #expect(stat.standardOutput.contains("rw-r----- (0640)"))
    #expect(try Tools.ipc("mq", "receive", name, "--show-priority").standardOutput == "6\thigh\n")
    #expect(try Tools.ipc("mq", "receive", name, "--nowait").standardOutput == "low\n")
    let empty = try Tools.ipc("mq", "receive", name, "--timeout", "0.1")
    #expect(empty.exitStatus == 1)
    #expect(empty.standardError.contains("queue \(name) is empty"))
    #expect(try Tools.ipc("mq", "remove", name).exitStatus == 0)
    let gone = try Tools.ipc("mq", "stat", name)
    #expect(gone.exitStatus == 1)
    #expect(gone.standardError.contains("no message queue is named \(name)"))
  }

  @Test func badInputIsRefusedAndNothingIsSent() throws {
    try withPOSIXQueue(maxMessages: 1, messageSize: 4) { (queue) throws in
      let priority = try Tools.ipc("mq", "send", queue.name, "--priority", "40000", "x")
      #expect(priority.exitStatus == 2)
      #expect(
        priority.standardError.contains("--priority: expected a priority (below MQ_PRIO_MAX) from 0 to 32767")
      )
      let long = try Tools.ipc("mq", "send", queue.name, "too long")
      #expect(long.exitStatus == 1)
      #expect(long.standardError.contains("8 bytes exceeds the queue's message size 4"))
      #expect(try queue.attributes().currentMessages == 0)
      #expect(try Tools.ipc("mq", "send", queue.name, "ok").exitStatus == 0)
      let full = try Tools.ipc("mq", "send", queue.name, "--nowait", "more")
      #expect(full.exitStatus == 1)
      #expect(full.standardError.contains("is full; nothing was sent"))
      #expect(try drain(queue) == [POSIX.Message("ok")])
    }
  }

  @Test(arguments: [
    ["mq"], ["mq", "send"], ["mq", "send", "/x"], ["mq", "receive", "/x", "--nowait", "--timeout", "1"],
    ["mq", "create", "/x", "--max-messages", "0"], ["mq", "send", "/x", "--priority", "high", "t"],
    ["mq", "frobnicate", "/x"], ["mq", "stat", "/x", "--bogus"],
  ])
  func usageErrorsExitWithStatus2(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: "ipc mq")
  }

  @Test func theModeIsExactlyTheOneAskedForWhateverTheUmask() throws {
    let made = TestNames.next()
    let existing = TestNames.next()
    defer {
      try? POSIX.MessageQueue.unlink(made)
      try? POSIX.MessageQueue.unlink(existing)
    }
    _ = try POSIX.MessageQueue.create(existing, permissions: Permissions(rawValue: 0o600))
    let script =
      "umask 077; \"$0\" mq create \(made) --mode 0660"
      + " && \"$0\" mq create \(existing) --mode 0600 --open-existing"
    let run = try SpawnedProcess.run("/bin/sh", ["-c", script, Tools.ipc])
    #expect(run.exitStatus == 0, "\(run.standardError)")
    for (name, mode) in [(made, 0o660), (existing, 0o600)] {
      var info = stat()
      let queue = try POSIX.MessageQueue.open(name)
      #expect(fstat(queue.fileDescriptor, &info) == 0 && info.st_mode & 0o777 == mode)
    }
  }

  @Test func anInvalidNameSaysTheRule() throws {
    let run = try Tools.ipc("mq", "create", "orders")
    #expect(run.exitStatus == 1)
    #expect(run.standardError.contains("does not start with '/'"))
  }

  @Test func listShowsPOSIXQueuesOrSaysHowToMountTheirFilesystem() throws {
    try withPOSIXQueue(maxMessages: 2, messageSize: 16) { (queue) throws in
      try queue.send("abc".utf8)
      let list = try Tools.ipc("list")
      #expect(list.exitStatus == 0)
      let mounted =
        (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8))?
        .contains(" /dev/mqueue mqueue ") ?? false
      if mounted {
        let row = list.standardOutput.split(separator: "\n").first { $0.hasPrefix(queue.name + " ") }
        let fields = row?.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "\(geteuid())"
        #expect(fields == [queue.name, user, "0600", "1", "2", "16", "3"], "\(list.standardOutput)")
      } else {
        #expect(list.standardOutput.contains("mount -t mqueue none /dev/mqueue"))
      }
    }
  }
}
