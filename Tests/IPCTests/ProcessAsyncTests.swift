import Foundation
import IPC
import Testing

/// The async waits for processes: a child's exit (untimed and timed) and a
/// supervised group's outcome, against real children, cancelled before and
/// during the wait (the child is left running, or unreaped), cancelled as
/// children end (no status lost), and timed.
@Suite("Processes, async")
struct ProcessAsyncTests {
  @Test(.prompt) func bothAsyncWaitsReturnTheStatusOfAChildThatEndsLater() async throws {
    let first = try ChildProcess.start(executable: "sh", arguments: ["-c", "sleep 0.2; exit 3"])
    #expect(try await first.wait() == .exited(3))
    #expect(try await first.wait() == .exited(3))  // reaped once; the same status again
    let second = try ChildProcess.start(executable: "sh", arguments: ["-c", "sleep 0.2; kill -9 $$"])
    #expect(try await second.wait(timeout: .seconds(30)) == .signalled(SIGKILL, coreDumped: false))
    #expect(try second.tryWait() == .signalled(SIGKILL, coreDumped: false))
  }

  @Test(.prompt) func aTimedAsyncWaitReturnsNilWhileTheChildRunsAndLeavesItRunning() async throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["300"])
    defer { _ = try? child.kill() }
    #expect(try await child.wait(timeout: .milliseconds(30)) == nil)
    #expect(try await child.wait(timeout: .zero) == nil)
    #expect(try await child.wait(timeout: .seconds(-1)) == nil)
    #expect(child.isRunning)
    try child.kill()
    #expect(try await child.wait(timeout: .seconds(30)) == .signalled(SIGKILL, coreDumped: false))
  }

  @Test(.prompt) func aTaskCancelledBeforeItsWaitDoesNotReapAChildThatEnded() async throws {
    let child = try ChildProcess.start(executable: "true")
    #expect(await eventually { isZombie(child.pid) })
    for timed in [false, true] {
      let result = await TaskEndings.cancelledBeforehand { () async throws -> ChildProcess.ExitStatus? in
        if timed { return try await child.wait(timeout: .seconds(10)) }
        return try await child.wait()
      }
      #expect(TaskEndings.code(result) == .cancelled)
      #expect(isZombie(child.pid))  // not reaped: the status is still there to take
    }
    #expect(try await child.wait() == .exited(0))
  }

  @Test(.prompt) func cancellingAWaitEndsItAndLeavesTheChildRunning() async throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["300"])
    defer { _ = try? child.kill() }
    for timed in [false, true] {
      let result = await TaskEndings.cancelledWhileWaiting { () async throws -> ChildProcess.ExitStatus? in
        if timed { return try await child.wait(timeout: .seconds(60)) }
        return try await child.wait()
      }
      #expect(result != nil, "the cancelled wait did not end")
      #expect(TaskEndings.code(result) == .cancelled)
      #expect(child.isRunning)
    }
    try child.terminate()
    #expect(try await child.wait() == .signalled(SIGTERM, coreDumped: false))
  }

  @Test(.prompt) func cancellationRacingChildrenEndingLosesNoStatus() async throws {
    for round in 0..<100 {
      let child = try ChildProcess.start(executable: "sh", arguments: ["-c", "exit \(round % 7)"])
      let task = Task { () async throws -> ChildProcess.ExitStatus? in
        if round % 2 == 0 { return try await child.wait() }
        return try await child.wait(timeout: .seconds(30))
      }
      try await Task.sleep(for: .microseconds(Int.random(in: 0...2_000)))
      task.cancel()
      let result = await TaskEndings.result(of: task)
      switch result {
      case .success(let status?)?: #expect(status == .exited(Int32(round % 7)))
      case .failure(let error as IPCError)? where error.code == .cancelled: break
      default: Issue.record("round \(round): \(String(describing: result))")
      }
      // Either way the status is there, exactly once reaped.
      #expect(try await child.wait(timeout: .seconds(30)) == .exited(Int32(round % 7)))
    }
  }

  // MARK: Supervisor

  @Test(.prompt) func aSupervisorsTimedAsyncWaitReturnsNilThenTheOutcome() async throws {
    let supervisor = try Supervisor(onSignal: .ignore)
    // cat ends, with status 0, when the pipe's writer is closed: not before.
    let (reader, writer) = try AnonymousPipe.make()
    _ = try ChildProcess.start(
      executable: "cat", standardInput: .pipe(reader), standardOutput: .null, in: supervisor)
    try reader.close()
    #expect(try await supervisor.wait(timeout: .milliseconds(20)) == nil)
    #expect(supervisor.runningChildren.count == 1)
    try writer.close()
    let outcome = try await supervisor.wait(timeout: .seconds(30))
    #expect(outcome?.isSuccess == true)
    #expect(outcome?.exits.map(\.status) == [.exited(0)])
    #expect(try await supervisor.wait(timeout: .zero)?.isSuccess == true)
  }

  @Test(.prompt) func cancellingASupervisorsWaitLeavesTheGroupRunning() async throws {
    let supervisor = try Supervisor(gracePeriod: .seconds(5), onSignal: .ignore)
    _ = try ChildProcess.start(executable: "sleep", arguments: ["300"], in: supervisor)
    let before = await TaskEndings.cancelledBeforehand { () async throws -> Supervisor.Outcome? in
      try await supervisor.wait(timeout: .seconds(30))
    }
    #expect(TaskEndings.code(before) == .cancelled)
    for timed in [false, true] {
      let during = await TaskEndings.cancelledWhileWaiting { () async throws -> Supervisor.Outcome? in
        if timed { return try await supervisor.wait(timeout: .seconds(60)) }
        return try await supervisor.wait()
      }
      #expect(during != nil, "the cancelled wait did not end")
      #expect(TaskEndings.code(during) == .cancelled)
      #expect(supervisor.runningChildren.count == 1)
    }
    supervisor.stop()
    let outcome = try await supervisor.wait(timeout: .seconds(30))
    #expect(outcome?.wasStopped == true)
  }
}
