import Glibc
import IPC

/// `ipc fifo ...`: named pipes.
enum FifoCommand {
  static let usage = """
    usage: ipc fifo <subcommand> [options]

      create  PATH [--mode 0600]
              make a named pipe (FIFO) with exactly that mode, whatever the umask
      send    PATH [--nowait] TEXT
              write TEXT and a newline with one write call, so lines of at most
              4096 bytes from several senders never mix; waits until a reader
              has the FIFO open, or with --nowait fails at once if none has
      receive PATH [--count N]
              print what arrives until every writer has closed the FIFO (as cat
              does); with --count, print N lines, from as many writers one after
              another as it takes, and take nothing after the Nth line
      remove  PATH
              remove the FIFO (never a file that is not a FIFO)

    Both sides work with other programs: `cat PATH` reads what `ipc fifo send`
    writes, and `echo hi > PATH` writes what `ipc fifo receive` prints.
    Exit status: 0 success, 1 failure (no reader with --nowait, no FIFO at
    PATH, ...), 2 usage error.
    """

  static func main(_ arguments: Arguments) -> Int32 {
    runSubcommand(
      "fifo", usage: usage, arguments,
      [
        "create": create,
        "send": send,
        "receive": receive,
        "remove": remove,
      ])
  }

  private static func create(_ arguments: inout Arguments) throws {
    let permissions = try MessageCommand.permissionsOption(&arguments)
    let path = try arguments.positionals(min: 1, max: 1, names: "PATH")[0]
    _ = try NamedPipe.create(at: path, permissions: permissions)
  }

  private static func send(_ arguments: inout Arguments) throws {
    let nowait = arguments.flag("--nowait")
    let words = try arguments.positionals(min: 2, max: 2, names: "PATH and TEXT")
    let fifo = try NamedPipe.open(at: words[0])
    let writer = try fifo.openForWriting(nonBlocking: nowait)
    // One buffer, one write: the kernel keeps lines of at most PIPE_BUF bytes whole.
    try writer.write(Array(words[1].utf8) + [UInt8(ascii: "\n")])
    try writer.close()
  }

  private static func receive(_ arguments: inout Arguments) throws {
    let count = try arguments.integer("--count")
    if let count, count < 1 { throw UsageError("--count needs a number of lines ≥ 1, not \(count)") }
    let path = try arguments.positionals(min: 1, max: 1, names: "PATH")[0]
    let fifo = try NamedPipe.open(at: path)
    if let count {
      // N lines may come from several writers one after another: holding a
      // write end of our own, the stream never ends between them, and no
      // writer meets a moment without a reader (as close-and-reopen would give).
      let reader = try fifo.openForReading(nonBlocking: true)
      let keepOpen = try fifo.openForWriting(nonBlocking: true)
      try receiveLines(count, from: reader)
      try keepOpen.close()
    } else {
      let reader = try fifo.openForReading()
      while true {
        let bytes = try reader.read(upToCount: 64 * 1024)
        if bytes.isEmpty { break }
        try show(bytes)
      }
    }
  }

  /// Prints `count` lines, reading one byte at a time: a pipe cannot give
  /// bytes back, so this never takes what follows the last line from other
  /// readers (or from the next `ipc fifo receive`).
  private static func receiveLines(_ count: Int, from reader: PipeEnd) throws {
    var line: [UInt8] = []
    var lines = 0
    var byte: UInt8 = 0
    while lines < count {
      let read = try withUnsafeMutableBytes(of: &byte) { try reader.read(into: $0) }
      guard read == 1 else { throw CommandFailure("\(reader) ended although this command holds a write end") }
      line.append(byte)
      if byte == UInt8(ascii: "\n") {
        try show(line)
        line.removeAll(keepingCapacity: true)
        lines += 1
      }
    }
  }

  private static func show(_ bytes: [UInt8]) throws {
    guard Output.bytes(bytes) else {
      throw CommandFailure(
        "\(bytes.count) bytes were taken from the pipe but could not be written to standard output:"
          + " \(String(cString: strerror(errno)))")
    }
  }

  private static func remove(_ arguments: inout Arguments) throws {
    let path = try arguments.positionals(min: 1, max: 1, names: "PATH")[0]
    try NamedPipe.open(at: path).remove()
  }
}
