import Glibc
import Synchronization

/// The state of a ``Supervisor``'s group, shared by its handle, the watcher
/// thread (which reports each child's end) and the termination signals. It
/// outlives the handle until every child has ended and the objects are
/// removed: releasing the handle stops the group, it never abandons it.
final class SupervisorCore: Sendable {
  let gracePeriod: Duration
  let signalPolicy: Supervisor.SignalPolicy
  let watcher: ProcessWatcher

  private enum Phase {
    /// Children may be started.
    case open
    /// Stopping: the running children were sent SIGTERM.
    case stopping
    /// Every child has ended and the objects were removed.
    case finished
  }

  /// One child of the group, in start order. A child that ended keeps only
  /// its exit: the handle (and its pidfd) is not held for the group's life.
  private struct Member {
    var child: ChildProcess?
    var exit: Supervisor.ChildExit?
    /// The supervisor signalled it while stopping.
    var stopped = false
  }

  private struct State {
    var phase = Phase.open
    var members: [Member] = []
    /// Starts admitted but not yet watched: the group cannot finish meanwhile.
    var starting = 0
    var objects: [Inheritance] = []
    /// Someone waits for the group: it finishes once no child runs.
    var waitedFor = false
    var firstFailure: Supervisor.ChildExit?
    var signal: Int32?
    var stopRequested = false

    var running: [ChildProcess] { members.compactMap(\.child) }
  }

  private let state = Mutex(State())
  let outcome = CompletionGate<Supervisor.Outcome>()

  /// Every group that has not finished, for the exit handler.
  private static let live = Mutex<[ObjectIdentifier: SupervisorCore]>([:])
  /// Installs, once, the handler that stops unfinished groups when the process exits.
  private static let exitHandler: Void = { atexit { SupervisorCore.processExits() } }()

  init(gracePeriod: Duration, signalPolicy: Supervisor.SignalPolicy) throws(IPCError) {
    guard gracePeriod >= .zero else {
      throw IPCError(
        code: .invalidArgument, operation: "Supervisor", object: "grace period",
        reason: "a grace period of \(gracePeriod) is negative")
    }
    guard !ChildProcess.childrenAreReapedByTheKernel() else {
      throw IPCError(
        code: .noChild, operation: "Supervisor", object: "SIGCHLD",
        reason: "SIGCHLD is ignored in this process (SIG_IGN or SA_NOCLDWAIT): the kernel reaps children the"
          + " moment they end and their exit statuses are lost, so no group could be supervised")
    }
    self.gracePeriod = gracePeriod
    self.signalPolicy = signalPolicy
    self.watcher = try ProcessWatcher.shared()
    if signalPolicy != .ignore { try TerminationSignals.register(self, watcher: watcher) }
    Self.exitHandler
    Self.live.withLock { $0[ObjectIdentifier(self)] = self }
  }

  /// The process exits (`exit`, or a return from `main`) while groups run:
  /// their children get SIGTERM and their objects are removed now, as there
  /// is no later. Entry-point children also see their lifeline close.
  private static func processExits() {
    for core in live.withLock({ Array($0.values) }) {
      let (running, objects) = core.state.withLock { ($0.running, $0.objects) }
      for child in running { child.stop(with: SIGTERM) }
      for object in objects { _ = try? object.remove() }
    }
  }

  /// A signal stopped the group and will end the process: a caller that
  /// would start or register something now waits for that end instead of
  /// going on (and perhaps exiting another way before the objects are gone).
  private func waitForTheEndIfStoppedBySignal() {
    guard signalPolicy == .stopAndExit, state.withLock({ $0.signal != nil }) else { return }
    _ = outcome.wait()
  }

  var running: [ChildProcess] { state.withLock { $0.running } }

  // MARK: Children

  /// Checks that a child may start now; the objects it must remove if this
  /// process dies.
  func admit() throws(IPCError) -> [Inheritance] {
    waitForTheEndIfStoppedBySignal()
    return try state.withLock { (state) throws(IPCError) -> [Inheritance] in
      guard state.phase == .open else {
        throw IPCError(
          code: .invalidArgument, operation: "posix_spawn", object: "supervisor",
          reason:
            "the supervisor has \(state.phase == .finished ? "finished" : "begun stopping its children");"
            + " it starts no new child")
      }
      state.starting += 1
      return state.objects
    }
  }

  /// An admitted start failed: nothing joins the group.
  func startFailed() {
    state.withLock { $0.starting -= 1 }
    finishIfDone()
  }

  /// Takes a child that was just started (and admitted) into the group.
  func watch(_ child: ChildProcess) {
    let (index, stopNow) = state.withLock { state -> (Int, Bool) in
      state.starting -= 1
      let stopping = state.phase != .open
      state.members.append(Member(child: child, stopped: stopping))
      return (state.members.count - 1, stopping)
    }
    // Started while the group began to stop: it stops too, as the others did.
    if stopNow {
      child.stop(with: SIGTERM)
      watcher.schedule(after: gracePeriod) { child.stop(with: SIGKILL) }
    }
    watcher.watch(child) { [self] result in ended(index, result) }
  }

  /// On the watcher's thread: the member at `index` has been reaped.
  private func ended(_ index: Int, _ result: Result<ChildProcess.ExitStatus, IPCError>) {
    let beginStop = state.withLock { state -> Bool in
      guard let child = state.members[index].child else { return false }
      let exit = Supervisor.ChildExit(
        name: child.name, pid: child.pid, status: try? result.get(), wasStopped: state.members[index].stopped)
      state.members[index] = Member(child: nil, exit: exit, stopped: exit.wasStopped)
      guard exit.isFailure, state.firstFailure == nil, state.phase == .open else { return false }
      state.firstFailure = exit
      return true
    }
    if beginStop { stopRunning() }
    finishIfDone()
  }

  // MARK: Stopping

  /// Stops the group because of a termination signal.
  func stop(signal: Int32) {
    state.withLock { if $0.signal == nil { $0.signal = signal } }
    stopRunning()
    finishIfDone()
  }

  /// Stops the group on request.
  func stop() {
    state.withLock { $0.stopRequested = true }
    stopRunning()
    finishIfDone()
  }

  /// SIGTERM to every running child, and SIGKILL to those still running
  /// after the grace period.
  private func stopRunning() {
    let targets = state.withLock { state -> [ChildProcess] in
      guard state.phase == .open else { return [] }
      state.phase = .stopping
      for index in state.members.indices where state.members[index].child != nil {
        state.members[index].stopped = true
      }
      return state.running
    }
    guard !targets.isEmpty else { return }
    for child in targets { child.stop(with: SIGTERM) }
    watcher.schedule(after: gracePeriod) { [self] in
      for child in state.withLock({ $0.running }) { child.stop(with: SIGKILL) }
    }
  }

  // MARK: Finishing

  /// Someone waits for the whole group.
  func waitedFor() {
    state.withLock { $0.waitedFor = true }
    finishIfDone()
  }

  /// Once no child runs and the group is waited for or stopping: removes the
  /// objects and publishes the outcome (exactly once).
  private func finishIfDone() {
    let done = state.withLock { state -> (objects: [Inheritance], exits: [Supervisor.ChildExit])? in
      guard state.phase != .finished, state.waitedFor || state.phase == .stopping, state.running.isEmpty,
        state.starting == 0
      else { return nil }
      state.phase = .finished
      return (state.objects, state.members.compactMap(\.exit))
    }
    guard let done else { return }
    var removalErrors: [IPCError] = []
    for object in done.objects {
      do throws(IPCError) { try object.remove() } catch { removalErrors.append(error) }
    }
    let result = state.withLock { state in
      Supervisor.Outcome(
        exits: done.exits,
        firstFailure: state.firstFailure, signal: state.signal, wasStopped: state.stopRequested,
        removalErrors: removalErrors)
    }
    // First: if a signal stopped the group and the process is to end by it,
    // it ends here, before a waiter could see the outcome and go on.
    if signalPolicy != .ignore { TerminationSignals.unregister(self) }
    outcome.open(result)
    _ = Self.live.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
  }

  // MARK: Objects

  /// Registers `object` for removal when the group finishes, and tells the
  /// running children to remove it should this process die first.
  func removeWhenFinished(_ object: Inheritance) throws(IPCError) {
    guard object.isRemovable else {
      throw IPCError(
        code: .invalidArgument, operation: "removeWhenFinished", object: object.description,
        reason: "a pipe end has no name to remove; register the NamedPipe, or close the end")
    }
    let running = try state.withLock { (state) throws(IPCError) -> [ChildProcess]? in
      guard state.phase != .finished else {
        // Stopped by a signal that ends the process: nothing else will remove it.
        if state.signal != nil && signalPolicy == .stopAndExit { return nil }
        throw IPCError(
          code: .invalidArgument, operation: "removeWhenFinished", object: object.description,
          reason: "the supervisor has already finished; remove the object yourself")
      }
      if !state.objects.contains(object) { state.objects.append(object) }
      return state.running
    }
    guard let running else {
      _ = try? object.remove()
      waitForTheEndIfStoppedBySignal()
      return
    }
    for child in running { child.tellLifeline([object]) }
  }
}
