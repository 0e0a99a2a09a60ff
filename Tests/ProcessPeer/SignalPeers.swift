import Glibc
import IPC

// Entry points that receive signals: each blocks its signals first, as a
// program does at the top of main, and says "ready" once it may be signalled.

/// One line per received signal: name, value (or -), sender pid, uid, code.
func line(_ received: ReceivedSignal) -> String {
  "\(received.signal.name) \(received.value.map(String.init) ?? "-") \(received.senderPID)"
    + " \(received.senderUID) \(received.code)"
}

/// arguments: the signals to collect. Blocks them and RTMIN+5 (the "go"
/// signal), says ready, waits for go, then takes what is pending without
/// waiting: what coalesced shows as one line.
func signalDrain(_ context: ChildContext) throws {
  let wanted = try context.arguments.map { (text) throws(IPCError) in try UnixSignal(parsing: text) }
  let go = try UnixSignal.realTime(5)
  try SignalReceiver.blockInProcess(wanted + [go])
  let receiver = try SignalReceiver(wanted)
  let goReceiver = try SignalReceiver([go])
  say("ready")
  _ = try goReceiver.wait()
  while let received = try receiver.tryWait() { say(line(received)) }
  say("end")
}

/// arguments: COUNT SIGNAL. Takes COUNT signals with the blocking wait and
/// prints their values on one line each.
func signalCount(_ context: ChildContext) throws {
  let count = Int(context.arguments.first ?? "1") ?? 1
  let signal = try UnixSignal(parsing: context.arguments.dropFirst().first ?? "USR1")
  try SignalReceiver.blockInProcess([signal])
  let receiver = try SignalReceiver([signal])
  say("ready")
  for _ in 0..<count { say(line(try receiver.wait())) }
}

/// Blocks SIGUSR1 and SIGTERM, then starts a child ("signals" prints its
/// masks): the child must start with nothing blocked.
func signalSpawnMask(_ context: ChildContext) throws {
  try SignalReceiver.blockInProcess([.user1, .terminate])
  say("parent blocked=\(statusField("SigBlk"))")
  let child = try ChildProcess.start(
    entryPoint: "signals", standardOutput: .inherit, executable: CommandLine.arguments[0])
  _ = try child.wait()
}

/// The async forms, each line `what: outcome`, checked by the test:
/// cancellation before and during a wait consumes nothing, a timeout gives
/// nil, a signal wakes a waiting task, the sequence yields in order.
func signalAsync(_ context: ChildContext) throws {
  let signal = try UnixSignal.realTime(3)
  try SignalReceiver.blockInProcess([signal])
  let receiver = try SignalReceiver([signal])
  let me = getpid()
  runAsync {
    do throws(IPCError) {
      // Pending, but the task is cancelled before it asks: nothing taken.
      try signal.send(to: me, value: 1)
      let early = Task { () async throws -> ReceivedSignal in
        withUnsafeCurrentTask { $0?.cancel() }
        return try await receiver.wait()
      }
      say("cancelled-before: \(await outcome(early))")
      say("kept: \(try receiver.tryWait().map(line) ?? "nothing")")

      // Cancelled while it waits.
      let waiting = Task { () async throws -> ReceivedSignal in try await receiver.wait() }
      try? await Task.sleep(for: .milliseconds(50))
      waiting.cancel()
      say("cancelled-while-waiting: \(await outcome(waiting))")
      try signal.send(to: me, value: 2)
      say("kept: \(try receiver.tryWait().map(line) ?? "nothing")")

      let start = ContinuousClock.now
      let none = try await receiver.wait(timeout: .milliseconds(100))
      say("timeout: \(none.map(line) ?? "nil") after \(ContinuousClock.now - start >= .milliseconds(100))")

      // A task waiting is woken by a signal sent later.
      let woken = Task { () async throws -> ReceivedSignal in try await receiver.wait() }
      try? await Task.sleep(for: .milliseconds(50))
      try signal.send(to: me, value: 6)
      say("woken: \(await outcome(woken))")

      for value: Int32 in 3...5 { try signal.send(to: me, value: value) }
      var values: [String] = []
      for try await received in receiver.signals() {
        values.append(received.value.map(String.init) ?? "-")
        if values.count == 3 { break }
      }
      say("sequence: \(values.joined(separator: " "))")
      try receiver.close()
      say("after close: \(await outcome(Task { () async throws in try await receiver.wait() }))")
    } catch {
      say("failed: \(error)")
    }
  }
}

/// `cancelled`, `got LINE`, or the error's code name.
private func outcome(_ task: Task<ReceivedSignal, any Error>) async -> String {
  switch await task.result {
  case .success(let received): "got \(line(received))"
  case .failure(let error as IPCError) where error.code == .cancelled: "cancelled"
  case .failure(let error as IPCError): "error \(error.code.name)"
  case .failure(let error): "error \(error)"
  }
}
