import Glibc
import IPC

// The examples of Docs/Processes.md, as one program: every ```swift block of
// the guide appears here word for word. Run with no arguments, it runs them in
// the guide's order, checks each result, prints a line or two per example, and
// exits 0, leaving no IPC object behind. Built as `processes-guide`.

// MARK: - Entry points: the functions a child runs

func worker(_ context: ChildContext) throws {
  let jobs = try context.open("jobs", as: SystemV.MessageQueue.self)
  let results: PipeEnd = try context.open("results")
  while true {
    let job = try jobs.receive()
    if job.type == 2 { return }  // type 2: no more jobs
    let number = Int(job.text) ?? 0
    try results.send(Array("\(number * number)".utf8))
  }
}

func greet(_ context: ChildContext) throws {
  print("greet: hello, \(context.arguments.joined(separator: " and "))")
}

func fail(_ context: ChildContext) throws {
  throw IPCError(code: .invalidArgument, operation: "fail", object: "the guide", reason: "failing on purpose")
}

func reply(_ context: ChildContext) throws {
  let queue = try context.open("queue", as: POSIX.MessageQueue.self)
  let question = try queue.receive()
  try queue.send(Array("pong to \(question.text)".utf8))
}

/// A queue of jobs: a type of your own, which crosses as the queue it wraps.
struct Jobs: Inheritable {
  var queue: SystemV.MessageQueue

  func inheritance() throws(IPCError) -> Inheritance { try queue.inheritance() }

  static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Jobs {
    Jobs(queue: try .inherit(inheritance))
  }
}

func inspect(_ context: ChildContext) throws {
  let jobs = try context.open("jobs", as: Jobs.self)  // your own type
  print("opened \(jobs.queue)")
  do {
    _ = try context.open("job", as: SystemV.MessageQueue.self)  // a typo: the parent handed "jobs"
  } catch {
    print(error)
  }
  do {
    _ = try context.open("jobs", as: POSIX.MessageQueue.self)  // the wrong kind
  } catch {
    print(error)
  }
}

func teamLead(_ context: ChildContext) throws {
  let supervisor = try Supervisor()
  let queue = try SystemV.MessageQueue.create()
  try supervisor.removeWhenFinished(queue)  // registered before the child starts
  try ChildProcess.start(entryPoint: "nap", handing: ["jobs": queue], in: supervisor)  // a grandchild
  print("queue \(queue.id)")
  fflush(nil)
  _ = supervisor.wait()
}

func nap(_ context: ChildContext) throws {
  sleep(30)
}

// A child runs its entry point here and exits; the parent goes on.
EntryPoints([
  "worker": worker, "greet": greet, "fail": fail, "reply": reply, "inspect": inspect,
  "team-lead": teamLead, "nap": nap,
]).runIfChild()

// MARK: - The parent: the guide's examples, in its order

/// Prints a line of the guide's output at once, so that the lines of children
/// that share this standard output come in order.
func say(_ line: String) {
  print(line)
  fflush(nil)
}

/// Ends the program with status 1 unless `claim` holds.
func check(_ claim: Bool, _ what: @autoclosure () -> String) {
  guard !claim else { return }
  let line = "processes-guide: not as the guide says: \(what())\n"
  _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
  exit(1)
}

/// Whether a System V message queue with this id exists.
func queueExists(_ id: Int32) -> Bool { (try? SystemV.MessageQueue.open(id: id)) != nil }

/// `text` without the " (pid 4242)" the library's messages carry, which changes from run to run.
func withoutPIDs(_ text: String) -> String {
  var result = ""
  var rest = Substring(text)
  while let start = rest.firstRange(of: " (pid ") {
    result += rest[..<start.lowerBound]
    rest = rest[start.upperBound...].drop { $0.isNumber }
    if rest.first == ")" { rest = rest.dropFirst() }
  }
  return result + rest
}

// MARK: Entry points

func squaresFromAWorker() throws -> (squares: [String], status: ChildProcess.ExitStatus) {
  let jobs = try SystemV.MessageQueue.create()  // IPC_PRIVATE, mode 0600
  defer { try? jobs.remove() }
  let (results, resultsWriter) = try AnonymousPipe.make()
  let child = try ChildProcess.start(entryPoint: "worker", handing: ["jobs": jobs, "results": resultsWriter])
  try resultsWriter.close()  // the child has its copy; ours would keep the stream open
  for number in 1...3 { try jobs.send(Array("\(number)".utf8), type: 1) }
  try jobs.send(Array("stop".utf8), type: 2)  // no more jobs
  var squares: [String] = []
  while let frame = try results.receive() { squares.append(String(decoding: frame, as: UTF8.self)) }
  return (squares, try child.wait())  // ["1", "4", "9"], exited with status 0
}

func greeting() throws -> ChildProcess.ExitStatus {
  let greeter = try ChildProcess.start(entryPoint: "greet", arguments: ["Ada", "Grace"])
  return try greeter.wait()  // the child printed "greet: hello, Ada and Grace"
}

func entryPointExits() throws -> (statuses: [ChildProcess.ExitStatus], errors: String) {
  let (errors, errorsWriter) = try AnonymousPipe.make()
  let returning = try ChildProcess.start(entryPoint: "greet", standardOutput: .null)
  let throwing = try ChildProcess.start(entryPoint: "fail", standardError: .pipe(errorsWriter))
  let thrown = try throwing.wait()  // before the next child starts, so that its line comes first
  let unknown = try ChildProcess.start(
    entryPoint: "no-such-entry", standardError: .pipe(errorsWriter), executable: "/proc/self/exe")
  try errorsWriter.close()
  let statuses = [try returning.wait(), thrown, try unknown.wait()]  // exited with status 0, 1 and 127
  return (statuses, String(decoding: try errors.readToEnd(), as: UTF8.self))
}

func startAnUnknownEntryPoint() -> IPCError? {
  do {
    try ChildProcess.start(entryPoint: "no-such-entry")
  } catch {
    return error  // .invalidArgument, before anything starts
  }
  return nil
}

do {
  say("Entry points")
  let worked = try squaresFromAWorker()
  check(worked.squares == ["1", "4", "9"], "the worker sent \(worked.squares)")
  check(worked.status == .exited(0), "the worker \(worked.status)")
  say("  the worker squared 1, 2, 3 into \(worked.squares.joined(separator: ", ")), then \(worked.status)")

  let greeted = try greeting()
  check(greeted == .exited(0), "greet \(greeted)")
  say("  greet \(greeted)")

  let exits = try entryPointExits()
  check(exits.statuses == [.exited(0), .exited(1), .exited(127)], "entry points ended \(exits.statuses)")
  let names = "(it has: fail, greet, inspect, nap, reply, team-lead, worker)"
  check(
    withoutPIDs(exits.errors) == """
      entry point 'fail': failed: fail on the guide failed: failing on purpose [EINVAL]
      entry point 'no-such-entry': this program has no entry point named 'no-such-entry' \(names)

      """, "the entry points wrote \(exits.errors)")
  say("  returned, threw, unknown: \(exits.statuses.map(\.description).joined(separator: "; "))")
  for line in withoutPIDs(exits.errors).split(separator: "\n") { say("  \(line)") }

  let refused = startAnUnknownEntryPoint()
  check(
    refused?.code == .invalidArgument
      && refused?.reason
        == "this program has no entry point named 'no-such-entry' \(names)",
    "starting an unknown entry point gave \(String(describing: refused))")
  say("  refused: \(refused?.description ?? "nothing")")
} catch {
  check(false, "\(error)")
}

// MARK: Handing objects over

func pingThroughAnUnlinkedQueue() throws -> String {
  let queue = try POSIX.MessageQueue.create("/processes-guide-\(getpid())", maxMessages: 2, messageSize: 64)
  try queue.unlink()  // the name is gone: only open descriptors reach the queue now
  try queue.send(Array("ping".utf8))
  let child = try ChildProcess.start(
    entryPoint: "reply", handing: ["queue": Inheritance.descriptor(of: queue)])
  _ = try child.wait()
  return try queue.receive().text  // "pong to ping"
}

func inspectWhatWasHanded() throws -> (lines: [String], queue: Int32) {
  let queue = try SystemV.MessageQueue.create()
  defer { try? queue.remove() }
  let (output, outputWriter) = try AnonymousPipe.make()
  let child = try ChildProcess.start(
    entryPoint: "inspect", handing: ["jobs": Jobs(queue: queue)], standardOutput: .pipe(outputWriter))
  try outputWriter.close()
  let text = String(decoding: try output.readToEnd(), as: UTF8.self)
  _ = try child.wait()
  return (text.split(separator: "\n").map(String.init), queue.id)
}

do {
  say("Handing objects over")
  let answer = try pingThroughAnUnlinkedQueue()
  check(answer == "pong to ping", "the reply was \(answer)")
  say("  through a queue whose name was unlinked: \(answer)")

  let inspected = try inspectWhatWasHanded()
  let id = inspected.queue
  check(
    inspected.lines == [
      "opened queue \(id)",
      "inherit on 'job' failed: the parent handed no object named 'job' to entry point 'inspect'; it handed jobs"
        + " [ENOENT]",
      "inherit on System V message queue \(id) failed: the parent handed a System V message queue (System V"
        + " message queue \(id)), not a POSIX message queue [EINVAL]",
    ], "inspect printed \(inspected.lines)")
  say("  Jobs opened; a missing name and a wrong kind are \(inspected.lines.count - 1) clear errors")
} catch {
  check(false, "\(error)")
}

// MARK: Running any program

func sortNumbers(_ numbers: [Int]) throws -> (sorted: String, status: ChildProcess.ExitStatus) {
  let (sortInput, toSort) = try AnonymousPipe.make()
  let (fromSort, sortOutput) = try AnonymousPipe.make()
  let sort = try ChildProcess.start(
    executable: "sort", arguments: ["-n"], standardInput: .pipe(sortInput), standardOutput: .pipe(sortOutput))
  try sortInput.close()  // the child has its copies: close ours,
  try sortOutput.close()  // or the streams never end
  try toSort.write(numbers.map { "\($0)\n" }.joined().utf8)
  try toSort.close()  // the end of sort's input: now it writes
  let sorted = String(decoding: try fromSort.readToEnd(), as: UTF8.self)
  return (sorted, try sort.wait())  // "1\n2\n10\n", exited with status 0
}

func output(of child: (PipeEnd) throws -> ChildProcess) throws -> String {
  let (output, outputWriter) = try AnonymousPipe.make()
  let process = try child(outputWriter)
  try outputWriter.close()
  let text = String(decoding: try output.readToEnd(), as: UTF8.self)
  _ = try process.wait()
  return text
}

func environmentAndDirectory() throws -> [String] {
  let greeting = try output { writer in
    try ChildProcess.start(
      executable: "sh", arguments: ["-c", "echo \"$GREETING from $(pwd), HOME=${HOME:-unset}\""],
      environment: .inherit(updating: ["GREETING": "hello"], removing: ["HOME"]),
      workingDirectory: "/tmp", standardOutput: .pipe(writer))
  }  // "hello from /tmp, HOME=unset\n"
  let alone = try output { writer in
    try ChildProcess.start(
      executable: "env", environment: .replace(with: ["ONLY": "this"]), standardOutput: .pipe(writer))
  }  // "ONLY=this\n": no PATH either, so "env" was looked up in /bin:/usr/bin
  let viaFive = try output { writer in
    try ChildProcess.start(
      executable: "sh", arguments: ["-c", "echo via five >&5"], descriptors: [5: .pipe(writer)])
  }  // "via five\n"
  return [greeting, alone, viaFive]
}

do {
  say("Running any program")
  let sorted = try sortNumbers([10, 2, 1])
  check(sorted.sorted == "1\n2\n10\n" && sorted.status == .exited(0), "sort gave \(sorted)")
  say("  sort -n: \(sorted.sorted.split(separator: "\n").joined(separator: " ")), then \(sorted.status)")

  let outputs = try environmentAndDirectory()
  check(
    outputs == ["hello from /tmp, HOME=unset\n", "ONLY=this\n", "via five\n"], "the children wrote \(outputs)"
  )
  for text in outputs { say("  \(text.dropLast())") }
} catch {
  check(false, "\(error)")
}

// MARK: Exit status and waiting

func describe(_ status: ChildProcess.ExitStatus) -> String {
  switch status {
  case .exited(0): "done"
  case .exited(let code): "failed with status \(code)"
  case .signalled(let signal, coreDumped: _): "killed by signal \(signal)"
  }
}

func shellStatuses() throws -> [ChildProcess.ExitStatus] {
  let three = try ChildProcess.start(executable: "sh", arguments: ["-c", "exit 3"])
  let killed = try ChildProcess.start(executable: "sh", arguments: ["-c", "kill -TERM $$"])
  return [try three.wait(), try killed.wait()]
  // .exited(3): "exited with status 3", shellStatus 3
  // .signalled(15, coreDumped: false): "killed by SIGTERM (signal 15)", shellStatus 143
}

func timedWait() throws -> [ChildProcess.ExitStatus?] {
  let sleeper = try ChildProcess.start(executable: "sleep", arguments: ["30"])
  let checked = try sleeper.tryWait()  // nil: still running
  let early = try sleeper.wait(timeout: .milliseconds(100))  // nil after 0.1 s: still running
  try sleeper.terminate()  // SIGTERM, through the pidfd
  let late = try sleeper.wait()  // killed by SIGTERM (signal 15)
  return [checked, early, late, try sleeper.wait(timeout: .zero)]  // waiting again: the same status
}

func awaitSeveral() async throws -> [ChildProcess.ExitStatus] {
  let sleepers = try ["0.3", "0.1", "0.2"].map {
    try ChildProcess.start(executable: "sleep", arguments: [$0])
  }
  return try await withThrowingTaskGroup(of: ChildProcess.ExitStatus.self) { group in
    for sleeper in sleepers { group.addTask { try await sleeper.wait() } }
    return try await group.reduce(into: []) { $0.append($1) }  // no thread of the pool blocks
  }
}

func cancelAWait() async throws -> (error: IPCError?, stillRunning: Bool) {
  let sleeper = try ChildProcess.start(executable: "sleep", arguments: ["30"])
  let waiter = Task { try await sleeper.wait() }
  waiter.cancel()
  var cancelled: IPCError?
  do { _ = try await waiter.value } catch let error as IPCError { cancelled = error }  // .cancelled
  let stillRunning = sleeper.isRunning  // true: only the wait ended
  try sleeper.kill()
  _ = try await sleeper.wait()
  return (cancelled, stillRunning)
}

func startAndForget(output: PipeEnd) throws -> pid_t {
  let child = try ChildProcess.start(
    executable: "sh", arguments: ["-c", "sleep 0.2; echo finished"], standardOutput: .pipe(output))
  return child.pid
}  // the handle is released here: the child runs on, and the library reaps it when it ends

func reapedBehindTheLibrarysBack() throws -> IPCError? {
  let child = try ChildProcess.start(executable: "true")
  var status: Int32 = 0
  _ = waitpid(child.pid, &status, 0)  // something else reaps the child...
  do {
    _ = try child.wait()
  } catch {
    return error  // ...so its status is lost: .noChild
  }
  return nil
}

do {
  say("Exit status and waiting")
  let statuses = try shellStatuses()
  check(statuses == [.exited(3), .signalled(SIGTERM, coreDumped: false)], "sh ended \(statuses)")
  check(statuses.map(\.shellStatus) == [3, 143], "shell statuses \(statuses.map(\.shellStatus))")
  check(statuses.map(describe) == ["failed with status 3", "killed by signal 15"], "describe")
  for status in statuses { say("  \(status) (shell status \(status.shellStatus))") }

  let waits = try timedWait()
  let killed = ChildProcess.ExitStatus.signalled(SIGTERM, coreDumped: false)
  check(waits == [nil, nil, killed, killed], "the timed waits gave \(waits)")
  say("  sleep 30: running, running after 0.1 s, then \(killed)")

  let several = try await awaitSeveral()
  check(several == [.exited(0), .exited(0), .exited(0)], "awaited \(several)")
  say("  awaited 3 sleepers: \(several.map(\.description).joined(separator: ", "))")

  let cancelled = try await cancelAWait()
  check(cancelled.error?.code == .cancelled && cancelled.stillRunning, "cancelling gave \(cancelled)")
  check(
    cancelled.error?.reason
      == "the waiting task was cancelled; the child keeps running and can be waited for again",
    "\(String(describing: cancelled.error))")
  say("  a cancelled await: \(cancelled.error?.code.name ?? "none"); the child was still running")

  let (finished, finishedWriter) = try AnonymousPipe.make()
  let pid = try startAndForget(output: finishedWriter)
  try finishedWriter.close()
  let said = String(decoding: try finished.readToEnd(), as: UTF8.self)
  check(said == "finished\n", "the released child wrote \(said)")
  var reaped = false
  for _ in 0..<3000 where !reaped {  // up to 30 s: the watcher reaps it the moment it ends
    reaped = access("/proc/\(pid)", F_OK) != 0
    if !reaped { usleep(10_000) }
  }
  check(reaped, "process \(pid) was not reaped")
  say("  a released handle: the child finished its work and was reaped")

  let lost = try reapedBehindTheLibrarysBack()
  check(lost?.code == .noChild, "waiting after waitpid gave \(String(describing: lost))")
  check(
    lost?.reason.hasPrefix("the child was reaped by something else") == true, "\(String(describing: lost))")
  say("  reaped elsewhere: \(lost?.code.name ?? "none")")
} catch {
  check(false, "\(error)")
}

// MARK: Signals to a child

func signalAfterReaping() throws -> IPCError? {
  let child = try ChildProcess.start(executable: "true")
  _ = try child.wait()
  do {
    try child.kill()
  } catch {
    return error  // .noSuchProcess: nothing was sent
  }
  return nil
}

do {
  say("Signals to a child")
  let refused = try signalAfterReaping()
  check(refused?.code == .noSuchProcess, "signalling a reaped child gave \(String(describing: refused))")
  check(
    refused?.reason == "the child has ended (exited with status 0) and been reaped; SIGKILL was not sent",
    "\(String(describing: refused))")
  say("  kill after reaping: \(refused?.code.name ?? "none"), \(refused?.reason ?? "")")
} catch {
  check(false, "\(error)")
}

// MARK: Supervisor

func aGroupWhoseOneChildFails() throws -> (outcome: Supervisor.Outcome, queue: Int32) {
  let supervisor = try Supervisor(gracePeriod: .seconds(1))
  let jobs = try SystemV.MessageQueue.create()
  try supervisor.removeWhenFinished(jobs)  // before the children start
  let (_, results) = try AnonymousPipe.make()
  try ChildProcess.start(entryPoint: "worker", handing: ["jobs": jobs, "results": results], in: supervisor)
  try ChildProcess.start(executable: "sh", arguments: ["-c", "exit 3"], in: supervisor)
  return (supervisor.wait(), jobs.id)  // sh failed, the worker was stopped, the queue removed
}

func stopAStubbornChild() throws -> (outcome: Supervisor.Outcome, took: Duration) {
  let supervisor = try Supervisor(gracePeriod: .milliseconds(200))
  let (ready, readyWriter) = try AnonymousPipe.make()
  try ChildProcess.start(
    executable: "sh", arguments: ["-c", "trap '' TERM; echo ready; exec sleep 30"],
    standardOutput: .pipe(readyWriter), in: supervisor)
  try readyWriter.close()
  _ = try ready.read(upToCount: 16)  // "ready": from now on it ignores SIGTERM
  let start = ContinuousClock.now
  supervisor.stop()  // SIGTERM, ignored; SIGKILL 0.2 s later
  return (supervisor.wait(), ContinuousClock.now - start)
}

func aSignalStopsTheGroup() async throws -> Supervisor.Outcome {
  let supervisor = try Supervisor(onSignal: .stop)  // .stopAndExit would end this program
  try ChildProcess.start(executable: "sleep", arguments: ["30"], in: supervisor)
  kill(getpid(), SIGTERM)  // as `kill PID` from a shell would
  return try await supervisor.wait()  // stopped by SIGTERM; 0 of 1 children exited with status 0
}

/// How a child of a group ended, without its pid.
func summary(_ exit: Supervisor.ChildExit) -> String {
  "\(exit.name) \(exit.status?.description ?? "lost")\(exit.wasStopped ? " (stopped)" : "")"
}

do {
  say("Supervisor")
  let failed = try aGroupWhoseOneChildFails()
  let outcome = failed.outcome
  check(outcome.firstFailure?.name == "sh" && outcome.firstFailure?.status == .exited(3), "\(outcome)")
  check(outcome.exits.map(\.name) == ["worker", "sh"], "\(outcome)")
  check(
    outcome.exits[0].status == .signalled(SIGTERM, coreDumped: false) && outcome.exits[0].wasStopped,
    "\(outcome)")
  check(
    !outcome.isSuccess && outcome.exitCode == 3 && outcome.signal == nil && !outcome.wasStopped, "\(outcome)")
  check(outcome.removalErrors.isEmpty && !queueExists(failed.queue), "the queue was not removed: \(outcome)")
  say("  first failure: \(summary(outcome.firstFailure!)); exit code \(outcome.exitCode)")
  say("  \(outcome.exits.map(summary).joined(separator: ", ")); the queue is removed")

  let stubborn = try stopAStubbornChild()
  let stopped = stubborn.outcome
  check(
    stopped.wasStopped && stopped.firstFailure == nil && !stopped.isSuccess && stopped.exitCode == 0,
    "\(stopped)")
  check(stopped.exits.first?.status == .signalled(SIGKILL, coreDumped: false), "\(stopped)")
  check(stubborn.took >= .milliseconds(200), "SIGKILL came after \(stubborn.took)")
  say("  stopped on request: \(stopped.exits.map(summary).joined()), after the grace period")

  let signalled = try await aSignalStopsTheGroup()
  check(signalled.signal == SIGTERM && signalled.exitCode == 143, "\(signalled)")
  check(signalled.exits.first?.status == .signalled(SIGTERM, coreDumped: false), "\(signalled)")
  check(signalled.description == "stopped by SIGTERM; 0 of 1 children exited with status 0", "\(signalled)")
  say("  \(signalled); exit code \(signalled.exitCode)")
} catch {
  check(false, "\(error)")
}

// MARK: Death with the parent

func killTheTeamLead() throws -> (queue: Int32, status: ChildProcess.ExitStatus, said: String) {
  let (lines, linesWriter) = try AnonymousPipe.make()
  let (errors, errorsWriter) = try AnonymousPipe.make()
  let lead = try ChildProcess.start(
    entryPoint: "team-lead", standardOutput: .pipe(linesWriter), standardError: .pipe(errorsWriter))
  try linesWriter.close()
  try errorsWriter.close()
  let line = String(decoding: try lines.read(upToCount: 64), as: UTF8.self)  // "queue 32768\n"
  try lead.kill()  // SIGKILL: the team lead cleans up nothing itself
  let status = try lead.wait()  // killed by SIGKILL (signal 9)
  let said = String(decoding: try errors.readToEnd(), as: UTF8.self)  // ends when "nap" has ended too
  // entry point 'nap' (pid 4243): the parent process ended; removed System V message queue 32768; stopping
  return (Int32(line.dropFirst(6).dropLast()) ?? -1, status, said)
}

do {
  say("Death with the parent")
  let lead = try killTheTeamLead()
  check(lead.status == .signalled(SIGKILL, coreDumped: false), "the team lead \(lead.status): \(lead.said)")
  check(
    lead.said.hasPrefix("entry point 'nap' (pid ")
      && lead.said.hasSuffix(
        "): the parent process ended; removed System V message queue \(lead.queue); stopping\n"),
    "nap said \(lead.said)")
  check(lead.queue > 0 && !queueExists(lead.queue), "queue \(lead.queue) is still there")
  say("  team-lead \(lead.status); nap removed its queue and stopped")
} catch {
  check(false, "\(error)")
}

// MARK: Errors

/// The error that kept `start` from starting a child, or nil if it started one.
func whyNot(_ start: () throws -> ChildProcess) -> IPCError? {
  do {
    _ = try start()
    return nil
  } catch {
    return error as? IPCError
  }
}

func whatCannotStart() -> [IPCError?] {
  [
    whyNot { try ChildProcess.start(executable: "no-such-program") },  // .notFound
    whyNot { try ChildProcess.start(executable: "/etc/passwd") },  // .permissionDenied: not executable
    whyNot { try ChildProcess.start(executable: "/tmp") },  // .permissionDenied: a directory
    whyNot { try ChildProcess.start(executable: "true", environment: .inherit(updating: ["A=B": "1"])) },
    whyNot { try ChildProcess.start(executable: "true", arguments: ["zero\0byte"]) },
    whyNot { try ChildProcess.start(executable: "true", descriptors: [1024: .null]) },
  ]  // the last three: .invalidArgument; in every case nothing was started
}

say("Errors")
let errors = whatCannotStart()
check(
  errors.map(\.?.code) == [
    .notFound, .permissionDenied, .permissionDenied, .invalidArgument, .invalidArgument, .invalidArgument,
  ], "the errors were \(errors)")
check(
  errors[1]?.reason.hasPrefix("/etc/passwd is not executable by this user (mode ") == true,
  "\(String(describing: errors[1]))")
check(errors[2]?.reason == "/tmp is a directory", "\(String(describing: errors[2]))")
check(
  errors[5]?.reason == "descriptor number 1024 is out of range: 3 to 1023", "\(String(describing: errors[5]))"
)
say("  \(errors.map { $0?.code.name ?? "started" }.joined(separator: ", "))")

say("All examples ran as the guide says.")
