import Foundation
import Testing

@testable import IPC

/// Entry points run in real child processes of the Swift peer
/// (Tests/ProcessPeer): exit statuses, arguments, every kind of object handed
/// over typed, the errors of a wrong or missing one, and a clean start.
@Suite("Entry points in child processes")
struct EntryPointTests {
  @Test func anEntryPointThatReturnsExitsWithZero() throws {
    let peer = try startPeer("return")
    #expect(try peer.child.wait() == .exited(0))
    #expect(peer.child.name == "return")
    #expect(peer.errors.text.isEmpty)
  }

  @Test func anEntryPointThatThrowsExitsWithOneAndPrintsTheError() throws {
    let peer = try startPeer("throw")
    #expect(try peer.child.wait() == .exited(1))
    #expect(
      peer.errors.text
        == "entry point 'throw' (pid \(peer.child.pid)): failed: peer on test failed: thrown on purpose [EINVAL]\n"
    )
  }

  @Test func anUnknownEntryPointExitsWith127NamingThoseThereAre() throws {
    let peer = try startPeer("no-such-entry")
    #expect(try peer.child.wait() == .exited(127))
    #expect(peer.errors.text.contains("this program has no entry point named 'no-such-entry' (it has: "))
    #expect(peer.errors.text.contains("block-queue, block-semaphore"))
  }

  @Test func aProgramThatNeverCalledRunIfChildCannotStartEntryPoints() throws {
    // The peer, told to skip runIfChild(), tries to start one of its own.
    let peer = try runToEnd(Tools.testPeer, ["--without-entry-points"])
    #expect(peer.status == .exited(0))
    #expect(peer.output.contains("has not called EntryPoints.runIfChild()"))
    // Nor can this test process, which has no entry points: nothing is started.
    let error = #expect(throws: IPCError.self) { try ChildProcess.start(entryPoint: "return") }
    #expect(error?.code == .invalidArgument)
  }

  @Test func argumentsReachTheEntryPointAsGiven() throws {
    let peer = try startPeer("arguments", arguments: ["one", "two words", "", "--flag"])
    #expect(try peer.child.wait() == .exited(0))
    #expect(peer.output.text == "one|two words||--flag\n")
  }

  @Test func theHandoverVariablesNeverReachTheChildsOwnChildren() throws {
    let (reader, _) = try AnonymousPipe.make()
    let peer = try startPeer("environment", handing: ["in": reader], arguments: Handover.variables)
    #expect(try peer.child.wait() == .exited(0))
    for variable in Handover.variables { #expect(peer.output.text.contains("\(variable)=<unset>")) }
  }

  @Test func everyKindOfObjectArrivesAsItsOwnType() throws {
    try withOneOfEveryKind { objects in
      let (queue, set, memory) = (objects.queue, objects.set, objects.memory)
      let (posixQueue, semaphore, sharedMemory) = (
        objects.posixQueue, objects.semaphore, objects.sharedMemory
      )
      let fifo = objects.fifo
      let (reader, writer) = try AnonymousPipe.make()
      let peer = try startPeer(
        "describe",
        handing: [
          "a-queue": queue, "b-set": set, "c-memory": memory, "d-posix-queue": posixQueue,
          "e-semaphore": semaphore, "f-shared-memory": sharedMemory, "g-fifo": fifo, "h-reader": reader,
          "i-writer": writer, "j-queue-descriptor": try Inheritance.descriptor(of: posixQueue),
        ])
      #expect(try peer.child.wait() == .exited(0), "\(peer.errors.text)")
      #expect(
        peer.output.text.split(separator: "\n").map(String.init) == [
          "a-queue: SystemV.MessageQueue \(queue.id)",
          "b-set: SystemV.SemaphoreSet \(set.id)",
          "c-memory: SystemV.SharedMemory \(memory.id)",
          "d-posix-queue: POSIX.MessageQueue \(posixQueue.name) read-write",
          "e-semaphore: POSIX.Semaphore \(semaphore.name)",
          "f-shared-memory: POSIX.SharedMemory \(sharedMemory.name)",
          "g-fifo: NamedPipe \(fifo.path)",
          "h-reader: PipeEnd read end",
          "i-writer: PipeEnd write end",
          "j-queue-descriptor: POSIX.MessageQueue \(posixQueue.name) read-write",
        ])
    }
  }

  @Test func aQueueHandedByDescriptorWorksAfterItsNameIsGone() throws {
    let queue = try POSIX.MessageQueue.create(TestNames.next(), maxMessages: 2, messageSize: 16)
    try queue.unlink()  // only open descriptors reach it now
    let handed = try Inheritance.descriptor(of: queue)
    #expect(
      handed.description
        == "POSIX message queue descriptor \(queue.name) (descriptor \(queue.fileDescriptor))")
    let peer = try startPeer("block-posix-queue", handing: ["queue": handed])
    #expect(peer.output.waitFor("blocking on queue \(queue.name)"))
    try queue.send(Array("wake".utf8))
    #expect(try peer.child.wait(timeout: .seconds(10)) == .exited(0))
    #expect(try queue.tryReceive() == nil, "the child took the message")
  }

  @Test func framesCrossBothWaysThroughHandedPipeEnds() throws {
    let (childInput, toChild) = try AnonymousPipe.make()
    let (fromChild, childOutput) = try AnonymousPipe.make()
    let peer = try startPeer("pipe-echo", handing: ["in": childInput, "out": childOutput])
    try childInput.close()
    try childOutput.close()
    for text in ["first", "", String(repeating: "x", count: 3000)] {
      try toChild.send(Array(text.utf8))
      #expect(try fromChild.receive().map { String(decoding: $0, as: UTF8.self) } == text)
    }
    try toChild.close()
    #expect(try fromChild.receive() == nil)
    #expect(try peer.child.wait() == .exited(0))
  }

  @Test func openingAsTheWrongKindOrAMissingNameIsAClearError() throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    let (reader, _) = try AnonymousPipe.make()
    let wrong = try startPeer("open-as", handing: ["queue": queue], arguments: ["queue", "sysv-set"])
    #expect(try wrong.child.wait() == .exited(0))
    #expect(
      wrong.output.text
        == "error: inherit on System V message queue \(queue.id) failed: the parent handed a System V message"
        + " queue (System V message queue \(queue.id)), not a System V semaphore set [EINVAL]\n")
    let missing = try startPeer("open-as", handing: ["queue": queue], arguments: ["jobs", "sysv-queue"])
    #expect(try missing.child.wait() == .exited(0))
    #expect(
      missing.output.text.contains(
        "the parent handed no object named 'jobs' to entry point 'open-as'; it handed queue [ENOENT]"))
    // A descriptor opened as the wrong kind stays for the right one.
    let end = try startPeer("open-as", handing: ["in": reader], arguments: ["in", "posix-queue"])
    #expect(try end.child.wait() == .exited(0))
    #expect(
      end.output.text.contains(
        "the parent handed a pipe end (pipe end (descriptor 4)), not a POSIX message queue"))
  }

  @Test func aRemovedObjectFailsToOpenInTheChild() throws {
    let queue = try SystemV.MessageQueue.create()
    try queue.remove()
    let peer = try startPeer("open-as", handing: ["queue": queue], arguments: ["queue", "sysv-queue"])
    #expect(try peer.child.wait() == .exited(0))
    #expect(peer.output.text.contains("error: msgctl(IPC_STAT) on queue \(queue.id) failed"))
  }

  @Test func badHandoverNamesAndClosedEndsAreRefusedBeforeAnythingStarts() throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    let unnamed = #expect(throws: IPCError.self) { try startPeer("return", handing: ["": queue]) }
    #expect(unnamed?.code == .invalidArgument)
    let (reader, _) = try AnonymousPipe.make()
    try reader.close()
    let closed = #expect(throws: IPCError.self) { try startPeer("return", handing: ["in": reader]) }
    #expect(closed?.code == .badDescriptor)
    let empty = #expect(throws: IPCError.self) { try startPeer("") }
    #expect(empty?.code == .invalidArgument)
  }

  @Test func theHandoverEncodingSurvivesAnyName() throws {
    let objects: [(name: String, inheritance: Inheritance)] = [
      ("a=b;c,d%e", Inheritance(.posixMessageQueue, detail: 2, name: "/q;=,%")),
      ("ünï cödé", Inheritance(.pipeEnd, number: 7, detail: 5, name: "")),
      ("fifo", Inheritance(.namedPipe, name: "/tmp/with space/and\nnewline")),
    ]
    let decoded = try #require(Handover.decode(Handover.encode(objects)))
    #expect(decoded.map(\.name) == objects.map(\.name))
    #expect(decoded.map(\.inheritance) == objects.map(\.inheritance))
    for malformed in ["x", "x=sysv-msg,1,2", "x=nope,1,2,", "x=sysv-msg,one,2,", "%zz=sysv-msg,1,2,"] {
      #expect(Handover.decode(malformed) == nil, "\(malformed)")
    }
  }

  @Test func aHandedDescriptorIsTakenOnceAndThenAlwaysTheSameObject() throws {
    // The child's side, in this process: the context adopts a real pipe end.
    var ends: [Int32] = [-1, -1]
    #expect(pipe(&ends) == 0)
    defer { close(ends[1]) }
    let context = ChildContext(
      entryPoint: "test", arguments: [],
      handed: ["in": Inheritance(.pipeEnd, number: ends[0], detail: PipeEnd.Direction.reading.code)])
    let first = try context.open("in", as: PipeEnd.self)
    #expect(try context.open("in", as: PipeEnd.self) === first)
    #expect(first.fileDescriptor == ends[0])
    #expect(fcntl(ends[0], F_GETFD) & FD_CLOEXEC != 0)
    let other = #expect(throws: IPCError.self) { try context.open("in", as: POSIX.MessageQueue.self) }
    #expect(other?.reason.contains("a pipe end") == true)
  }

  @Test func everyKindIsRemovedOnceThroughWhatItHandsOver() throws {
    let lock = try SystemV.SemaphoreLock.create()
    defer { try? lock.remove() }
    try withOneOfEveryKind { objects in
      for object in objects.all + [lock] {
        let handed = try object.inheritance()
        #expect(try handed.remove(), "\(handed)")
        #expect(try !handed.remove(), "\(handed)")
      }
      #expect(throws: IPCError.self) { try SystemV.SemaphoreSet.open(id: objects.set.id) }
      #expect(throws: IPCError.self) { try POSIX.Semaphore.open(objects.semaphore.name) }
      #expect(!FileManager.default.fileExists(atPath: objects.fifo.path))
    }
  }

  @Test func aFileThatTookTheFIFOsPlaceIsNotRemoved() throws {
    let fifo = try NamedPipe.create(at: "/tmp/ipc-test-\(getpid())-\(UUID().uuidString).fifo")
    let handed = try fifo.inheritance()
    try fifo.remove()
    #expect(FileManager.default.createFile(atPath: fifo.path, contents: Data("kept".utf8)))
    defer { unlink(fifo.path) }
    #expect(try !handed.remove())
    #expect(FileManager.default.contents(atPath: fifo.path) == Data("kept".utf8))
  }

  @Test func removingAnObjectTwiceReportsOnlyTheFirstRemoval() throws {
    let memory = try SystemV.SharedMemory.create(size: 64)
    let region = try memory.attach()  // attached: the segment outlives IPC_RMID
    let handed = try memory.inheritance()
    #expect(try handed.remove())
    #expect(try !handed.remove())
    try region.close()
    let queue = try SystemV.MessageQueue.create()
    #expect(try queue.inheritance().remove())
    #expect(try !queue.inheritance().remove())
    let (reader, _) = try AnonymousPipe.make()
    #expect(try !reader.inheritance().remove())
    let closedQueue = try POSIX.MessageQueue.create(TestNames.next(), maxMessages: 1, messageSize: 8)
    try closedQueue.unlink()
    try closedQueue.close()
    let closed = #expect(throws: IPCError.self) { try Inheritance.descriptor(of: closedQueue) }
    #expect(closed?.code == .badDescriptor)
  }

  @Test(.prompt) func aChildStartsWithNoBlockedOrIgnoredSignals() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      // This process blocks and ignores signals; its child must not inherit either.
      var blocked = sigset_t()
      sigemptyset(&blocked)
      for signal in [SIGUSR1, SIGINT, SIGTERM, __libc_current_sigrtmin()] { sigaddset(&blocked, signal) }
      pthread_sigmask(SIG_BLOCK, &blocked, nil)
      for signal in [SIGUSR2, SIGHUP, SIGPIPE, __libc_current_sigrtmin() + 1] {
        Glibc.signal(signal, SIG_IGN)
      }
      let peer = try startPeer("signals")
      guard try peer.child.wait() == .exited(0) else { exit(3) }
      // "blocked=HEX ignored=HEX caught=HEX", bit n-1 for signal n. Signals 32
      // and 33 are glibc's own (thread cancellation, setxid): posix_spawn
      // leaves them to glibc, and no program may use them.
      var masks: [String: UInt64] = [:]
      for field in peer.output.text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
        let parts = field.split(separator: "=")
        if parts.count == 2 { masks[String(parts[0])] = UInt64(parts[1], radix: 16) }
      }
      let glibcOwn: UInt64 = 0b11 << 31
      guard let blockedMask = masks["blocked"], let ignoredMask = masks["ignored"] else { exit(4) }
      guard blockedMask & ~glibcOwn == 0 else { exit(5) }
      guard ignoredMask & ~glibcOwn == 0 else { exit(6) }
    }
  }

  @Test func aChildStartsEntryPointsOfItsOwnProgramThatOutliveItWhenAsked() throws {
    // No executable named: the child starts a copy of itself, by its path.
    let peer = try startPeer("spawn-orphan")
    #expect(try peer.child.wait() == .exited(0), "\(peer.errors.text)")
    let pid = try #require(firstNumber(in: peer.output.text))
    defer { kill(pid, SIGKILL) }
    usleep(200_000)
    #expect(!hasEnded(pid))
    // ps and top show the program's name, not "exe" (/proc/self/exe).
    let command = try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
    #expect(command == "ipc-test-peer\n")
  }
}
