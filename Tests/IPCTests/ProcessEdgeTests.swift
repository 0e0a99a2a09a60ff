import Foundation
import IPC
import Testing

/// The edges an adversarial review found: input that must not trap, bytes
/// that must pass untouched, resources a long-lived supervisor must not
/// hoard, and process-wide settings of the program that must be respected.
@Suite("Processes at the edges")
struct ProcessEdgeTests {
  @Test(arguments: [Int32.max, Int32.min, -1, 1024])
  func anyDescriptorNumberIsAnErrorNeverATrap(_ number: Int32) throws {
    for start in [
      { _ = try startPeer("return", descriptors: [number: .null]) },
      { _ = try ChildProcess.start(executable: "/bin/true", descriptors: [number: .null]) },
    ] as [() throws -> Void] {
      let error = #expect(throws: IPCError.self) { try start() }
      #expect(error?.reason == "descriptor number \(number) is out of range: 3 to 1023")
    }
  }

  @Test func enormousDurationsMeanForeverNotATrap() throws {
    let child = try ChildProcess.start(executable: "sleep", arguments: ["0.1"])
    #expect(try child.wait(timeout: .seconds(1e20)) == .exited(0))
    let supervisor = try Supervisor(gracePeriod: .seconds(1e20), onSignal: .ignore)
    let sleeper = try startPeer("sleep", arguments: ["300"], in: supervisor)
    #expect(sleeper.output.waitFor("sleeping"))
    supervisor.stop()
    #expect(
      supervisor.wait(timeout: .seconds(1e20))?.exits.first?.status == .signalled(SIGTERM, coreDumped: false))
  }

  @Test func enormousTimeoutsOfTheOtherWaitsAreForeverToo() throws {
    let set = try SystemV.SemaphoreSet.create(values: [1])
    defer { try? set.remove() }
    #expect(try set.wait(0, timeout: .seconds(1e20)))
    try withPOSIXQueue { queue in
      try queue.send(Array("x".utf8))
      #expect(try queue.receive(timeout: .seconds(1e20))?.text == "x")
    }
    try withQueue { queue in
      try queue.send(Array("y".utf8), type: 1)
      #expect(try queue.receive(.any, timeout: .seconds(1e20))?.text == "y")
    }
  }

  @Test(.prompt) func environmentBytesThatAreNotUTF8PassUntouched() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      // "café" in Latin-1: bytes a Swift String cannot hold as they are.
      var raw: [CChar] = [99, 97, 102, CChar(bitPattern: 0xE9), 0]
      guard setenv("IPC_TEST_RAW", &raw, 1) == 0 else { exit(3) }
      for environment in [ChildProcess.Environment.inherit, .inherit(updating: ["X": "1"])] {
        let output = OutputFile()
        let child = try ChildProcess.start(
          executable: "/bin/sh", arguments: ["-c", "printf %s \"$IPC_TEST_RAW\" | od -An -tx1"],
          environment: environment, standardOutput: .write(to: output.path))
        guard try child.wait() == .exited(0) else { exit(4) }
        guard output.text.split(separator: " ").map(String.init).joined(separator: " ") == "63 61 66 e9\n"
        else { exit(5) }
      }
    }
  }

  @Test(.prompt) func aLongLivedSupervisorKeepsNoDescriptorOfChildrenThatEnded() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      func openCount() -> Int { (0..<Int32(4096)).filter { fcntl($0, F_GETFD) != -1 }.count }
      let supervisor = try Supervisor(onSignal: .ignore)
      _ = try ChildProcess.start(executable: "/bin/true", in: supervisor).wait()
      let before = openCount()
      for _ in 0..<100 { _ = try ChildProcess.start(executable: "/bin/true", in: supervisor).wait() }
      // The watcher may still hold the last few for a moment.
      usleep(100_000)
      guard openCount() <= before + 2 else { exit(3) }
      guard supervisor.runningChildren.isEmpty, supervisor.wait().exits.count == 101 else { exit(4) }
    }
  }

  @Test func aFIFOAsAStreamIsRefusedInsteadOfHangingThisProcess() throws {
    let path = "/tmp/ipc-test-\(getpid())-\(UUID().uuidString).fifo"
    let fifo = try NamedPipe.create(at: path)
    defer { try? fifo.remove() }
    // posix_spawn waits for the child's file actions: an open of a FIFO
    // without its other side would hang this very call.
    for start in [
      { _ = try ChildProcess.start(executable: "seq", arguments: ["3"], standardOutput: .write(to: path)) },
      { _ = try ChildProcess.start(executable: "cat", standardInput: .read(from: path)) },
    ] as [() throws -> Void] {
      let error = #expect(throws: IPCError.self) { try start() }
      #expect(error?.reason.contains("is a FIFO") == true)
    }
    // The way that works: the ends are opened here, then handed.
    let reader = try fifo.openForReading(nonBlocking: true)
    let writer = try fifo.openForWriting()
    let output = OutputFile()
    let producer = try ChildProcess.start(executable: "seq", arguments: ["3"], standardOutput: .pipe(writer))
    let consumer = try ChildProcess.start(
      executable: "cat", standardInput: .pipe(reader), standardOutput: .write(to: output.path))
    try writer.close()
    try reader.close()
    #expect(try producer.wait(timeout: .seconds(20)) == .exited(0))
    #expect(try consumer.wait(timeout: .seconds(20)) == .exited(0))
    #expect(output.text == "1\n2\n3\n")
  }

  @Test func aRefusedStartLeavesTheOutputFileAlone() throws {
    let output = OutputFile()
    try "precious".write(toFile: output.path, atomically: true, encoding: .utf8)
    #expect(throws: IPCError.self) {
      try ChildProcess.start(
        executable: "/bin/true", arguments: ["a\0b"], standardOutput: .write(to: output.path))
    }
    #expect(throws: IPCError.self) {
      try ChildProcess.start(
        executable: "/bin/true", workingDirectory: "/no/such/directory",
        standardOutput: .write(to: output.path))
    }
    #expect(output.text == "precious")
    let missing = #expect(throws: IPCError.self) {
      try ChildProcess.start(executable: "/bin/true", standardInput: .read(from: "/no/such/input"))
    }
    #expect(
      missing?.reason.hasPrefix("the file /no/such/input for the child's descriptor 0 cannot be opened")
        == true)
  }

  @Test(.prompt) func theHighestNumbersWorkAtTheUsualDescriptorLimit() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      var limit = rlimit(rlim_cur: 1024, rlim_max: 1024)
      guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { exit(3) }
      let plain = try ChildProcess.start(
        executable: "/bin/sh", arguments: ["-c", "test -e /proc/self/fd/1023"], descriptors: [1023: .null])
      guard try plain.wait() == .exited(0) else { exit(4) }
      let peer = try startPeer("descriptors", descriptors: [1023: .null, 1022: .null])
      guard try peer.child.wait() == .exited(0) else { exit(5) }
      // The lifeline takes the lowest free number, not one past 1023.
      guard peer.output.text == "0 1 2 3 1022 1023\n" else { exit(6) }
    }
  }

  @Test(.prompt) func withSIGCHLDIgnoredStartsWorkWaitsSayWhyAndSupervisorsRefuse() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      signal(SIGCHLD, SIG_IGN)
      for _ in 0..<50 {
        // Never an error for a program that ran, and never a kill of a pid not ours.
        let child = try ChildProcess.start(executable: "/bin/true")
        do {
          _ = try child.wait()
          exit(3)
        } catch let error as IPCError {
          guard error.code == .noChild, error.reason.contains("SIGCHLD is ignored") else { exit(4) }
        }
      }
      do {
        _ = try Supervisor()
        exit(5)
      } catch let error as IPCError {
        guard error.code == .noChild else { exit(6) }
      }
    }
  }

  @Test func aStopRacingAStartNeverLosesTheChild() throws {
    for _ in 0..<40 {
      let supervisor = try Supervisor(onSignal: .ignore)
      let started = BackgroundWork { () throws -> [pid_t] in
        var pids: [pid_t] = []
        for _ in 0..<3 {
          do {
            pids.append(try ChildProcess.start(executable: "/bin/true", in: supervisor).pid)
          } catch let error as IPCError where error.object == "supervisor" {
            // Refused: the group is stopping or has finished.
            break
          }
        }
        return pids
      }
      usleep(UInt32.random(in: 0...3_000))
      supervisor.stop()
      let outcome = supervisor.wait()
      let pids = try started.value()
      #expect(Set(outcome.exits.map(\.pid)) == Set(pids), "a started child is missing from the outcome")
    }
  }

  @Test(.prompt) func aFinishingSupervisorLeavesADispositionTheProgramSetAlone() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      let supervisor = try Supervisor()
      _ = try ChildProcess.start(executable: "/bin/true", in: supervisor)
      signal(SIGTERM, SIG_IGN)  // the program's own choice, made while the group runs
      _ = supervisor.wait()
      var current = sigaction()
      sigaction(SIGTERM, nil, &current)
      // Still SIG_IGN (1), not the default the supervisor found when it started.
      guard unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1 else { exit(3) }
    }
  }

  @Test(.prompt, .enabled(if: getuid() == 0, "needs root to change user"))
  func aWorkingDirectoryThatCannotBeEnteredIsNamed() async {
    await #expect(processExitsWith: .success) {
      alarm(60)
      guard setgid(65534) == 0, setuid(65534) == 0 else { exit(3) }
      do {
        _ = try ChildProcess.start(executable: "/bin/true", workingDirectory: "/root")
        exit(4)
      } catch let error as IPCError {
        guard error.reason == "the working directory /root cannot be entered by this user" else { exit(5) }
      }
    }
  }

  @Test func stoppingAGroupLeaderStopsItsWholeProcessGroup() throws {
    let output = OutputFile()
    let supervisor = try Supervisor(gracePeriod: .milliseconds(500), onSignal: .ignore)
    _ = try ChildProcess.start(
      executable: "/bin/sh", arguments: ["-c", "sleep 300 & echo $!; wait"],
      standardOutput: .write(to: output.path),
      newProcessGroup: true, in: supervisor)
    #expect(output.waitFor("\n"))
    let grandchild = try #require(firstNumber(in: output.text))
    defer { kill(grandchild, SIGKILL) }
    _ = try ChildProcess.start(executable: "/bin/false", in: supervisor)
    #expect(supervisor.wait().firstFailure?.name == "false")
    #expect(waitUntilEnded([grandchild]), "the leader's own child outlived the stop")
  }
}
