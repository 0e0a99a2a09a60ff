import Glibc
import IPC
import Synchronization

/// Writes whole lines with one `write` each, so lines from several processes
/// sharing a terminal never interleave mid-line.
enum Output {
  static func line(_ text: String) {
    if !write(text + "\n", to: STDOUT_FILENO) { recordFailedWrite() }
  }

  /// Why a write to standard output failed, if one did: `ipc` then exits 1
  /// however the command went, so a full disk or a closed pipe is never a success.
  static let failedWrite = Mutex<String?>(nil)

  /// Records the first failed write to standard output, from `errno`.
  static func recordFailedWrite() {
    let reason = String(cString: strerror(errno))
    failedWrite.withLock { if $0 == nil { $0 = reason } }
  }
  static func error(_ text: String) { write(text + "\n", to: STDERR_FILENO) }

  /// Prints the id of the object `what` ("segment"), which this command made if
  /// `remove` is given. When nobody can see its id a private object would be
  /// lost, so it is removed and the failure says so; an opened one is left alone.
  static func newID(_ id: some BinaryInteger, of what: String, remove: (() throws -> Void)?) throws {
    guard let remove else { return line("\(id)") }
    guard !write("\(id)\n", to: STDOUT_FILENO) else { return }
    let reason = String(cString: strerror(errno))
    var outcome = "the new \(what) \(id) was removed"
    do { try remove() } catch {
      outcome =
        "and removing the new \(what) \(id) failed too: \((error as? IPCError).map(ErrorText.describe) ?? "\(error)")"
    }
    throw CommandFailure("cannot write the id to standard output: \(reason); \(outcome)")
  }

  /// Writes raw bytes to standard output; false (errno set) if they could not all be written.
  static func bytes(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { writeAll($0, to: STDOUT_FILENO) }
  }

  /// What happens to a message whose bytes cannot be written to standard output.
  enum Source {
    /// Peeked: it is still in the queue.
    case peeked
    /// Taken from the queue: `putBack` sends it again and says where it went
    /// ("put back at the end of queue 3, type 1"), or throws.
    case taken(putBack: () throws -> String)
  }

  /// Writes a received message's bytes and a newline, after `label` and a tab
  /// if given; binary bytes bound for a terminal are shown as hex unless
  /// `raw`. A message taken from a queue is never lost without a word: when
  /// its write fails it is put back in the queue, or, if that fails too,
  /// written to standard error, and the command fails saying which.
  static func message(_ bytes: [UInt8], label: String?, raw: Bool, from source: Source) throws {
    let prefix = label.map { Array("\($0)\t".utf8) } ?? []
    let shown: [UInt8]
    if showsAsHex(bytes, raw: raw) {
      shown =
        prefix
        + Array(
          (hexNote(bytes.count) + "\n" + HexDump.lines(bytes, startingAt: 0).joined(separator: "\n")).utf8)
    } else {
      shown = prefix + bytes
    }
    guard !Output.bytes(shown + [UInt8(ascii: "\n")]) else { return }
    let reason = "the message could not be written to standard output: " + String(cString: strerror(errno))
    guard case .taken(let putBack) = source else {
      throw CommandFailure(reason + "; it is still in the queue")
    }
    let whereItWent: String
    do {
      whereItWent = try putBack()
    } catch {
      // Not back in the queue: the bytes go to standard error, as hex.
      let why =
        (error as? IPCError).map(ErrorText.describe) ?? (error as? CommandFailure)?.message ?? "\(error)"
      Output.error(
        reason + "; putting it back failed too (\(why)); its \(bytes.count) bytes follow as hex:")
      HexDump.lines(bytes, startingAt: 0).forEach(Output.error)
      throw CommandFailure("the message taken from the queue is shown above on standard error")
    }
    throw CommandFailure(reason + "; it was " + whereItWent)
  }

  /// The line before binary shown as hex on a terminal, the same for every command.
  static func hexNote(_ count: Int) -> String {
    "(\(count) bytes of binary shown as hex; --raw writes them as they are)"
  }

  /// Whether standard output is a terminal: binary written there is shown as hex.
  static let isTerminal = isatty(STDOUT_FILENO) == 1

  /// Whether `bytes` are shown as hex: binary bound for a terminal, unless `raw`.
  static func showsAsHex(_ bytes: [UInt8], raw: Bool) -> Bool {
    !raw && isTerminal && !isText(bytes)
  }

  /// Whether `bytes` are text a terminal shows as it is: valid UTF-8 without
  /// control characters other than tab, newline and carriage return.
  static func isText(_ bytes: [UInt8]) -> Bool {
    let controls = bytes.contains { ($0 < 0x20 && $0 != 0x09 && $0 != 0x0a && $0 != 0x0d) || $0 == 0x7f }
    return !controls && String(validating: bytes, as: UTF8.self) != nil
  }

  /// Writes all of `text`; false (errno set) if it could not.
  @discardableResult
  static func write(_ text: String, to fd: Int32) -> Bool {
    var text = text
    return text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: fd) }
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
