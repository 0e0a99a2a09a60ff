import Foundation
import IPC
import Testing

/// Supervisors with real children of the Swift peer: success, the first
/// failure stopping the rest, the grace period, objects removed on every path,
/// and a parent stopped by a signal or killed outright.
@Suite("Supervisors")
struct SupervisorTests {
  @Test func childrenThatSucceedEndTheGroupAndItsObjectsAreRemoved() throws {
    let supervisor = try Supervisor(onSignal: .ignore)
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    try supervisor.removeWhenFinished(queue)
    let first = try startPeer("return", in: supervisor)
    let second = try startPeer("arguments", arguments: ["x"], in: supervisor)
    let outcome = supervisor.wait()
    #expect(outcome.isSuccess, "\(outcome)")
    #expect(outcome.exitCode == 0)
    #expect(outcome.exits.map(\.name) == ["return", "arguments"])
    #expect(outcome.exits.map(\.pid) == [first.child.pid, second.child.pid])
    #expect(outcome.exits.allSatisfy { $0.status == .exited(0) && !$0.wasStopped })
    #expect(outcome.description == "2 of 2 children exited with status 0")
    #expect(!systemVExists(queue.id, in: "msg"))
    // The children's own handles agree, and a finished group takes no more.
    #expect(try first.child.wait() == .exited(0))
    #expect(supervisor.tryWait()?.isSuccess == true)
    let late = #expect(throws: IPCError.self) { try startPeer("return", in: supervisor) }
    #expect(late?.reason.contains("the supervisor has finished") == true)
    let register = #expect(throws: IPCError.self) { try supervisor.removeWhenFinished(queue) }
    #expect(register?.reason.contains("already finished") == true)
  }

  @Test func theFirstFailureStopsTheOthersAndRemovesTheObjects() throws {
    let supervisor = try Supervisor(onSignal: .ignore)
    let set = try SystemV.SemaphoreSet.create(values: [0])
    defer { try? set.remove() }
    try supervisor.removeWhenFinished(set)
    let sleepers = try (0..<2).map { _ in
      try startPeer("block-semaphore", handing: ["set": set], in: supervisor)
    }
    for sleeper in sleepers { #expect(sleeper.output.waitFor("blocking on set")) }
    let failing = try startPeer("exit", arguments: ["3"], in: supervisor)
    let start = ContinuousClock.now
    // Nobody waits: the watcher thread stops the group by itself.
    for sleeper in sleepers {
      #expect(try sleeper.child.wait(timeout: .seconds(10)) == .signalled(SIGTERM, coreDumped: false))
    }
    let outcome = supervisor.wait()
    #expect(ContinuousClock.now - start < .seconds(5))
    #expect(outcome.firstFailure?.pid == failing.child.pid)
    #expect(outcome.firstFailure?.status == .exited(3))
    #expect(outcome.exitCode == 3)
    #expect(!outcome.isSuccess)
    #expect(outcome.exits.filter(\.wasStopped).count == 2)
    #expect(outcome.exits.filter(\.isFailure).map(\.name) == ["exit"])
    #expect(outcome.firstFailure?.description == "exit (pid \(failing.child.pid)) exited with status 3")
    #expect(
      outcome.exits.first?.description
        == "block-semaphore (pid \(sleepers[0].child.pid)) killed by SIGTERM (signal 15), stopped by the supervisor"
    )
    #expect(!systemVExists(set.id, in: "sem"))
  }

  @Test func aChildThatIgnoresSIGTERMGetsSIGKILLAfterTheGracePeriod() throws {
    let supervisor = try Supervisor(gracePeriod: .milliseconds(300), onSignal: .ignore)
    let stubborn = try startPeer("stubborn", in: supervisor)
    #expect(stubborn.output.waitFor("stubborn"))
    let start = ContinuousClock.now
    supervisor.stop()
    let outcome = try #require(supervisor.wait(timeout: .seconds(20)))
    #expect(ContinuousClock.now - start >= .milliseconds(300))
    #expect(outcome.exits.first?.status == .signalled(SIGKILL, coreDumped: false))
    #expect(outcome.exits.first?.wasStopped == true)
    #expect(outcome.wasStopped)
    #expect(outcome.firstFailure == nil)
    #expect(outcome.description.hasPrefix("stopped on request"))
  }

  @Test(.prompt) func waitingHasATimedANonBlockingAndAnAsyncForm() async throws {
    let supervisor = try Supervisor(onSignal: .ignore)
    let sleeper = try startPeer("sleep", arguments: ["1"], in: supervisor)
    #expect(supervisor.tryWait() == nil)
    // The blocking timed form, from synchronous code (async code picks the async form).
    let blockingWait = { (timeout: Duration) in supervisor.wait(timeout: timeout) }
    #expect(blockingWait(.milliseconds(20)) == nil)
    #expect(blockingWait(.milliseconds(-1)) == nil)
    let outcome = try await supervisor.wait()
    #expect(outcome.exits.map(\.pid) == [sleeper.child.pid])
    #expect(outcome.isSuccess)
  }

  @Test(.prompt) func cancellingAnAsyncWaitLeavesTheGroupRunning() async throws {
    let supervisor = try Supervisor(onSignal: .ignore)
    _ = try startPeer("sleep", arguments: ["300"], in: supervisor)
    let waiter = Task { try await supervisor.wait() }
    try await Task.sleep(for: .milliseconds(50))
    waiter.cancel()
    let error = await #expect(throws: IPCError.self) { try await waiter.value }
    #expect(error?.code == .cancelled)
    #expect(supervisor.runningChildren.first?.isRunning == true)
    supervisor.stop()
    #expect(try await supervisor.wait().exits.first?.status == .signalled(SIGTERM, coreDumped: false))
  }

  @Test func releasingTheSupervisorStopsItsChildrenAndRemovesItsObjects() throws {
    let queue = try SystemV.MessageQueue.create()
    defer { try? queue.remove() }
    let child: ChildProcess
    do {
      let supervisor = try Supervisor(onSignal: .ignore)
      try supervisor.removeWhenFinished(queue)
      child = try startPeer("block-queue", handing: ["queue": queue], in: supervisor).child
    }
    #expect(try child.wait(timeout: .seconds(10)) == .signalled(SIGTERM, coreDumped: false))
    #expect(eventually(every: .milliseconds(5)) { !systemVExists(queue.id, in: "msg") })
  }

  @Test func badRegistrationsAndGracePeriodsAreRefused() throws {
    let negative = #expect(throws: IPCError.self) { try Supervisor(gracePeriod: .seconds(-1)) }
    #expect(negative?.code == .invalidArgument)
    let supervisor = try Supervisor(onSignal: .ignore)
    let (reader, _) = try AnonymousPipe.make()
    let end = #expect(throws: IPCError.self) { try supervisor.removeWhenFinished(reader) }
    #expect(end?.reason.contains("a pipe end has no name to remove") == true)
    #expect(supervisor.wait().exits.isEmpty)
  }

  @Test func aChildKilledByASignalFailsTheGroupWithTheShellStatus() throws {
    let supervisor = try Supervisor(onSignal: .ignore)
    _ = try startPeer("raise", arguments: ["\(SIGUSR1)"], in: supervisor)
    let outcome = supervisor.wait()
    #expect(outcome.firstFailure?.status == .signalled(SIGUSR1, coreDumped: false))
    #expect(outcome.exitCode == 128 + SIGUSR1)
  }

  // MARK: The parent's end

  @Test func aParentKilledWithSIGKILLLeavesNoChildAndNoObject() throws {
    let (parent, _, supervised) = try startSupervisingParent()
    defer { supervised.removeLeftovers() }
    #expect(supervised.children.count == 5)
    #expect(!supervised.objectsGone)
    try parent.kill()
    #expect(try parent.wait() == .signalled(SIGKILL, coreDumped: false))
    #expect(waitUntilEnded(supervised.children), "children outlived their parent")
    #expect(
      eventually(every: .milliseconds(5)) { supervised.objectsGone },
      "the children did not remove the registered objects")
  }

  @Test func aParentThatExitsWithoutWaitingStopsItsGroupAndRemovesItsObjects() throws {
    let peer = try startPeer("exit-early")
    #expect(try peer.child.wait() == .exited(0), "\(peer.errors.text)")
    let numbers = peer.output.text.split(whereSeparator: { !$0.isNumber }).compactMap { Int32($0) }
    let (queue, sleeper) = try (#require(numbers.first), #require(numbers.dropFirst().first))
    defer {
      msgctl(queue, IPC_RMID, nil)
      kill(sleeper, SIGKILL)
    }
    #expect(!systemVExists(queue, in: "msg"), "queue \(queue) left behind")
    #expect(waitUntilEnded([sleeper]), "the group's child outlived the exit")
  }

  @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
  func aSignalToTheParentStopsTheGroupAndEndsItByTheSameSignal(_ signal: Int32) throws {
    let (parent, output, supervised) = try startSupervisingParent()
    defer { supervised.removeLeftovers() }
    try parent.send(signal)
    #expect(try parent.wait(timeout: .seconds(60)) == .signalled(signal, coreDumped: false))
    #expect(supervised.children.allSatisfy(hasEnded))
    #expect(supervised.objectsGone)
    #expect(!output.text.contains("outcome"), "the parent went on after the signal")
  }

  @Test(arguments: 1...5)
  func aCtrlCToTheWholeGroupEndsTheParentByTheSignal(_ run: Int) throws {
    // As a terminal sends it: to the parent and its children at once, which
    // then die of it too. Their deaths must not hide the parent's signal.
    let (parent, _, supervised) = try startSupervisingParent(ownGroup: true)
    defer { supervised.removeLeftovers() }
    kill(-parent.pid, SIGINT)
    #expect(try parent.wait(timeout: .seconds(60)) == .signalled(SIGINT, coreDumped: false), "run \(run)")
    #expect(supervised.objectsGone)
    #expect(waitUntilEnded(supervised.children))
  }

  @Test func aSignalTakenLateStillStopsTheGroupAsASignal() throws {
    // The parent takes its SIGINT only after its children died of theirs.
    let (parent, output, supervised) = try startSupervisingParent(["stop", "held"], ownGroup: true)
    defer { supervised.removeLeftovers() }
    kill(-parent.pid, SIGINT)
    #expect(try parent.wait(timeout: .seconds(60)) == .exited(128 + SIGINT))
    #expect(output.text.contains("outcome: stopped by SIGINT;"), "\(output.text)")
    #expect(supervised.objectsGone)
  }

  @Test func withTheStopPolicyTheParentSeesTheSignalInTheOutcome() throws {
    let (parent, output, supervised) = try startSupervisingParent(["stop"])
    defer { supervised.removeLeftovers() }
    try parent.terminate()
    #expect(try parent.wait(timeout: .seconds(60)) == .exited(128 + SIGTERM))
    #expect(output.text.contains("outcome: stopped by SIGTERM; 0 of 5 children exited with status 0"))
    #expect(supervised.objectsGone)
  }
}
