import Foundation
import Testing

@testable import IPC

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

/// Waits up to `timeout` for `condition`, checking every millisecond; whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
  let clock = SuspendingClock()
  let deadline = clock.now.advanced(by: timeout)
  while clock.now < deadline {
    if try condition() { return true }
    usleep(1_000)
  }
  return try condition()
}

/// The wait channel the kernel shows for a thread blocked in `semop`.
let semopWaitChannel = "__do_semtimedop"
