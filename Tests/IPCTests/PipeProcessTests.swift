import CIPCShims
import Foundation
import IPC
import Synchronization
import Testing

/// Pipes between real processes: several writers, a reader that dies, ends
/// handed to spawned programs (cat, Python), signals during blocking calls,
/// and the SIGPIPE policy, each in a fresh process where it matters.
@Suite("Pipes across processes")
struct PipeProcessTests {
  // MARK: Several writers

  @Test(.prompt) func framesOfTheAtomicLimitFromFourWriterProcessesAreNeverInterleaved() async throws {
    try await withFIFO { fifo in
      let go = fifo.path + ".go"
      defer { unlink(go) }
      let reader = try await fifo.openForReading(nonBlocking: true)
      // Our own write end: the stream does not end between writers; closed after them.
      let keepOpen = try await fifo.openForWriting(nonBlocking: true)
      async let counts = onOwnThread { () throws -> [UInt8: Int] in
        var counts: [UInt8: Int] = [:]
        var ready = 0
        let frameSize = PipeEnd.atomicMessageLimit
        defer { _ = try? reader.readToEnd() }  // on failure, drain so writers can finish
        while let frame = try reader.receive() {
          if frame.isEmpty {
            // Each writer announces itself with an empty frame, then waits for
            // the go file: all four write at once, not one after another.
            ready += 1
            if ready == 4 { _ = FileManager.default.createFile(atPath: go, contents: nil) }
            continue
          }
          guard frame.count == frameSize, let mark = frame.first, frame.allSatisfy({ $0 == mark }) else {
            let marks = Set(frame)
            throw SpawnFailure(message: "a frame of \(frame.count) bytes mixes \(marks.sorted())")
          }
          counts[mark, default: 0] += 1
        }
        return counts
      }
      await withTaskGroup(of: Void.self) { group in
        for mark in UInt8(1)...4 { group.addTask { await framesWriter(fifo.path, mark: mark) } }
      }
      try keepOpen.close()
      let expected = [UInt8: Int](uniqueKeysWithValues: (UInt8(1)...4).map { ($0, framesPerWriter) })
      #expect(try await counts == expected)
    }
  }

  // MARK: A reader that dies

  @Test(.prompt) func aReaderKilledMidStreamGivesTheWriterBrokenPipeAndTheWriterLives() async throws {
    try await withFIFO { fifo in
      // A fresh process with SIGPIPE at its default: were SIGPIPE raised, it would die of it.
      await #expect(processExitsWith: .success) { [path = fifo.path as String] in
        alarm(120)
        signal(SIGPIPE, SIG_DFL)
        let reader = try SpawnedProcess(Tools.ipc, ["fifo", "receive", path])
        let writer = try NamedPipe.open(at: path).openForWriting()  // waits for the reader's open
        try writer.write("first line\n".utf8)
        _ = eventually(within: .seconds(30)) { reader.standardOutput.contains("first line") }
        guard reader.standardOutput == "first line\n" else { exit(3) }
        kill(reader.pid, SIGKILL)
        reader.wait()
        guard reader.terminatingSignal == SIGKILL else { exit(4) }
        let result = Result { () throws(IPCError) in try writer.write("second line\n".utf8) }
        guard case .failure(let error) = result else { exit(5) }
        guard error.code == .brokenPipe, error.reason.contains("the reading end is closed") else { exit(6) }
        guard SignalDisposition.of(SIGPIPE) == .handler else { exit(7) }
      }
    }
  }

  @Test(.prompt) func aDuplexPeerThatClosedIsBrokenPipeWithoutAnySignalHandler() async {
    // Sockets need no handler: MSG_NOSIGNAL alone must keep the process alive.
    await #expect(processExitsWith: .success) {
      signal(SIGPIPE, SIG_DFL)
      let (left, right) = try AnonymousPipe.duplex()
      try right.close()
      let result = Result { () throws(IPCError) in try left.send(Array("anyone?".utf8)) }
      guard case .failure(let error) = result, error.code == .brokenPipe else { exit(3) }
      guard SignalDisposition.of(SIGPIPE) == .standard else { exit(4) }
    }
  }

  // MARK: The SIGPIPE policy

  @Test(.prompt) func theFirstPipeInstallsAHandlerThatChildrenDoNotInherit() async {
    await #expect(processExitsWith: .success) {
      signal(SIGPIPE, SIG_DFL)
      let (reader, writer) = try AnonymousPipe.make()
      // A program started now has SIGPIPE at its default, neither caught nor
      // ignored: bit 13 of neither SigIgn nor SigCgt in its /proc status.
      let cat = try SpawnedProcessWithoutReset.run("/bin/cat", ["/proc/self/status"], stdout: writer)
      try writer.close()
      let status = String(decoding: try reader.readToEnd(), as: UTF8.self)
      guard cat == 0 else { exit(4) }
      for field in ["SigIgn:", "SigCgt:"] {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
          let mask = UInt64(line.dropFirst(field.count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { exit(5) }
        if mask & (1 << (SIGPIPE - 1)) != 0 { exit(6) }
      }
      guard SignalDisposition.of(SIGPIPE) == .handler else { exit(3) }
    }
  }

  @Test(.prompt) func anIgnoredSIGPIPEStaysIgnored() async {
    await #expect(processExitsWith: .success) {
      signal(SIGPIPE, SIG_IGN)
      let (reader, writer) = try AnonymousPipe.make()
      guard SignalDisposition.of(SIGPIPE) == .ignored else { exit(3) }
      try reader.close()
      let result = Result { () throws(IPCError) in try writer.write([1]) }
      guard case .failure(let error) = result, error.code == .brokenPipe else { exit(4) }
    }
  }

  @Test(.prompt) func aHandlerOfTheProgramsOwnIsKeptAndStillRuns() async {
    await #expect(processExitsWith: .success) {
      catchWithoutRestart(SIGPIPE)
      let (reader, writer) = try AnonymousPipe.make()
      try reader.close()
      let result = Result { () throws(IPCError) in try writer.write([1]) }
      guard case .failure(let error) = result, error.code == .brokenPipe else { exit(3) }
      guard signalsCaught == 1 else { exit(4) }  // ours did not replace it
    }
  }

  @Test(.prompt) func theModeIsExactEvenUnderAStrictUmask() async {
    // umask is per process: a fresh one, so no parallel test sees it.
    await #expect(processExitsWith: .success) {
      umask(0o077)
      let path = TestPaths.nextFIFO()
      defer { unlink(path) }
      _ = try NamedPipe.create(at: path, permissions: Permissions(rawValue: 0o644))
      guard let mode = fileMode(path), mode & 0o777 == 0o644 else { exit(3) }
    }
  }

  // MARK: Handing ends to children

  @Test func catReadsOurPipeAsItsInputAndWritesIntoOurPipeAsItsOutput() throws {
    let input = try AnonymousPipe.make()
    let output = try AnonymousPipe.make()
    let cat = try SpawnedProcess("/bin/cat", [], passing: [(input.reader, 0), (output.writer, 1)])
    try input.reader.close()
    try output.writer.close()
    // Were our other ends inherited, cat would hold a write end of its own
    // input and never see its end: the watchdog would have to kill it.
    let finished = watchdog(cat)
    let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let writer = Thread {
      try? input.writer.write(bytes)  // more than a pipe holds: cat must drain while we write
      try? input.writer.close()
    }
    writer.start()
    let echoed = try output.reader.readToEnd()
    finished.set()
    #expect(cat.wait())
    #expect(cat.exitStatus == 0)
    #expect(echoed.count == bytes.count)
    #expect(echoed == bytes)
  }

  static let hasPython =
    (try? SpawnedProcess.run("/usr/bin/env", ["python3", "-c", "pass"]))?.exitStatus == 0

  @Test(.enabled(if: hasPython, "needs python3"))
  func aPythonPeerSpeaksTheFramingBothWays() throws {
    // Python reads frames from its stdin and writes each payload back, upper-cased, framed.
    let script = """
      import struct, sys
      src, dst = sys.stdin.buffer, sys.stdout.buffer
      while True:
          header = src.read(4)
          if not header:
              break
          (length,) = struct.unpack('<I', header)
          dst.write(struct.pack('<I', length) + src.read(length).upper())
          dst.flush()
      """
    let toPython = try AnonymousPipe.make()
    let fromPython = try AnonymousPipe.make()
    let peer = try SpawnedProcess(
      "/usr/bin/env", ["python3", "-c", script], passing: [(toPython.reader, 0), (fromPython.writer, 1)])
    try toPython.reader.close()
    try fromPython.writer.close()
    let finished = watchdog(peer)
    let messages = [Array("hello".utf8), [], Array(String(repeating: "x", count: 10_000).utf8)]
    for message in messages { try toPython.writer.send(message) }
    try toPython.writer.send(Job(id: 5, command: "from swift"))
    try toPython.writer.close()
    for message in messages {
      #expect(
        try fromPython.reader.receive() == Array(String(decoding: message, as: UTF8.self).uppercased().utf8))
    }
    #expect(try fromPython.reader.receive() == Array(#"{"COMMAND":"FROM SWIFT","ID":5}"#.utf8))
    #expect(try fromPython.reader.receive() == nil)
    finished.set()
    #expect(peer.wait())
    #expect(peer.exitStatus == 0, "\(peer.standardError)")
  }

  // MARK: Signals during blocking calls

  @Test(.prompt) func signalsDuringABlockingOpenAndReadAreRetriedAndNothingIsLost() async throws {
    let fromChild = try NamedPipe.create(at: TestPaths.nextFIFO())
    defer { try? fromChild.remove() }
    let toChild = try NamedPipe.create(at: TestPaths.nextFIFO())
    defer { try? toChild.remove() }
    // The child handles SIGUSR1 without SA_RESTART, so open and read report
    // EINTR; it announces its pid and thread id, then blocks in open (waiting
    // for a writer), then in read. The signals go to that thread (tgkill).
    async let child = #expect(processExitsWith: .success) {
      [from = fromChild.path as String, to = toChild.path as String] in
      alarm(120)  // never outlive a failed parent
      catchWithoutRestart()
      let announce = try NamedPipe.open(at: from).openForWriting()
      try announce.send("\(getpid()) \(cipc_gettid())".utf8)
      let reader = try NamedPipe.open(at: to).openForReading()  // interrupted while waiting
      let message = try reader.receive()  // interrupted while waiting
      guard message == Array("after the signals".utf8) else { exit(3) }
      guard signalsCaught >= 4 else { exit(4) }
    }
    let parent = await outcome { () async throws -> [Bool] in
      try await onOwnThread {
        // Not a blocking open: were the child dead, it would wait forever.
        let announcements = try fromChild.openForReading(nonBlocking: true)
        var ready = pollfd(fd: announcements.fileDescriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 60_000) == 1, let text = try announcements.receive() else {
          throw SpawnFailure(message: "the child never announced its pid")
        }
        let thread = try announcedThread(String(decoding: text, as: UTF8.self))
        var blocked = signalTwiceWhileBlocked(thread, inAnyOf: ["wait_for_partner"])
        let writer = try toChild.openForWriting(nonBlocking: true)  // the child is a reader already
        blocked += signalTwiceWhileBlocked(thread, inAnyOf: ["anon_pipe_read", "pipe_read"])
        try writer.send("after the signals".utf8)
        return blocked
      }
    }
    if case .failure = parent {
      // Unblock a child that waits in an open, so it fails instead of hanging.
      _ = try? await toChild.openForWriting(nonBlocking: true)
      _ = try? await fromChild.openForReading(nonBlocking: true)
    }
    _ = await child
    #expect(try parent.get() == [true, true, true, true, true, true])
  }
}
