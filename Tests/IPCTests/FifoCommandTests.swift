import Foundation
import Testing

@testable import IPC

/// `ipc fifo` as a real peer process: with the library on the other side,
/// with `cat` and the shell, several senders at once, and usage errors.
@Suite("The ipc fifo command")
struct FifoCommandTests {
  /// Opens `fifo` for writing as soon as a reader has it open (polling a
  /// non-blocking open), so a reader that never comes fails the test instead of hanging it.
  private func writer(for fifo: NamedPipe, timeout: Duration = .seconds(20)) throws -> PipeEnd {
    let deadline = ContinuousClock.now + timeout
    while true {
      switch Result(catching: { () throws(IPCError) in try fifo.openForWriting(nonBlocking: true) }) {
      case .success(let end):
        return end
      case .failure(let error) where error.code.rawValue == ENXIO && ContinuousClock.now < deadline:
        usleep(2_000)
      case .failure(let error):
        throw error
      }
    }
  }

  @Test func createMakesAFIFOWithExactlyTheModeAndRefusesAnExistingOne() throws {
    let path = TestPaths.nextFIFO()
    defer { unlink(path) }
    let create = try Tools.ipc("fifo", "create", path, "--mode", "0660")
    #expect(create.exitStatus == 0, "\(create.standardError)")
    #expect(isFIFO(path))
    #expect(fileMode(path).map { $0 & 0o777 } == 0o660)  // 0660 despite a umask of 022
    let again = try Tools.ipc("fifo", "create", path)
    #expect(again.exitStatus == 1)
    #expect(again.standardError.contains("a FIFO already exists at \(path)"))
    #expect(again.standardError.contains("[EEXIST]"))
    #expect(fileMode(path).map { $0 & 0o777 } == 0o660)
  }

  @Test func createWithTheDefaultModeGives0600AndRemoveRemovesIt() throws {
    let path = TestPaths.nextFIFO()
    defer { unlink(path) }
    #expect(try Tools.ipc("fifo", "create", path).exitStatus == 0)
    #expect(fileMode(path).map { $0 & 0o777 } == 0o600)
    #expect(try Tools.ipc("fifo", "remove", path).exitStatus == 0)
    #expect(fileMode(path) == nil)
    let missing = try Tools.ipc("fifo", "remove", path)
    #expect(missing.exitStatus == 1)
    #expect(missing.standardError.contains("[ENOENT]"))
  }

  @Test func sendWritesOneLineThatTheLibraryReads() throws {
    try withFIFO { fifo in
      let reader = try fifo.openForReading(nonBlocking: true)
      let send = try Tools.ipc("fifo", "send", fifo.path, "hello, pipe")
      #expect(send.exitStatus == 0, "\(send.standardError)")
      #expect(try reader.readToEnd() == Array("hello, pipe\n".utf8))
    }
  }

  @Test func linesFromFourSendersAtOnceArriveWhole() throws {
    try withFIFO { fifo in
      let reader = try fifo.openForReading(nonBlocking: true)
      let keepOpen = try fifo.openForWriting(nonBlocking: true)
      let letters = ["a", "b", "c", "d"]
      let line = { (letter: String) in String(repeating: letter, count: 4000) }
      let senders = try letters.map { try SpawnedProcess(Tools.ipc, ["fifo", "send", fifo.path, line($0)]) }
      for sender in senders {
        #expect(sender.wait())
        #expect(sender.exitStatus == 0, "\(sender.standardError)")
      }
      try keepOpen.close()
      let lines = String(decoding: try reader.readToEnd(), as: UTF8.self).split(separator: "\n")
      #expect(lines.map(String.init).sorted() == letters.map(line))
    }
  }

  @Test func receivePrintsTheStreamUntilEveryWriterClosed() throws {
    try withFIFO { fifo in
      let receiver = try SpawnedProcess(Tools.ipc, ["fifo", "receive", fifo.path])
      let end = try writer(for: fifo)
      try end.write("first\n".utf8)
      try end.write([0, 1, 2])  // bytes are bytes: printed as they came
      try end.write("\nlast, without a newline".utf8)
      try end.close()
      #expect(receiver.wait())
      #expect(receiver.exitStatus == 0, "\(receiver.standardError)")
      #expect(receiver.standardOutput == "first\n\u{0}\u{1}\u{2}\nlast, without a newline")
    }
  }

  @Test func receiveCountTakesNothingAfterTheLastLine() throws {
    try withFIFO { fifo in
      let receiver = try SpawnedProcess(Tools.ipc, ["fifo", "receive", fifo.path, "--count", "2"])
      let end = try writer(for: fifo)
      try end.write("one\ntwo\nthree\n".utf8)  // one write: all three lines arrive together
      #expect(receiver.wait())
      #expect(receiver.exitStatus == 0, "\(receiver.standardError)")
      #expect(receiver.standardOutput == "one\ntwo\n")
      let reader = try fifo.openForReading(nonBlocking: true)  // our writer keeps the bytes alive
      #expect(try reader.read(upToCount: 100) == Array("three\n".utf8))
    }
  }

  @Test func receiveCountWaitsForWritersOneAfterAnother() throws {
    try withFIFO { fifo in
      let receiver = try SpawnedProcess(Tools.ipc, ["fifo", "receive", fifo.path, "--count", "2"])
      _ = try writer(for: fifo)  // the receiver is there (the end closes at once)
      let first = try Tools.ipc("fifo", "send", fifo.path, "from the first sender")
      let second = try Tools.ipc("fifo", "send", fifo.path, "from the second sender")
      #expect(first.exitStatus == 0 && second.exitStatus == 0)
      #expect(receiver.wait())
      #expect(receiver.standardOutput == "from the first sender\nfrom the second sender\n")
    }
  }

  @Test func catReadsWhatSendWrites() throws {
    try withFIFO { fifo in
      let cat = try SpawnedProcess("/bin/cat", [fifo.path])
      let send = try Tools.ipc("fifo", "send", fifo.path, "for cat")  // waits for cat's open
      #expect(send.exitStatus == 0)
      #expect(cat.wait())
      #expect(cat.standardOutput == "for cat\n")
    }
  }

  @Test func receivePrintsWhatAShellWrites() throws {
    try withFIFO { fifo in
      let receiver = try SpawnedProcess(Tools.ipc, ["fifo", "receive", fifo.path])
      let shell = try SpawnedProcess.run("/bin/sh", ["-c", "printf 'x\\ny\\n' > '\(fifo.path)'"])
      #expect(shell.exitStatus == 0)
      #expect(receiver.wait())
      #expect(receiver.standardOutput == "x\ny\n")
    }
  }

  @Test func sendNowaitWithoutAReaderFailsClearly() throws {
    try withFIFO { fifo in
      let send = try Tools.ipc("fifo", "send", "--nowait", fifo.path, "nobody listens")
      #expect(send.exitStatus == 1)
      #expect(send.standardError.contains("no process has \(fifo.path) open for reading"))
      #expect(send.standardError.contains("[ENXIO]"))
    }
  }

  @Test func aFileThatIsNotAFIFOIsNeitherWrittenNorRemoved() throws {
    let path = TestPaths.nextFIFO()
    #expect(FileManager.default.createFile(atPath: path, contents: Data("precious".utf8)))
    defer { unlink(path) }
    for arguments in [["send", path, "text"], ["receive", path], ["remove", path]] {
      let run = try SpawnedProcess.run(Tools.ipc, ["fifo"] + arguments)
      #expect(run.exitStatus == 1, "\(arguments)")
      #expect(run.standardError.contains("\(path) is not a FIFO (it is a regular file)"), "\(arguments)")
    }
    #expect(FileManager.default.contents(atPath: path) == Data("precious".utf8))
  }

  @Test func usageErrorsExitWith2AndTouchNothing() throws {
    let path = TestPaths.nextFIFO()
    defer { unlink(path) }
    let cases: [[String]] = [
      ["fifo"],
      ["fifo", "frobnicate"],
      ["fifo", "create"],
      ["fifo", "create", path, "--mode", "999"],
      ["fifo", "create", path, "extra"],
      ["fifo", "create", path, "--bogus"],
      ["fifo", "send", path],
      ["fifo", "send", path, "text", "more"],
      ["fifo", "receive", path, "--count", "0"],
      ["fifo", "receive", path, "--count", "x"],
      ["fifo", "receive"],
      ["fifo", "remove"],
    ]
    for arguments in cases {
      expectUsageError(try SpawnedProcess.run(Tools.ipc, arguments), arguments)
    }
    #expect(fileMode(path) == nil)  // no create ran
  }

  @Test(arguments: [["fifo", "--help"], ["fifo", "send", "--help"], ["--help"]])
  func helpExitsWith0AndNamesFifo(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    #expect(run.exitStatus == 0)
    #expect(run.standardOutput.contains("fifo"))
  }

  /// unlink removes a symbolic link, not the FIFO it names: the command says so.
  @Test func removingASymbolicLinkToAFIFOSaysWhatItRemoved() throws {
    let path = NSTemporaryDirectory() + "ipc-test-fifo-\(getpid())-target"
    let link = path + "-link"
    let fifo = try NamedPipe.create(at: path)
    defer { try? fifo.remove() }
    #expect(symlink(path, link) == 0)
    defer { unlink(link) }
    let run = try Tools.ipc("fifo", "remove", link)
    #expect(run.exitStatus == 0)
    #expect(run.standardOutput == "removed the symbolic link '\(link)'; the FIFO '\(path)' is still there\n")
    var info = stat()
    #expect(lstat(link, &info) != 0)
    #expect(try NamedPipe.open(at: path).path == path)
  }
}
