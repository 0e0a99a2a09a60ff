import Glibc
import IPC

/// Writes whole lines with one `write` each, so lines from several processes
/// sharing a terminal never interleave mid-line.
enum Output {
  static func line(_ text: String) { write(text + "\n", to: STDOUT_FILENO) }
  static func error(_ text: String) { write(text + "\n", to: STDERR_FILENO) }

  /// Writes raw bytes to standard output; false (errno set) if they could not all be written.
  static func bytes(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { writeAll($0, to: STDOUT_FILENO) }
  }

  /// Writes a received message's bytes and a newline, after `label` and a tab
  /// if given; a failed write is an error that says the message was consumed.
  static func message(_ bytes: [UInt8], label: String?) throws {
    let prefix = label.map { Array("\($0)\t".utf8) } ?? []
    guard Output.bytes(prefix + bytes + [UInt8(ascii: "\n")]) else {
      throw CommandFailure(
        "a message was taken from the queue but could not be written to standard output: "
          + String(cString: strerror(errno)))
    }
  }

  static func write(_ text: String, to fd: Int32) {
    var text = text
    _ = text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: fd) }
  }

  private static func writeAll(_ buffer: UnsafeRawBufferPointer, to fd: Int32) -> Bool {
    var offset = 0
    while offset < buffer.count {
      let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
      if written < 0 {
        if errno == EINTR { continue }
        return false
      }
      offset += written
    }
    return true
  }
}

/// How the command ends: 0 success, 1 failure, 2 usage.
enum ExitStatus {
  static let success: Int32 = 0
  static let failure: Int32 = 1
  static let usage: Int32 = 2
}

/// A failure that is not an `IPCError` (for example a child process that failed).
struct CommandFailure: Error {
  var message: String
  init(_ message: String) { self.message = message }
}

/// Runs one command: prints `usage` for `--help`, otherwise runs `body` and
/// turns its errors into a message and an exit status.
func run(usage: String, _ arguments: Arguments, _ body: (inout Arguments) throws -> Void) -> Int32 {
  var arguments = arguments
  if arguments.wantsHelp {
    Output.line(usage)
    return ExitStatus.success
  }
  do {
    try body(&arguments)
    return ExitStatus.success
  } catch let error as UsageError {
    Output.error("ipc: \(error.message)\n\n\(usage)")
    return ExitStatus.usage
  } catch let error as IPCError {
    Output.error("ipc: \(error)")
    return ExitStatus.failure
  } catch let error as CommandFailure {
    Output.error("ipc: \(error.message)")
    return ExitStatus.failure
  } catch {
    Output.error("ipc: \(error)")
    return ExitStatus.failure
  }
}

/// Runs a command group such as `ipc msg`: takes the subcommand word and calls
/// its handler. No subcommand is a usage error; `--help` prints `usage`.
func runSubcommand(
  _ group: String, usage: String, _ arguments: Arguments,
  _ handlers: [String: (inout Arguments) throws -> Void]
) -> Int32 {
  var arguments = arguments
  let subcommand = arguments.subcommand()
  if subcommand == nil && !arguments.wantsHelp {
    Output.error(usage)
    return ExitStatus.usage
  }
  return run(usage: usage, arguments) { arguments in
    guard let handler = handlers[subcommand ?? ""] else {
      throw UsageError("unknown \(group) subcommand '\(subcommand ?? "")'")
    }
    try handler(&arguments)
  }
}
