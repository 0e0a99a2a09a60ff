import Glibc
import IPC
import IPCToolSupport

/// `ipc demo signals`: a parent and workers that coordinate by signals alone:
/// each worker says it is ready, takes jobs as real-time signals with
/// values, answers the same way, and ends cleanly when it is sent SIGTERM.
enum SignalsDemo {
  /// The signals of the protocol, all real-time so that none coalesces.
  enum Wire {
    /// Parent to worker: a job, its value the number to square.
    static var job: UnixSignal { get throws(IPCError) { try .realTime(0) } }
    /// Worker to parent: an answer, its value the square.
    static var answer: UnixSignal { get throws(IPCError) { try .realTime(1) } }
    /// Worker to parent: ready for jobs, its value the worker's number.
    static var ready: UnixSignal { get throws(IPCError) { try .realTime(2) } }
  }

  static let workers = Option<Int>.integer(
    "--workers", 1...32, what: "a number of processes", help: "worker processes (default 3)")
  static let jobs = Option<Int>.integer(
    "--jobs", 0...10_000, what: "a number of jobs", help: "jobs handed out in all (default 10)")

  /// How long the parent waits for any one signal before it gives up.
  static let patience = Duration.seconds(20)

  static let command = Command(
    spec: CommandSpec(
      "ipc demo signals", abstract: "a parent and workers coordinating by signals with values",
      options: [workers, jobs],
      discussion: """
        Each worker blocks its signals, then tells the parent it is ready (SIGRTMIN+2, its number as the value). The parent hands out jobs round-robin (SIGRTMIN+0 through each worker's pidfd, the number to square as the value); a worker answers with SIGRTMIN+1 and the square. Real-time signals queue with their values, so no job or answer is lost while a process is busy. When every answer is in, the parent sends each worker SIGTERM, which the worker receives as a message and ends cleanly. No kernel object is made: signals need only a pid.
        """),
    body: { parsed in try coordinate(workers: parsed[workers] ?? 3, jobs: parsed[jobs] ?? 10) })

  static let role = "signals-worker"

  static var entryPoints: [String: EntryPoints.Body] {
    [role: DemoGroup.entryPoint { context in try worker(context) }]
  }

  // MARK: The parent

  private static func coordinate(workers count: Int, jobs: Int) throws {
    let answer = try Wire.answer
    let ready = try Wire.ready
    // Before any child exists: an answer or a ready signal that arrived
    // unblocked would end this process.
    try SignalReceiver.blockInProcess([answer, ready])
    let answers = try SignalReceiver([answer])
    let readiness = try SignalReceiver([ready])
    let group = try DemoGroup()
    var correct = 0
    let outcome = try group.supervise {
      Output.line("signals: starting \(count) worker\(count == 1 ? "" : "s"); parent pid \(getpid())")
      var started: [ChildProcess] = []
      for number in 1...count {
        started.append(
          try group.start("worker \(number)", entryPoint: role, handing: [:], arguments: ["\(number)"]))
      }
      for _ in 0..<count {
        let signal = try receive(from: readiness, waitingFor: "a worker to be ready")
        Output.line("parent: worker \(signal.value ?? 0) (pid \(signal.senderPID)) is ready")
      }
      // Round-robin; each worker's answers come back in the order of its jobs.
      var expected: [pid_t: [Int32]] = [:]
      for job in 0..<jobs {
        let worker = started[job % count]
        let number = Int32(job + 1)
        try worker.send(try Wire.job, value: number)
        expected[worker.pid, default: []].append(number * number)
      }
      for _ in 0..<jobs {
        let signal = try receive(from: answers, waitingFor: "an answer")
        let due = expected[signal.senderPID]?.first
        if let due, signal.value == due {
          correct += 1
          expected[signal.senderPID]?.removeFirst()
        }
        Output.line(
          "parent: answer \(signal.value.map(String.init) ?? "-") from pid \(signal.senderPID)"
            + (signal.value == due ? "" : " (expected \(due.map(String.init) ?? "none"))"))
      }
      Output.line("parent: \(correct) of \(jobs) answers correct; sending SIGTERM to each worker")
      for worker in started { try worker.terminate() }
    }
    if let failure = group.failure(in: outcome) { throw CommandFailure("signals demo failed: \(failure)") }
    guard correct == jobs else {
      throw CommandFailure("signals demo: only \(correct) of \(jobs) answers were right")
    }
    Output.line(
      "signals: \(jobs) jobs, \(correct) right answers; \(count) worker\(count == 1 ? "" : "s") ended cleanly"
    )
  }

  /// The next signal from `receiver`, or a failure after ``patience``.
  private static func receive(from receiver: SignalReceiver, waitingFor what: String) throws -> ReceivedSignal
  {
    guard let signal = try receiver.wait(timeout: patience) else {
      throw CommandFailure("no signal came in \(patience) while waiting for \(what)")
    }
    return signal
  }

  // MARK: A worker

  private static func worker(_ context: ChildContext) throws {
    let number = Int32(context.arguments.first ?? "") ?? 0
    let job = try Wire.job
    // First of all: a job that came before this would end the process.
    try SignalReceiver.blockInProcess([job, .terminate])
    let inbox = try SignalReceiver([job, .terminate])
    let parent = getppid()
    try Wire.ready.send(to: parent, value: number)
    var done = 0
    while true {
      let signal = try inbox.wait()
      if signal.signal == .terminate {
        Output.line(
          "worker \(number) (pid \(getpid())): \(signal.signal) from pid \(signal.senderPID) after \(done)"
            + " job\(done == 1 ? "" : "s"); ending cleanly")
        return
      }
      let value = signal.value ?? 0
      // The parent keeps jobs small enough that the square fits.
      let (square, overflow) = value.multipliedReportingOverflow(by: value)
      try Wire.answer.send(to: parent, value: overflow ? 0 : square)
      done += 1
    }
  }
}
