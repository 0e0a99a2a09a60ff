import Foundation
import IPC
import Synchronization

/// FIFO paths no other test or test process uses: the temporary folder, the
/// pid and a counter.
enum TestPaths {
  private static let counter = Atomic<Int>(0)

  static func nextFIFO() -> String {
    let count = counter.add(1, ordering: .relaxed).newValue
    return NSTemporaryDirectory() + "ipc-fifo-\(getpid())-\(count)"
  }
}

/// Runs `body` with a new FIFO that is removed afterwards, also when the body fails.
@discardableResult
func withFIFO<R>(
  permissions: Permissions = .ownerReadWrite, _ body: (NamedPipe) throws -> R
) throws -> R {
  let path = TestPaths.nextFIFO()
  let fifo = try NamedPipe.create(at: path, permissions: permissions)
  defer { unlink(path) }
  return try body(fifo)
}

/// The async form of ``withFIFO(permissions:_:)``.
@discardableResult
func withFIFO<R>(_ body: (NamedPipe) async throws -> R) async throws -> R {
  let path = TestPaths.nextFIFO()
  let fifo = try NamedPipe.create(at: path)
  defer { unlink(path) }
  return try await body(fifo)
}

/// The file mode bits of `path` (type and permissions), or nil if it does not exist.
func fileMode(_ path: String) -> mode_t? {
  var status = stat()
  return stat(path, &status) == 0 ? status.st_mode : nil
}

/// Whether `path` is a FIFO.
func isFIFO(_ path: String) -> Bool { fileMode(path).map { $0 & S_IFMT == S_IFIFO } ?? false }

/// The dispositions a process can have for a signal, read with sigaction.
enum SignalDisposition: Equatable {
  case standard, ignored, handler

  static func of(_ signal: Int32) -> SignalDisposition {
    var action = sigaction()
    sigaction(signal, nil, &action)
    switch unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self) {
    case 0: return .standard
    case 1: return .ignored
    default: return .handler
    }
  }
}
