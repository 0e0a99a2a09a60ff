import Glibc
import IPC
import Synchronization
import Testing

/// Signals by name and number, and the errors of bad input, in this process
/// (which has many threads, so it can show why a receiver needs every
/// thread to block its signals).
@Suite("Signals")
struct SignalTests {
  @Test(arguments: [
    ("USR1", SIGUSR1), ("SIGUSR1", SIGUSR1), ("usr1", SIGUSR1), ("SigTerm", SIGTERM), ("IOT", SIGABRT),
    ("CLD", SIGCHLD), ("POLL", SIGIO), ("10", 10), ("64", 64), ("KILL", SIGKILL),
  ])
  func namesAndNumbersParse(text: String, number: Int32) throws {
    #expect(try UnixSignal(parsing: text).rawValue == number)
  }

  @Test func realTimeSignalsParseFromEitherEnd() throws {
    let range = UnixSignal.realTimeRange
    #expect(try UnixSignal(parsing: "RTMIN").rawValue == range.lowerBound)
    #expect(try UnixSignal(parsing: "SIGRTMIN+3").rawValue == range.lowerBound + 3)
    #expect(try UnixSignal(parsing: "rtmax").rawValue == range.upperBound)
    #expect(try UnixSignal(parsing: "RTMAX-2").rawValue == range.upperBound - 2)
    #expect(try UnixSignal.realTime(0).rawValue == range.lowerBound)
    let last = Int(range.upperBound - range.lowerBound)
    #expect(try UnixSignal.realTime(last).rawValue == range.upperBound)
    #expect(try UnixSignal.realTime(3).name == "SIGRTMIN+3")
    #expect(try UnixSignal.realTime(3).isRealTime)
    #expect(!UnixSignal.user1.isRealTime)
  }

  @Test(arguments: [
    "", "USR3", "SIG", "0", "65", "99999999999", "-1", " USR1", "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x",
    "RTMIN+31", "RTMIN++1", "RTMIN+-1", "RTMAX-31", String(repeating: "9", count: 300),
  ])
  func badTextIsAClearError(text: String) {
    let error = #expect(throws: IPCError.self) { try UnixSignal(parsing: text) }
    #expect(error?.code == .invalidArgument)
    #expect((error?.description.count ?? 0) < 300, "\(error?.description ?? "")")
  }

  @Test func anOutOfRangeRealTimeOffsetNamesTheRange() {
    let span = Int(UnixSignal.realTimeRange.upperBound - UnixSignal.realTimeRange.lowerBound)
    for offset in [-1, span + 1, Int.min, Int.max] {
      let error = #expect(throws: IPCError.self) { try UnixSignal.realTime(offset) }
      #expect(error?.code == .invalidArgument)
      #expect(error?.reason.contains("SIGRTMIN+\(span)") == true, "\(error?.reason ?? "")")
    }
    for number in [Int32.min, -1, 0, UnixSignal.realTimeRange.upperBound + 1, .max] {
      #expect(throws: IPCError.self) { try UnixSignal(number) }
    }
  }

  @Test func namesDescriptionsAndWhatCanBeCaught() {
    #expect(UnixSignal.terminate.name == "SIGTERM")
    #expect(UnixSignal.user1.summary == "User defined signal 1")
    #expect(!UnixSignal.kill.canBeCaught && !UnixSignal.stop.canBeCaught)
    #expect(UnixSignal.terminate.canBeCaught)
    #expect(UnixSignal.standard.count == 31)
    #expect(UnixSignal.standard.allSatisfy { !$0.isRealTime })
  }

  @Test func aPidOfZeroOrLessIsRefusedBeforeKill() {
    // kill(0) and kill(-1) would signal this whole group or every process.
    for pid: pid_t in [0, -1, -2, .min] {
      let error = #expect(throws: IPCError.self) { try UnixSignal.user2.send(to: pid) }
      #expect(error?.code == .invalidArgument)
      #expect(throws: IPCError.self) { try UnixSignal.user2.send(to: pid, value: 1) }
      #expect(throws: IPCError.self) { try UnixSignal.user2.send(toGroup: pid) }
    }
  }

  @Test func aMissingProcessIsNoSuchProcess() {
    // Above /proc/sys/kernel/pid_max (at most 2^22): no process has it.
    let error = #expect(throws: IPCError.self) { try UnixSignal.user2.send(to: .max, value: 3) }
    #expect(error?.code == .noSuchProcess)
    #expect(error?.operation == "sigqueue")
    #expect(throws: IPCError.self) { try UnixSignal.user2.send(to: .max) }
  }

  @Test func uncatchableAndReservedSignalsAreRefusedBeforeAnythingChanges() throws {
    let before = currentMask()
    let last = Int(UnixSignal.realTimeRange.upperBound - UnixSignal.realTimeRange.lowerBound)
    for set: [UnixSignal] in [[], [.kill], [.user2, .stop], [try UnixSignal.realTime(last)]] {
      let blocking = #expect(throws: IPCError.self) { try SignalReceiver.blockInProcess(set) }
      #expect(blocking?.code == .invalidArgument, "\(set)")
      let receiving = #expect(throws: IPCError.self) { try SignalReceiver(set) }
      #expect(receiving?.code == .invalidArgument, "\(set)")
    }
    #expect(currentMask() == before)
  }

  /// This test process is an async program: libdispatch parks its main
  /// thread in sigsuspend with every signal unblocked, so a signal sent to
  /// the process goes there whatever the other threads block. The library's
  /// handler keeps each one, with its sender and value.
  @Test(.prompt) func aThreadThatDoesNotBlockTheSignalsHandsThemToTheReceiver() async throws {
    let signal = try UnixSignal.realTime(10)
    try SignalReceiver.blockInProcess([signal])
    let receiver = try SignalReceiver([signal])
    let me = getpid()
    for value: Int32 in 0..<1000 { try signal.send(to: me, value: value) }
    var values: [Int32] = []
    while values.count < 1000, let received = try await receiver.wait(timeout: .seconds(30)) {
      #expect(received.senderPID == me && received.code == .queue)
      values.append(received.value ?? -1)
    }
    // Each exactly once. In order too when one thread at most leaves the
    // signal unblocked (an async program's main thread); this test process
    // may run others, whose handlers race each other.
    #expect(values.sorted() == Array(0..<1000))
    #expect(try receiver.tryWait() == nil)
    // A plain kill: the sender and the code come through the handler too.
    try UnixSignal(signal.rawValue).send(to: me)
    let plain = try await receiver.wait(timeout: .seconds(30))
    #expect(plain?.code == .user && plain?.senderPID == me && plain?.value == nil)
  }

  /// The blocking wait reads its signalfd as C does, so a signal the
  /// library's handler keeps meanwhile (sent to the process, it reached a
  /// thread not blocking it) must end that read: the handler wakes the reader.
  /// Without the wake the reader sleeps on past the last signal; a watchdog
  /// then ends it with a plain signal of its own, and the values fall short.
  @Test(.prompt) func aBlockingWaitIsWokenForASignalTheHandlerKept() async throws {
    let signal = try UnixSignal.realTime(11)
    let receiver = try SignalReceiver([signal])
    let count = 300
    let reader = Mutex<pthread_t?>(nil)
    let done = Atomic<Bool>(false)
    async let values = onOwnThread { () throws -> [Int32] in
      defer { done.store(true, ordering: .releasing) }
      try SignalReceiver.blockInProcess([signal])  // in this thread: the others leave it to the handler
      reader.withLock { $0 = pthread_self() }
      var values: [Int32] = []
      while values.count < count, let value = try receiver.wait().value { values.append(value) }
      return values
    }
    while reader.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(1)) }
    let me = getpid()
    for value in 0..<Int32(count) {
      try signal.send(to: me, value: value)
      if value % 3 == 0 { try await Task.sleep(for: .milliseconds(1)) }  // let the reader block again
    }
    let deadline = ContinuousClock.now + .seconds(20)
    while !done.load(ordering: .acquiring) && ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(5))
    }
    if !done.load(ordering: .acquiring), let thread = reader.withLock({ $0 }) {
      _ = pthread_kill(thread, signal.rawValue)  // no value: the reader stops
    }
    #expect(try await values.sorted() == Array(0..<Int32(count)))
    #expect(try receiver.tryWait() == nil)
  }

  private func currentMask() -> [Bool] {
    var mask = sigset_t()
    pthread_sigmask(SIG_BLOCK, nil, &mask)
    return (1...64).map { sigismember(&mask, Int32($0)) == 1 }
  }
}
