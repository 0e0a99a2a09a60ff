import Glibc

/// A group of child processes that succeed or fail together, and the IPC
/// objects they use, removed whatever happens.
///
///     let supervisor = try Supervisor()
///     let queue = try supervisor.removeWhenFinished(SystemV.MessageQueue.create())
///     for role in ["receiver", "sender"] {
///       try ChildProcess.start(entryPoint: role, handing: ["queue": queue], in: supervisor)
///     }
///     let outcome = try supervisor.wait()      // every child ended; the queue is removed
///     exit(outcome.exitCode)
///
/// - **The first failure stops the rest.** When a child exits with a status
///   other than 0, or is killed by a signal the supervisor did not send, the
///   others get SIGTERM, then SIGKILL if they still run after the
///   ``gracePeriod``. The library's watcher thread does this the moment the
///   child ends, whatever this process is doing.
/// - **Signals stop the group.** SIGINT, SIGTERM or SIGHUP to this process
///   stops the children the same way, removes the objects and (by default)
///   ends this process by that signal; see ``SignalPolicy``.
/// - **Objects are removed on every path**: once every child has ended and
///   the group was waited for or stopped. If this process is killed with
///   SIGKILL, the entry-point children learn of it, remove the registered
///   objects themselves and end (see ``ChildProcess/start(entryPoint:handing:arguments:environment:workingDirectory:standardInput:standardOutput:standardError:descriptors:diesWithParent:newProcessGroup:executable:in:)``).
/// - **Releasing the supervisor stops its group**: children still running
///   are stopped and the objects removed, as by ``stop()``.
///
/// Children join with the `in:` argument of ``ChildProcess``'s `start`
/// methods. They are reaped by the watcher thread; their handles' own waits
/// return the same statuses.
public final class Supervisor: Sendable {
  let core: SupervisorCore

  /// How long children may take to end after SIGTERM before they get SIGKILL.
  public var gracePeriod: Duration { core.gracePeriod }
  /// What SIGINT, SIGTERM and SIGHUP do while the group runs.
  public var signalPolicy: SignalPolicy { core.signalPolicy }

  /// A supervisor with no children yet.
  ///
  /// Unless `onSignal` is `.ignore`, it handles SIGINT, SIGTERM and SIGHUP
  /// from now until it finishes, where they are at their default
  /// disposition (an ignored signal, or a handler of your own, is left alone).
  ///
  /// - Throws: `.invalidArgument` for a negative grace period; an error if
  ///   the library's watcher thread cannot start (thread or descriptor limit).
  public init(gracePeriod: Duration = .seconds(2), onSignal: SignalPolicy = .stopAndExit) throws(IPCError) {
    core = try SupervisorCore(gracePeriod: gracePeriod, signalPolicy: onSignal)
  }

  deinit {
    core.stop()
  }

  /// The group's children that are still running, in the order they
  /// started. Those that ended are in the ``Outcome``; the group keeps no
  /// handle (and no descriptor) of them.
  public var runningChildren: [ChildProcess] { core.running }

  /// Removes `object` when the group finishes (also after a failure or a
  /// signal), and, should this process be killed first, has the children
  /// remove it. Register objects before starting children that use them.
  ///
  /// Make the object in the call, and no signal can come between its
  /// creation and its registration: a SIGINT meanwhile stops the group only
  /// once the object is registered, so it is removed too.
  ///
  ///     let queue = try supervisor.removeWhenFinished(SystemV.MessageQueue.create())
  ///
  /// - Returns: the object.
  /// - Throws: the error of making the object (nothing is registered then);
  ///   `.invalidArgument` for an object without a name (a pipe end) or once
  ///   the group has finished: the object is then removed at once.
  @discardableResult
  public func removeWhenFinished<Object: Inheritable>(
    _ object: @autoclosure () throws(IPCError) -> Object
  ) throws(IPCError) -> Object {
    try TerminationSignals.deferringSignals { () throws(IPCError) -> Object in
      let made = try object()
      let inheritance = try made.inheritance()
      do throws(IPCError) {
        try core.removeWhenFinished(inheritance)
      } catch {
        // It was to be removed; refused, it must not outlive the call unseen.
        _ = try? inheritance.remove()
        throw error
      }
      return made
    }
  }

  /// Waits until every child has ended, removes the registered objects, and
  /// returns how the group ended. No new child can join afterwards; waiting
  /// again returns the same outcome.
  public func wait() -> Outcome {
    core.waitedFor()
    return core.outcome.wait()
  }

  /// Waits up to `timeout` (monotonic clock) for the group to end.
  ///
  /// - Returns: the outcome, or nil if children still run; the group goes
  ///   on, and can be waited for again.
  public func wait(timeout: Duration) -> Outcome? {
    core.waitedFor()
    return core.outcome.wait(timeout: timeout)
  }

  /// The outcome if the group has ended (non-blocking). Marks the group as
  /// waited for: it ends once its running children have.
  public func tryWait() -> Outcome? {
    core.waitedFor()
    return core.outcome.current
  }

  /// Stops the group now: SIGTERM to every running child, SIGKILL after the
  /// grace period, then the objects are removed. Returns at once; `wait()`
  /// for the outcome.
  public func stop() { core.stop() }
}
