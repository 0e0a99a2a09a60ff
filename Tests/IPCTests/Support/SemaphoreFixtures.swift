import CIPCShims
import Foundation
import IPC
import Synchronization
import Testing

/// Runs `body` with a new private semaphore set that is removed afterwards,
/// also when the body fails.
@discardableResult
func withSemaphoreSet<R>(
  _ values: [Int], permissions: Permissions = .ownerReadWrite,
  _ body: (SystemV.SemaphoreSet) throws -> R
) throws -> R {
  let set = try SystemV.SemaphoreSet.create(values: values, permissions: permissions)
  defer { try? set.remove() }
  return try body(set)
}

/// The async form of ``withSemaphoreSet(_:permissions:_:)``.
@discardableResult
func withSemaphoreSet<R>(
  _ values: [Int], permissions: Permissions = .ownerReadWrite,
  _ body: (SystemV.SemaphoreSet) async throws -> R
) async throws -> R {
  let set = try SystemV.SemaphoreSet.create(values: values, permissions: permissions)
  defer { try? set.remove() }
  return try await body(set)
}

/// Runs `body` with a new POSIX semaphore that is unlinked afterwards, also
/// when the body fails.
@discardableResult
func withPOSIXSemaphore<R>(value: Int = 0, _ body: (POSIX.Semaphore) throws -> R) throws -> R {
  let semaphore = try POSIX.Semaphore.create(TestNames.next("ipc-sem"), value: value)
  defer { try? semaphore.unlink() }
  return try body(semaphore)
}

/// The async form of ``withPOSIXSemaphore(value:_:)``.
@discardableResult
func withPOSIXSemaphore<R>(value: Int = 0, _ body: (POSIX.Semaphore) async throws -> R)
  async throws -> R
{
  let semaphore = try POSIX.Semaphore.create(TestNames.next("ipc-sem"), value: value)
  defer { try? semaphore.unlink() }
  return try await body(semaphore)
}

/// Wait channels of a thread blocked in `semop`/`semtimedop`, as kernel versions name them.
let semopWaitChannels: Set<String> = ["__do_semtimedop", "do_semtimedop"]

/// Wait channels of a thread blocked in `sem_wait` (a futex), as kernel
/// versions name them.
let futexWaitChannels: Set<String> = ["futex_do_wait", "futex_wait_queue", "futex_wait_queue_me"]

/// Wait channels of a thread blocked in `poll`, as kernel versions name them.
let pollWaitChannels: Set<String> = [
  "poll_schedule_timeout.constprop.0", "poll_schedule_timeout", "do_sys_poll",
]

/// Whether thread `tid` of process `pid` (this one by default) sleeps in one
/// of `channels` within `timeout`.
func threadBlocks(
  _ tid: pid_t, of pid: pid_t = getpid(), inAnyOf channels: Set<String>, timeout: Duration = .seconds(10)
) -> Bool {
  eventually(within: timeout) {
    let wchan = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/wchan", encoding: .utf8)
    return wchan.map { channels.contains($0) } ?? false
  }
}

/// For an exit-test child: starts a thread that interrupts the calling thread
/// with SIGUSR1 `count` times, each while it is blocked in one of `channels`,
/// then runs `release` once it is blocked again. The caller then blocks, and
/// afterwards collects the thread's work, so the process does not exit before
/// `release` has finished.
func interruptCallingThread(
  _ count: Int, whileBlockedIn channels: Set<String>, then release: @escaping @Sendable () throws -> Void
) -> BackgroundWork<Void> {
  catchWithoutRestart()
  let (pid, tid) = (getpid(), cipc_gettid())
  return BackgroundWork {
    for _ in 0..<count {
      guard threadBlocks(tid, inAnyOf: channels) else { exit(7) }
      cipc_tgkill(pid, tid, SIGUSR1)
      usleep(20_000)
    }
    guard threadBlocks(tid, inAnyOf: channels) else { exit(8) }
    try release()
  }
}

/// Work on a thread of its own whose result is collected later: the test's
/// side of an exit test that needs the parent to act while the child runs,
/// since the exit test may hold the cooperative pool's few threads meanwhile.
final class BackgroundWork<T: Sendable>: Sendable {
  private let result = Mutex<Result<T, any Error>?>(nil)

  init(_ body: @escaping @Sendable () throws -> T) {
    let thread = Thread { [self] in
      let outcome = Result { try body() }
      result.withLock { $0 = outcome }
    }
    thread.start()
  }

  /// The work's result, waiting up to `timeout` for it to finish.
  func value(timeout: Duration = .seconds(30)) throws -> T {
    _ = eventually(within: timeout) { result.withLock { $0 != nil } }
    guard let outcome = result.withLock({ $0 }) else {
      throw SpawnFailure(message: "background work did not finish within \(timeout)")
    }
    return try outcome.get()
  }
}
