import Foundation
import IPC
import Synchronization
import Testing

/// Keys no other test or test process uses: the pid and a counter, so
/// parallel tests and parallel runs never meet.
enum TestKeys {
  private static let counter = Atomic<Int32>(0)

  static func next() -> SystemV.Key {
    // 22 bits of pid (pid_max is at most 2^22) and 8 of counter, under 0x40000000.
    let count = counter.add(1, ordering: .relaxed).newValue
    return SystemV.Key(rawValue: 0x4000_0000 | ((getpid() & 0x3f_ffff) << 8) | (count & 0xff))
  }
}

/// Runs `body` with a new private queue that is removed afterwards, also when
/// the body fails.
func withQueue<R>(
  permissions: Permissions = .ownerReadWrite,
  _ body: (SystemV.MessageQueue) throws -> R
) throws -> R {
  let queue = try SystemV.MessageQueue.create(permissions: permissions)
  defer { try? queue.remove() }
  return try body(queue)
}

/// The async form of ``withQueue(permissions:_:)``.
func withQueue<R>(_ body: (SystemV.MessageQueue) async throws -> R) async throws -> R {
  let queue = try SystemV.MessageQueue.create()
  defer { try? queue.remove() }
  return try await body(queue)
}

/// Every message in `queue`, oldest first, taken without waiting.
func drain(_ queue: SystemV.MessageQueue) throws -> [SystemV.Message] {
  var messages: [SystemV.Message] = []
  while let message = try queue.tryReceive() { messages.append(message) }
  return messages
}

/// Whether `ownership` names this process's user and group as owner and
/// creator, with `permissions`: what any object this process made reports.
func ownedByThisProcess(_ ownership: SystemV.Ownership, permissions: Permissions) -> Bool {
  ownership.permissions == permissions && ownership.ownerUID == getuid() && ownership.ownerGID == getgid()
    && ownership.creatorUID == getuid() && ownership.creatorGID == getgid()
}

/// Hex digits of `bytes`, as the C peer prints them.
func hex(_ bytes: [UInt8]) -> String {
  bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

extension SystemV.Message {
  /// A message from a type and UTF-8 text.
  init(_ type: Int, _ text: String) { self.init(type: type, bytes: Array(text.utf8)) }
}

/// Runs blocking work (kernel waits) on a thread of its own and awaits it, so
/// it never holds one of the few threads of Swift's cooperative pool, which
/// exit tests need to start their child processes.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    let thread = Thread { continuation.resume(with: Result { try body() }) }
    thread.start()
  }
}

/// The outcome of async work as a value, so a test can clean up (and wake
/// peers) before it reports the failure.
func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
  do {
    return .success(try await body())
  } catch {
    return .failure(error)
  }
}

/// POSIX IPC names no other test or test process uses: the pid and a counter.
enum TestNames {
  private static let counter = Atomic<Int>(0)

  static func next(_ prefix: String = "ipc-test") -> String {
    "/\(prefix)-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)"
  }
}

/// Runs `body` with a new POSIX queue that is unlinked afterwards, also when
/// the body fails.
@discardableResult
func withPOSIXQueue<R>(
  maxMessages: Int? = 4, messageSize: Int? = 128,
  _ body: (POSIX.MessageQueue) throws -> R
) throws -> R {
  let queue = try POSIX.MessageQueue.create(
    TestNames.next(), maxMessages: maxMessages, messageSize: messageSize)
  defer { try? queue.unlink() }
  return try body(queue)
}

/// The async form of ``withPOSIXQueue(maxMessages:messageSize:_:)``.
@discardableResult
func withPOSIXQueue<R>(
  maxMessages: Int? = 4, messageSize: Int? = 128,
  _ body: (POSIX.MessageQueue) async throws -> R
) async throws -> R {
  let queue = try POSIX.MessageQueue.create(
    TestNames.next(), maxMessages: maxMessages, messageSize: messageSize)
  defer { try? queue.unlink() }
  return try await body(queue)
}

/// Every message in `queue`, in receive order, taken without waiting.
func drain(_ queue: POSIX.MessageQueue) throws -> [POSIX.Message] {
  var messages: [POSIX.Message] = []
  while let message = try queue.tryReceive() { messages.append(message) }
  return messages
}

extension POSIX.Message {
  /// A message from UTF-8 text and a priority.
  init(_ text: String, priority: Int = 0) { self.init(bytes: Array(text.utf8), priority: priority) }
}
