import Foundation
import IPC
import Synchronization
import Testing

/// The async critical sections of the robust mutex and its condition: a
/// holder in another process, cancellation before and during the wait (the
/// body never runs and the lock is free afterwards, for this process and
/// others), cancellation racing the release, timeouts, and a holder killed
/// with SIGKILL while an async withLock waits.
///
/// Layout: mutex at 0, condition at 64; 256: the child holds the mutex (1),
/// 260: the parent lets it go (1) and is done with it (2), 264: the guarded value (Int64).
@Suite("Shared mutex and condition, async")
struct SharedMutexAsyncTests {
  @Test(.prompt) func withLockWaitsForAHolderInAnotherProcessAndRunsTheBodyAfterIt() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let peer = try startPeer("async-mutex", arguments: [name, "hold-a-while"])
      #expect(try await eventually({ try region.atomicLoad(Int32.self, at: 256) == 1 }))
      let repairs = Recorder()
      let seen = try await mutex.withLock(recover: { repairs.append("repair") }) {
        let value = try region.load(Int64.self, at: 264)
        try region.store(value + 1, at: 264)
        return value
      }
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      #expect(seen == 41)
      #expect(try region.load(Int64.self, at: 264) == 42)
      #expect(repairs.items.isEmpty)
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
    }
  }

  @Test(.prompt) func aTaskCancelledBeforeWithLockRunsNothingAndLeavesTheMutexFree() async throws {
    try await withSharedRegion { (region, _) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      let ran = Recorder()
      let forms: [@Sendable () async throws -> Void] = [
        { try await mutex.withLock(recover: { ran.append("recover") }) { ran.append("body") } },
        { _ = try await mutex.withLock(timeout: .seconds(10), recover: {}) { ran.append("body") } },
        {
          try await mutex.withLock(waitingOn: condition, until: { true }, recover: {}) { ran.append("body") }
        },
        {
          _ = try await mutex.withLock(
            waitingOn: condition, until: { true }, timeout: .seconds(10), recover: {}
          ) {
            ran.append("body")
          }
        },
      ]
      for form in forms {
        let result = await TaskEndings.cancelledBeforehand(form)
        #expect(TaskEndings.code(result) == .cancelled)
        #expect(try mutex.tryLock() == .acquired)
        try mutex.unlock()
      }
      #expect(ran.items.isEmpty)
    }
  }

  @Test(.prompt) func cancellingAWaitForAMutexHeldByAnotherProcessEndsItWithoutTakingTheLock() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      let peer = try startPeer("async-mutex", arguments: [name, "hold-until-released"])
      let ran = Recorder()
      let results = await outcome { () async throws -> [IPCError.Code?] in
        guard try await eventually({ try region.atomicLoad(Int32.self, at: 256) == 1 }) else {
          throw SpawnFailure(message: "the peer never held the mutex")
        }
        let forms: [@Sendable () async throws -> Void] = [
          { try await mutex.withLock(recover: { ran.append("recover") }) { ran.append("body") } },
          { _ = try await mutex.withLock(timeout: .seconds(60), recover: {}) { ran.append("body") } },
          {
            try await mutex.withLock(waitingOn: condition, until: { true }, recover: {}) {
              ran.append("body")
            }
          },
        ]
        var codes: [IPCError.Code?] = []
        for form in forms {
          codes.append(TaskEndings.code(await TaskEndings.cancelledWhileWaiting(form)))
        }
        return codes
      }
      try region.atomicStore(Int32(2), at: 260)  // released, and done with it
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      #expect(try results.get() == [.cancelled, .cancelled, .cancelled])
      #expect(ran.items.isEmpty)
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
    }
  }

  @Test(.prompt) func cancellingAConditionWaitGivesTheMutexBackUnused() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      let ran = Recorder()
      for timed in [false, true] {
        let result = await TaskEndings.cancelledWhileWaiting { () async throws -> Void in
          let never: @Sendable () throws -> Bool = { try region.load(Int64.self, at: 264) == 99 }
          if timed {
            _ = try await mutex.withLock(
              waitingOn: condition, until: never, timeout: .seconds(60), recover: {}
            ) {
              ran.append("body")
            }
          } else {
            try await mutex.withLock(waitingOn: condition, until: never, recover: {}) { ran.append("body") }
          }
        }
        #expect(result != nil, "the cancelled wait did not end")
        #expect(TaskEndings.code(result) == .cancelled)
      }
      #expect(ran.items.isEmpty)
      // Free for another process, at once.
      let peer = try startPeer("async-mutex", arguments: [name, "try-lock"])
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
    }
  }

  @Test(.prompt) func aConditionWaitEndsWhenAnotherProcessChangesTheStateAndSignals() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      let peer = try startPeer("async-mutex", arguments: [name, "count-to-three"])
      let seen = await outcome { () async throws -> [Int64?] in
        let first = try await mutex.withLock(
          waitingOn: condition, until: { try region.load(Int64.self, at: 264) >= 1 }, recover: {}
        ) { try region.load(Int64.self, at: 264) }
        let third = try await mutex.withLock(
          waitingOn: condition, until: { try region.load(Int64.self, at: 264) == 3 }, timeout: .seconds(30),
          recover: {}
        ) { try region.load(Int64.self, at: 264) }
        return [first, third]
      }
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      #expect(try seen.get() == [1, 3])
    }
  }

  @Test(.prompt) func cancellationRacingTheReleaseNeverLeavesTheMutexHeldOrRunsTheBodyUnseen() async throws {
    try await withSharedRegion { (region, _) async throws in
      let mutex = try region.initializeMutex(at: 0)
      var (completed, cancelled) = (0, 0)
      for round in 0..<200 {
        // A thread of this process holds the mutex for a moment; the await
        // is cancelled at a random point around its release.
        let holder = BackgroundWork { () throws -> Void in
          guard try mutex.lock() == .acquired else { throw SpawnFailure(message: "not acquired") }
          try region.atomicStore(Int32(1), at: 256)
          usleep(UInt32.random(in: 0...1_000))
          try mutex.unlock()
        }
        #expect(try await eventually({ try region.atomicLoad(Int32.self, at: 256) == 1 }))
        let task = Task { () async throws -> Int64 in
          try await mutex.withLock(recover: {}) {
            let value = try region.load(Int64.self, at: 264) + 1
            try region.store(value, at: 264)
            return value
          }
        }
        try await Task.sleep(for: .microseconds(Int.random(in: 0...1_000)))
        task.cancel()
        let result = await TaskEndings.result(of: task)
        switch result {
        case .success(let value)?:
          completed += 1
          #expect(value == Int64(completed))
        case .failure(let error as IPCError)? where error.code == .cancelled: cancelled += 1
        default: Issue.record("round \(round): \(String(describing: result))")
        }
        try holder.value()
        try region.atomicStore(Int32(0), at: 256)
        // The body ran exactly for the calls that returned, and the mutex is free.
        #expect(try region.load(Int64.self, at: 264) == Int64(completed))
        #expect(try mutex.tryLock() == .acquired)
        try mutex.unlock()
      }
      print("async withLock race: \(completed) completed, \(cancelled) cancelled")
    }
  }

  @Test(.prompt) func timedFormsReturnNilWithoutRunningTheBody() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      // The predicate stays false: nil, and the mutex is given back.
      let ran = Recorder()
      let notYet: Void? = try await mutex.withLock(
        waitingOn: condition, until: { false }, timeout: .milliseconds(30), recover: {}
      ) { ran.append("body") }
      #expect(notYet == nil)
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
      let peer = try startPeer("async-mutex", arguments: [name, "hold-until-released"])
      let results = await outcome { () async throws -> [Bool?] in
        guard try await eventually({ try region.atomicLoad(Int32.self, at: 256) == 1 }) else {
          throw SpawnFailure(message: "the peer never held the mutex")
        }
        // Held throughout: nil.
        let expired: Void? = try await mutex.withLock(timeout: .milliseconds(30), recover: {}) {
          ran.append("body")
        }
        try region.atomicStore(Int32(1), at: 260)
        // Released in time: the body runs.
        let inTime = try await mutex.withLock(timeout: .seconds(30), recover: {}) { true }
        return [expired.map { true }, inTime]
      }
      // Done with the mutex: the peer checks it is free.
      try? region.atomicStore(Int32(2), at: 260)
      #expect(try await peer.child.wait(timeout: .seconds(60)) == .exited(0), "\(peer.errors.text)")
      #expect(try results.get() == [nil, true])
      #expect(ran.items.isEmpty)
    }
  }

  // MARK: A holder killed with SIGKILL

  @Test(.prompt) func aHolderKilledWhileAnAsyncWithLockWaitsIsRepairedByRecover() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      // The child dies holding the mutex, half-way through an update, once
      // the parent's withLock has had time to start waiting.
      let peer = try startPeer("async-mutex", arguments: [name, "die-holding"])
      let repairs = Recorder()
      let seen = await outcome { () async throws -> Int64 in
        guard try await eventually({ try region.atomicLoad(Int32.self, at: 256) == 1 }) else {
          throw SpawnFailure(message: "the peer never held the mutex")
        }
        return try await mutex.withLock(recover: {
          repairs.append("repair")
          try region.store(Int64(0), at: 264)
        }) { try region.load(Int64.self, at: 264) }
      }
      #expect(
        try await peer.child.wait(timeout: .seconds(60)) == .signalled(SIGKILL, coreDumped: false),
        "\(peer.errors.text)")
      #expect(try seen.get() == 0)
      #expect(repairs.items == ["repair"])
      // Marked consistent: the next lockers see a normal mutex.
      try await mutex.withLock(recover: { repairs.append("again") }) {}
      #expect(repairs.items == ["repair"])
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
    }
  }

  @Test(.prompt) func aHolderKilledDuringAnAsyncConditionWaitIsRepairedAndTheWaitGoesOn() async throws {
    try await withSharedRegion { (region, name) async throws in
      let mutex = try region.initializeMutex(at: 0)
      let condition = try region.initializeCondition(at: 64)
      // The child takes the mutex the parent's wait releases, sets the value
      // and dies holding it: the wait takes it back with EOWNERDEAD.
      let peer = try startPeer("async-mutex", arguments: [name, "die-after-signal"])
      let repairs = Recorder()
      let seen = await outcome { () async throws -> Int64 in
        try await mutex.withLock(
          waitingOn: condition,
          until: {
            try region.atomicStore(Int32(1), at: 256)  // waiting (the mutex is released in the wait)
            return try region.load(Int64.self, at: 264) == 7
          },
          recover: { repairs.append("repair") }
        ) { try region.load(Int64.self, at: 264) }
      }
      #expect(
        try await peer.child.wait(timeout: .seconds(60)) == .signalled(SIGKILL, coreDumped: false),
        "\(peer.errors.text)")
      #expect(try seen.get() == 7)
      #expect(repairs.items == ["repair"])
      #expect(try mutex.tryLock() == .acquired)
      try mutex.unlock()
    }
  }
}
