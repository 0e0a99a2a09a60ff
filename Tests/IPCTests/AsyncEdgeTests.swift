import CIPCShims
import Foundation
import Testing

@testable import IPC

/// Edges of the async machinery an adversarial review found: an object closed
/// under an async wait, the program's own code on a waiting thread, and the
/// signal masks of the library's threads.
@Suite("Async edges", .serialized) struct AsyncEdgeTests {
  @Test(.prompt) func closingAPOSIXSemaphoreUnderAnAsyncWaitKeepsItMappedUntilTheWaitEnds() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      let other = try POSIX.Semaphore.open(semaphore.name)
      let waiting = Task { try await semaphore.wait() }
      #expect(await eventually { posixSemaphoreWaiters(semaphore.name) == 1 })
      // Before, sem_close unmapped the sem_t under the waiting thread: SIGSEGV.
      try semaphore.close()
      try other.post()
      try await waiting.value
      #expect(try other.value() == 0)
      #expect(throws: IPCError.self) { try semaphore.post() }
    }
  }

  @Test(.prompt) func aCancelledWaitOnAClosedPOSIXSemaphoreEndsWithoutTouchingUnmappedMemory() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      let waiting = Task { try await semaphore.wait() }
      #expect(await eventually { posixSemaphoreWaiters(semaphore.name) == 1 })
      try semaphore.close()
      waiting.cancel()
      let result = await waiting.result
      #expect(throws: IPCError.self) { try result.get() }
    }
  }

  @Test(.prompt) func aMutexBodyRunsWithoutWakeSignalsAfterItsTaskIsCancelled() async throws {
    try await withSharedRegion { (region, _) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let started = Flag()
      let interrupted = Flag()
      let task = Task {
        try await mutex.withLock(recover: {}) {
          started.set()
          // Three pauses of 100 ms in the kernel; before, the kicker's
          // signals ended each with EINTR once the task was cancelled.
          for _ in 0..<3 {
            var request = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            if nanosleep(&request, nil) != 0 { interrupted.set() }
          }
        }
      }
      // Suspending, not blocking: the task needs a thread of the pool to start.
      try #require(await eventually(within: .seconds(60)) { started.isSet })
      task.cancel()
      try await task.value
      #expect(!interrupted.isSet)
    }
  }

  @Test(.prompt) func waitingThreadsBlockTheProgramsSignalsButNotFaults() async throws {
    try await withPOSIXSemaphore { (semaphore) async throws in
      let waiting = Task { try await semaphore.wait() }
      #expect(await eventually { posixSemaphoreWaiters(semaphore.name) == 1 })
      let masks = threadSignalMasks(named: "ipc-wait")
      try semaphore.post()
      try await waiting.value
      #expect(!masks.isEmpty)
      for mask in masks {
        for fault in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT] { #expect(mask & (1 << (fault - 1)) == 0) }
        for programs in [SIGINT, SIGTERM, SIGUSR1, SIGCHLD] { #expect(mask & (1 << (programs - 1)) != 0) }
        #expect(mask & (1 << (cipc_wake_signal() - 1)) == 0, "the wake signal is unblocked")
      }
    }
  }

  /// The blocked-signal masks (SigBlk of /proc/self/task/*/status) of this
  /// process's threads named `name`.
  private func threadSignalMasks(named name: String) -> [UInt64] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { task -> UInt64? in
      let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
      guard comm.trimmingCharacters(in: .whitespacesAndNewlines) == name,
        let status = try? String(contentsOfFile: "/proc/self/task/\(task)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") })
      else { return nil }
      return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    }
  }
}
