import Glibc
import IPC
import IPCToolSupport

/// `ipc fifo ...`: named pipes.
enum FifoCommand {
  private typealias Options = CommonOptions

  static let count = Option<Int>.integer(
    "--count", 1...Int.max, what: "a number of lines",
    help: "print N lines, from as many writers one after another as it takes, and take nothing after the Nth")
  static let nowait = Flag("--nowait", help: "fail at once if no process has the FIFO open for reading")
  static let path = Positional("PATH", help: "the FIFO's path")

  static let discussion = """
    Both sides work with other programs: `cat PATH` reads what `ipc fifo send` writes, and `echo hi > PATH` writes what `ipc fifo receive` prints.
    Exit status: 0 success, 1 failure (no reader with --nowait, no FIFO at PATH, ...), 2 usage error.
    """

  static let group = CommandGroup(
    path: "ipc fifo", abstract: "Named pipes (FIFOs): a byte stream between processes that know its path.",
    discussion: discussion,
    commands: [
      Command(
        "ipc fifo create", abstract: "make a FIFO with exactly the mode given; fails if PATH exists",
        options: [Options.mode, Options.openExisting], positionals: [path],
        discussion:
          "With --open-existing an existing FIFO is used as it is (never a file that is not a FIFO).",
        body: create),
      Command(
        "ipc fifo send",
        abstract:
          "write TEXT and a newline with one write, so lines of at most 4096 bytes never mix; waits for"
          + " a reader",
        options: [nowait], positionals: [path, Positional("TEXT", help: "the line to write")], body: send),
      Command(
        "ipc fifo receive",
        abstract: "print what arrives until every writer has closed the FIFO (as cat does)",
        options: [count, Options.raw], positionals: [path], body: receive),
      Command(
        "ipc fifo remove", abstract: "remove the FIFO (never a file that is not a FIFO)", positionals: [path],
        aliases: ["unlink"], body: remove),
    ])

  private static func create(_ parsed: ParsedArguments) throws {
    let path = parsed.positionals[0]
    switch Result(catching: { () throws(IPCError) in
      try NamedPipe.create(at: path, permissions: parsed[Options.mode] ?? .ownerReadWrite)
    }) {
    case .success: break
    // NamedPipe.open(at:) checks that what is there is a FIFO.
    case .failure(let error) where error.code == .exists && parsed[Options.openExisting]:
      _ = try NamedPipe.open(at: path)
      try ExistingObject(what: "the FIFO at \(path)").checkMode(parsed[Options.mode], ofFileAt: path)
    case .failure(let error): throw error
    }
  }

  private static func send(_ parsed: ParsedArguments) throws {
    let fifo = try NamedPipe.open(at: parsed.positionals[0])
    let writer = try fifo.openForWriting(nonBlocking: parsed[Self.nowait])
    // One buffer, one write: the kernel keeps lines of at most PIPE_BUF bytes whole.
    try writer.write(Array(parsed.positionals[1].utf8) + [UInt8(ascii: "\n")])
    try writer.close()
  }

  private static func receive(_ parsed: ParsedArguments) throws {
    let fifo = try NamedPipe.open(at: parsed.positionals[0])
    let raw = parsed[Options.raw]
    if let count = parsed[Self.count] {
      // N lines may come from several writers one after another: holding a
      // write end of our own, the stream never ends between them, and no
      // writer meets a moment without a reader (as close-and-reopen would give).
      let reader = try fifo.openForReading(nonBlocking: true)
      let keepOpen = try fifo.openForWriting(nonBlocking: true)
      try receiveLines(count, from: reader, raw: raw)
      try keepOpen.close()
    } else {
      let reader = try fifo.openForReading()
      while true {
        let bytes = try reader.read(upToCount: 64 * 1024)
        if bytes.isEmpty { break }
        try show(bytes, raw: raw)
      }
    }
  }

  /// Prints `count` lines, reading one byte at a time: a pipe cannot give
  /// bytes back, so this never takes what follows the last line from other
  /// readers (or from the next `ipc fifo receive`).
  private static func receiveLines(_ count: Int, from reader: PipeEnd, raw: Bool) throws {
    var line: [UInt8] = []
    var lines = 0
    var byte: UInt8 = 0
    while lines < count {
      let read = try withUnsafeMutableBytes(of: &byte) { try reader.read(into: $0) }
      guard read == 1 else { throw CommandFailure("\(reader) ended although this command holds a write end") }
      line.append(byte)
      if byte == UInt8(ascii: "\n") {
        try show(line, raw: raw)
        line.removeAll(keepingCapacity: true)
        lines += 1
      }
    }
  }

  /// Writes `bytes` as they came, or as hex lines if they are binary bound for a terminal.
  private static func show(_ bytes: [UInt8], raw: Bool) throws {
    let shown =
      Output.showsAsHex(bytes, raw: raw)
      ? Array(
        (([Output.hexNote(bytes.count)] + HexDump.lines(bytes, startingAt: 0)).joined(separator: "\n") + "\n")
          .utf8)
      : bytes
    guard Output.bytes(shown) else {
      throw CommandFailure(
        "\(bytes.count) bytes were taken from the pipe but could not be written to standard output:"
          + " \(String(cString: strerror(errno)))")
    }
  }

  private static func remove(_ parsed: ParsedArguments) throws {
    let path = parsed.positionals[0]
    // unlink removes a symbolic link, not the FIFO it names: say so.
    var info = stat()
    let isLink = lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = isLink ? readlink(path, &target, target.count - 1) : -1
    try NamedPipe.open(at: path).remove()
    if isLink {
      let pointee =
        length > 0
        ? "'\(UsageError.shown(String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)))'"
        : "it names"
      Output.line(
        "removed the symbolic link '\(UsageError.shown(path))'; the FIFO \(pointee) is still there")
    }
  }
}
