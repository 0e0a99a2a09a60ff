import Glibc
import IPC
import Testing

/// An async wait started in a task of its own, to cancel while it waits.
final class PendingWait<T: Sendable>: Sendable {
  private let ended: Flag
  private let task: Task<Result<T, IPCError>, Never>

  init(_ body: @escaping @Sendable () async throws(IPCError) -> T) {
    let ended = Flag()
    self.ended = ended
    task = Task { () async -> Result<T, IPCError> in
      defer { ended.set() }
      do throws(IPCError) {
        return .success(try await body())
      } catch {
        return .failure(error)
      }
    }
  }

  func cancel() { task.cancel() }

  /// The wait's outcome, once it has ended.
  var value: Result<T, IPCError> { get async { await task.value } }

  /// Whether the wait ends within `timeout`. If not, runs `unblock` (remove
  /// the set, post the semaphore), so a wait that ignores cancellation fails
  /// the test instead of hanging it.
  func ends(within timeout: Duration = .seconds(60), orElse unblock: () throws -> Void) async rethrows
    -> Bool
  {
    if await eventually(within: timeout, { ended.isSet }) { return true }
    try unblock()
    return false
  }
}

/// Starts `body` in a task of its own, to cancel while it waits.
func pendingWait<T: Sendable>(_ body: @escaping @Sendable () async throws(IPCError) -> T) -> PendingWait<T> {
  PendingWait(body)
}

/// The outcome of `body` run in a task cancelled before it starts.
func outcomeOfCancelledTask<T: Sendable>(_ body: @escaping @Sendable () async throws(IPCError) -> T)
  async -> Result<T, IPCError>
{
  let task = Task { () async -> Result<T, IPCError> in
    withUnsafeCurrentTask { $0?.cancel() }
    do throws(IPCError) {
      return .success(try await body())
    } catch {
      return .failure(error)
    }
  }
  return await task.value
}

/// The code of the error a result failed with; nil for a success.
func failureCode<T>(_ result: Result<T, IPCError>) -> IPCError.Code? {
  if case .failure(let error) = result { error.code } else { nil }
}

/// Runs `sysv_sem_peer op ID OPS` (Tests/Peers): one `semop` by a process
/// written in C.
func peerOperates(on set: SystemV.SemaphoreSet, _ operations: String) throws {
  let peer = try Peers.systemVSemaphore("op", "\(set.id)", operations)
  #expect(peer.exitStatus == 0, "sysv_sem_peer op \(operations): \(peer.standardError)")
}

/// Runs `posix_sem_peer post NAME` (Tests/Peers): one `sem_post` by a process written in C.
func peerPosts(_ semaphore: POSIX.Semaphore) throws {
  let peer = try Peers.posixSemaphore("post", semaphore.name)
  #expect(peer.exitStatus == 0, "posix_sem_peer post: \(peer.standardError)")
}

/// How many threads wait in `sem_wait`/`sem_clockwait` on POSIX semaphore
/// `name`, read from the semaphore itself: glibc keeps the count in the high
/// 32 bits of the 64-bit word that starts its `sem_t` (the value is the low
/// 32), raised before the futex wait and lowered after it, also on EINTR.
/// The POSIX counterpart of `GETNCNT`.
func posixSemaphoreWaiters(_ name: String) -> Int? {
  let descriptor = open("/dev/shm/sem." + name.dropFirst(), O_RDONLY | O_CLOEXEC)
  guard descriptor >= 0 else { return nil }
  defer { close(descriptor) }
  let size = MemoryLayout<sem_t>.size
  guard let mapping = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else {
    return nil
  }
  defer { munmap(mapping, size) }
  return Int(mapping.load(as: UInt64.self) >> 32)
}

/// Each async wait of a System V set and of its lock, as the tests drive
/// them on a set of two semaphores: the values that make it wait, the peer
/// operation that lets it through, and what it leaves.
enum SemaphoreAsyncForm: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case wait, timedWait, waitForZero, timedWaitForZero, perform, timedPerform, lock, timedLock, withLock

  var testDescription: String { rawValue }

  /// Whether this is a form with a timeout.
  var isTimed: Bool { [.timedWait, .timedWaitForZero, .timedPerform, .timedLock].contains(self) }

  /// Values with which the form waits.
  var blockingValues: [Int] {
    switch self {
    case .wait, .timedWait, .lock, .timedLock, .withLock: [0, 0]
    case .waitForZero, .timedWaitForZero: [1, 0]
    // The batch takes from both: semaphore 1 holds it up, and semaphore 0
    // must keep its 1 meanwhile (all or nothing).
    case .perform, .timedPerform: [1, 0]
    }
  }

  /// Values with which the form is done at once.
  var readyValues: [Int] {
    switch self {
    case .wait, .timedWait, .lock, .timedLock, .withLock: [1, 0]
    case .waitForZero, .timedWaitForZero: [0, 0]
    case .perform, .timedPerform: [1, 1]
    }
  }

  /// The `sysv_sem_peer` operation that lets a waiting form through.
  var feed: String {
    switch self {
    case .wait, .timedWait, .lock, .timedLock, .withLock: "0:+1"
    case .waitForZero, .timedWaitForZero: "0:-1"
    case .perform, .timedPerform: "1:+1"
    }
  }

  /// The values once the peer has fed a form that is no longer waiting
  /// (cancelled): the feed alone.
  var fedValues: [Int] {
    switch self {
    case .wait, .timedWait, .lock, .timedLock, .withLock: [1, 0]
    case .waitForZero, .timedWaitForZero: [0, 0]
    case .perform, .timedPerform: [1, 1]
    }
  }

  /// The values after the form was fed and went through: withLock has given
  /// the lock back, lock still holds it.
  var doneValues: [Int] { self == .withLock ? [1, 0] : [0, 0] }

  /// How many processes the kernel counts as waiting where this form waits.
  func waiters(_ set: SystemV.SemaphoreSet) throws(IPCError) -> Int {
    switch self {
    case .wait, .timedWait, .lock, .timedLock, .withLock: try set.waitingToDecrease(at: 0)
    case .waitForZero, .timedWaitForZero: try set.waitingForZero(at: 0)
    case .perform, .timedPerform: try set.waitingToDecrease(at: 1)
    }
  }

  /// The operation a blocking form names in its errors.
  var operation: String { isTimed ? "semtimedop" : "semop" }

  /// Runs the async form; its Bool (timed forms), true for the others. The
  /// body of withLock records that it ran in `ran` and returns whether it saw
  /// the lock held.
  func run(on set: SystemV.SemaphoreSet, timeout: Duration = .seconds(60), ran: Flag = Flag())
    async throws(IPCError) -> Bool
  {
    let lock = try SystemV.SemaphoreLock(set: set)
    switch self {
    case .wait: try await set.wait(0)
    case .timedWait: return try await set.wait(0, timeout: timeout)
    case .waitForZero: try await set.waitForZero(0)
    case .timedWaitForZero: return try await set.waitForZero(0, timeout: timeout)
    case .perform: try await set.perform([.wait(0), .wait(1)])
    case .timedPerform: return try await set.perform([.wait(0), .wait(1)], timeout: timeout)
    case .lock: try await lock.lock()
    case .timedLock: return try await lock.lock(timeout: timeout)
    case .withLock:
      do {
        return try await lock.withLock {
          ran.set()
          await Task.yield()  // the lock is the process's: the body may suspend
          return try set.value(at: 0) == 0
        }
      } catch let error as IPCError {
        throw error
      } catch {
        throw IPCError(code: .invalidArgument, operation: "withLock", object: "test", reason: "\(error)")
      }
    }
    return true
  }
}

/// Starts `/bin/sh` running `peer ARGUMENTS...` `times` times in a row (each
/// run a process of its own, a millisecond or so apart), stopping at the
/// first failure: a feeder that runs beside the test without holding one of
/// its threads, as an exit test might.
func repeatedPeer(_ peer: Result<String, SpawnFailure>, _ arguments: [String], times: Int) throws
  -> SpawnedProcess
{
  let loop = "i=0; while [ $i -lt \(times) ]; do \"$0\" \"$@\" || exit 1; i=$((i + 1)); done"
  return try SpawnedProcess("/bin/sh", ["-c", loop, try peer.get()] + arguments)
}

/// Starts a wait with `start` and cancels it at a varied moment (at once,
/// after a few yields, or up to 1.5 ms later), round after round, until
/// `feeder` has ended and at least `minimumRounds` have run.
///
/// - Parameter unblock: ends a wait that ignores its cancellation, so the
///   test fails instead of hanging.
/// - Returns: how many waits succeeded; each other one must have been cancelled.
func cancelWaitsWhile(
  _ feeder: SpawnedProcess, minimumRounds: Int, unblock: () throws -> Void,
  _ start: @escaping @Sendable () async throws(IPCError) -> Void
) async throws -> Int {
  var (taken, rounds) = (0, 0)
  while feeder.child.isRunning || rounds < minimumRounds {
    rounds += 1
    let waiting = pendingWait(start)
    for _ in 0..<(rounds % 7) { await Task.yield() }
    if rounds % 5 != 0 { try await Task.sleep(for: .microseconds(rounds * 104_729 % 1500)) }
    waiting.cancel()
    guard try await waiting.ends(orElse: unblock) else {
      Issue.record("a cancelled wait did not end")
      break
    }
    switch await waiting.value {
    case .success: taken += 1
    case .failure(let error): #expect(error.code == .cancelled, "\(error)")
    }
  }
  feeder.wait()
  #expect(feeder.exitStatus == 0, "the feeding peer failed: \(feeder.standardError)")
  return taken
}
