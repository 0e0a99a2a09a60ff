import CIPCShims
import Foundation
import IPC
import Synchronization
import Testing

/// POSIX queues shared by real processes: exit tests, the `ipc` command, the
/// C peer and Python's posix_ipc as peers; signals, unlink, notification,
/// async receiving, and the system limits met by an unprivileged user.
@Suite("POSIX message queues across processes")
struct POSIXMessageQueueProcessTests {
  @Test(.prompt) func typedMessagesWithPrioritiesCrossProcesses() async throws {
    try await withPOSIXQueue(maxMessages: 8, messageSize: 256) { (queue) async throws in
      await #expect(processExitsWith: .success) { [name = queue.name as String] in
        let queue = try POSIX.MessageQueue.open(name, access: .writeOnly)
        try queue.send(OrderPlaced(orderID: 1, item: "tea"), priority: 1)
        try queue.send(OrderPlaced(orderID: 2, item: "cake"), priority: 5)
        try queue.send(OrderPlaced(orderID: 3, item: "scone"), priority: 1)
      }
      #expect(try await queue.receive(OrderPlaced.self).orderID == 2)
      #expect(try await queue.receive(OrderPlaced.self).orderID == 1)
      #expect(try await queue.receive(OrderPlaced.self, timeout: .seconds(5))?.orderID == 3)
    }
  }

  @Test func aQueueUnlinkedWhileAnotherProcessWaitsOnItKeepsWorking() throws {
    try withPOSIXQueue { (queue) throws in
      let receiver = try SpawnedProcess(Tools.ipc, ["mq", "receive", queue.name, "--show-priority"])
      #expect(receiver.waitUntilBlocked(in: "wq_sleep"))
      try queue.unlink()
      #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(queue.name) }
      try queue.send("after unlink".utf8, priority: 3)
      #expect(receiver.wait(timeout: .seconds(10)))
      #expect(receiver.exitStatus == 0, "\(receiver.standardError)")
      #expect(receiver.standardOutput == "3\tafter unlink\n")
    }
  }

  @Test(.prompt) func aSignalDuringABlockingReceiveIsRetriedAndTheMessageIsNotLost() async throws {
    let queue = try POSIX.MessageQueue.create(TestNames.next(), maxMessages: 4, messageSize: 64)
    defer { try? queue.unlink() }
    // The child announces its pid and thread id, then blocks in mq_receive;
    // the signal goes to that thread (tgkill), as in the System V test.
    async let child = #expect(processExitsWith: .success) { [name = queue.name as String] in
      alarm(120)
      catchWithoutRestart()
      let queue = try POSIX.MessageQueue.open(name)
      try queue.send("\(getpid()) \(cipc_gettid())".utf8, priority: 9)
      // Wait until the parent took the announcement, so the receive below
      // cannot take it back.
      while try queue.attributes().currentMessages > 0 { usleep(1_000) }
      let message = try queue.receive()
      guard message.text == "after the signals" else { exit(3) }
      guard signalsCaught >= 2 else { exit(4) }
    }
    let parent = await outcome { () async throws -> [Bool] in
      try await onOwnThread {
        guard let announcement = try queue.receive(timeout: .seconds(60)) else {
          throw SpawnFailure(message: "the child never announced its pid")
        }
        let blocked = signalTwiceWhileBlocked(try announcedThread(announcement.text), inAnyOf: ["wq_sleep"])
        try queue.send("after the signals".utf8)
        return blocked
      }
    }
    if case .failure = parent { try? await queue.send("after the signals".utf8) }  // no hang
    _ = await child
    #expect(try parent.get() == [true, true, true])
  }

  @Test(.prompt) func aTimedReceiveKeepsItsDeadlineWhileSignalsKeepArriving() async throws {
    try await withPOSIXQueue { (queue) async throws in
      await #expect(processExitsWith: .success) { [name = queue.name as String] in
        let queue = try POSIX.MessageQueue.open(name)
        try checkTimedWaitKeepsItsDeadlineUnderSignals { try queue.receive(timeout: $0) != nil }
      }
    }
  }

  @Test(.prompt) func arrivalNotificationRunsTheClosureAndCanBeRearmedOrCancelled() async throws {
    try await withPOSIXQueue { (queue) async throws in
      let fired = Recorder()
      let arrived: @Sendable (POSIX.MessageQueue) -> Void = { queue in
        fired.append((try? queue.tryReceive())?.text ?? "nothing")
      }
      func waitForFired(_ count: Int) async throws -> [String] {
        for _ in 0..<1000 where fired.items.count < count {
          try await Task.sleep(for: .milliseconds(10))
        }
        return fired.items
      }
      try queue.notifyOnArrival(arrived)
      let busy = #expect(throws: IPCError.self) { try queue.notifyOnArrival(arrived) }
      #expect(busy?.code == .busy)
      #expect(try Tools.ipc("mq", "send", queue.name, "first").exitStatus == 0)
      #expect(try await waitForFired(1) == ["first"])
      // One-shot: a second message does not fire until re-armed.
      #expect(try Tools.ipc("mq", "send", queue.name, "unseen").exitStatus == 0)
      try await Task.sleep(for: .milliseconds(100))
      #expect(fired.items.count == 1)
      #expect(try await queue.receive().text == "unseen")
      try queue.notifyOnArrival(arrived)
      #expect(try Tools.ipc("mq", "send", queue.name, "second").exitStatus == 0)
      #expect(try await waitForFired(2) == ["first", "second"])
      try queue.notifyOnArrival(arrived)
      if let pid = notifyPID(of: queue.name) { #expect(pid == "\(getpid())") }
      try queue.cancelNotification()
      // The kernel's registration is gone, not just the handler: another
      // process may register now.
      if let pid = notifyPID(of: queue.name) { #expect(pid == "0") }
      #expect(try Tools.ipc("mq", "send", queue.name, "after cancel").exitStatus == 0)
      try await Task.sleep(for: .milliseconds(100))
      #expect(fired.items.count == 2)
      #expect(try await queue.receive().text == "after cancel")
    }
  }

  @Test(.prompt) func asyncMessagesArriveFromAnotherProcessWithoutHoldingPoolThreads() async throws {
    // More iterators wait at once on empty queues than the cooperative pool
    // has threads (one per core). Had any blocked a thread, the others, and
    // the exit test's own spawning, could not proceed.
    let queues = try (0...ProcessInfo.processInfo.activeProcessorCount).map { _ in
      try POSIX.MessageQueue.create(TestNames.next(), maxMessages: 4, messageSize: 64)
    }
    defer { for queue in queues { try? queue.unlink() } }
    let received = await outcome {
      try await withThrowingTaskGroup(of: [String].self) { group in
        for queue in queues {
          group.addTask {
            var texts: [String] = []
            for try await message in queue.messages() {
              texts.append("\(message.priority):\(message.text)")
              if texts.count == 2 { break }
            }
            return texts
          }
        }
        try await Task.sleep(for: .milliseconds(100))  // let all three wait
        await #expect(processExitsWith: .success) { [names = queues.map(\.name) as [String]] in
          for name in names {
            let queue = try POSIX.MessageQueue.open(name, access: .writeOnly)
            try queue.send("one".utf8, priority: 1)
            usleep(20_000)
            try queue.send("two".utf8, priority: 2)
          }
        }
        var all: [[String]] = []
        // Under load both may be queued before the first receive: then the
        // higher priority comes first, as it should. Compare as sets.
        for try await texts in group { all.append(texts.sorted()) }
        return all
      }
    }
    #expect(try received.get() == Array(repeating: ["1:one", "2:two"], count: queues.count))
  }

  @Test(.prompt) func closingTheQueueEndsAWaitingIteratorWithAnError() async throws {
    let queue = try POSIX.MessageQueue.create(TestNames.next(), maxMessages: 2, messageSize: 16)
    defer { try? POSIX.MessageQueue.unlink(queue.name) }
    let iteration = Task { () async -> IPCError? in
      do {
        for try await _ in queue.messages() {}
        return nil
      } catch {
        return error as? IPCError
      }
    }
    try await Task.sleep(for: .milliseconds(50))
    try queue.close()
    let error = await iteration.value
    #expect(error?.code == .badDescriptor)
    #expect(error?.reason.contains("was closed") == true)
  }

  @Test(.prompt) func cancellingTheTaskEndsTheAsyncSequenceCleanly() async throws {
    try await withPOSIXQueue { (queue) async throws in
      let iteration = Task {
        var count = 0
        for try await _ in queue.messages() { count += 1 }
        return count
      }
      try await Task.sleep(for: .milliseconds(50))
      iteration.cancel()
      #expect(try await iteration.value == 0)
      // Nothing was consumed by the cancelled wait.
      try await queue.send("kept".utf8)
      #expect(try await queue.receive().text == "kept")
    }
  }

  // MARK: System limits, met by an unprivileged user

  private static let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups"]

  @Test(.enabled(if: getuid() == 0, "needs root to run a peer as another user"))
  func limitsAboveMsgMaxAndMsgsizeMaxNameTheFileAndTheValue() throws {
    let limits = POSIX.MessageQueue.Limits.current()
    let name = TestNames.next()
    defer { try? POSIX.MessageQueue.unlink(name) }
    let tooMany = try SpawnedProcess.run(
      "/usr/bin/setpriv",
      Self.asNobody + [Tools.ipc, "mq", "create", name, "--max-messages", "\(limits.maxMessages + 1)"])
    #expect(tooMany.exitStatus == 1)
    #expect(tooMany.standardError.contains("exceeds msg_max \(limits.maxMessages)"))
    #expect(tooMany.standardError.contains("/proc/sys/fs/mqueue/msg_max"))
    let tooLarge = try SpawnedProcess.run(
      "/usr/bin/setpriv",
      Self.asNobody + [
        Tools.ipc, "mq", "create", name, "--max-messages", "1", "--message-size",
        "\(limits.maxMessageSize + 1)",
      ])
    #expect(tooLarge.exitStatus == 1)
    #expect(tooLarge.standardError.contains("exceeds msgsize_max \(limits.maxMessageSize)"))
    #expect(tooLarge.standardError.contains("/proc/sys/fs/mqueue/msgsize_max"))
    let error = #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
    #expect(error?.code == .notFound)
  }

  @Test(.enabled(if: getuid() == 0, "needs root for a private IPC namespace"))
  func moreQueuesThanQueuesMaxIsAnErrorNamingTheLimit() throws {
    // A private IPC namespace has its own queues and queues_max, so lowering
    // it there disturbs nothing else; its queues vanish with it.
    let script = """
      echo 2 > /proc/sys/fs/mqueue/queues_max || exit 9
      for name in /a /b /c; do
        setpriv --reuid=65534 --regid=65534 --clear-groups "$0" mq create $name || exit 0
      done
      exit 8
      """
    let run = try SpawnedProcess.run("/usr/bin/env", ["unshare", "--ipc", "sh", "-c", script, Tools.ipc])
    #expect(run.exitStatus == 0, "\(run.standardError)")
    #expect(run.standardError.contains("limit of 2 message queues is reached"))
    #expect(run.standardError.contains("/proc/sys/fs/mqueue/queues_max"))
    #expect(run.standardError.contains("[ENOSPC]"))
  }

  @Test func aQueueBeyondRlimitMsgqueueIsAnErrorNamingTheLimit() throws {
    let name = TestNames.next()
    defer { try? POSIX.MessageQueue.unlink(name) }
    let run = try SpawnedProcess.run(
      "/usr/bin/env",
      [
        "prlimit", "--msgqueue=1000:1000", Tools.ipc, "mq", "create", name, "--max-messages", "10",
        "--message-size", "1024",
      ])
    #expect(run.exitStatus == 1)
    #expect(run.standardError.contains("RLIMIT_MSGQUEUE (1000 bytes, ulimit -q)"), "\(run.standardError)")
    #expect(run.standardError.contains("[EMFILE]"))
    #expect(throws: IPCError.self) { try POSIX.MessageQueue.open(name) }
  }

  @Test(.enabled(if: getuid() == 0, "needs root to run a peer as another user"))
  func anotherUserIsHeldToTheQueuePermissions() throws {
    try withPOSIXQueue { (queue) throws in
      try queue.send("private".utf8)
      let receive = try SpawnedProcess.run(
        "/usr/bin/setpriv", Self.asNobody + [Tools.ipc, "mq", "receive", queue.name, "--nowait"])
      #expect(receive.exitStatus == 1)
      #expect(receive.standardError.contains("permissions do not allow this access"))
      #expect(receive.standardError.contains("[EACCES]"))
      let unlink = try SpawnedProcess.run(
        "/usr/bin/setpriv", Self.asNobody + [Tools.ipc, "mq", "unlink", queue.name])
      #expect(unlink.exitStatus == 1)
      #expect(try drain(queue) == [POSIX.Message("private")])
    }
  }
}
