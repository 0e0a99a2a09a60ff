import Foundation
import IPC
import Testing

/// `ipc signal send` and `ipc signal wait` with each other, the shell's
/// `kill`, and Python's `os.kill` and `signal.sigtimedwait`, both ways.
@Suite("ipc signal")
struct SignalCommandTests {
  /// Starts `ipc signal wait ARGUMENTS` and waits until it blocks `signals`.
  private func waiter(_ arguments: [String], blocking signals: [UnixSignal]) throws -> SpawnedProcess {
    let waiter = try SpawnedProcess(Tools.ipc, ["signal", "wait"] + arguments)
    #expect(waitUntilBlocking(waiter.pid, signals), "ipc signal wait never blocked \(signals)")
    return waiter
  }

  @Test func sendAndWaitTalkWithTheShellAndPython() throws {
    let realTime = try UnixSignal.realTime(1)
    let waiter = try waiter(
      [
        "USR1", realTime.name.replacingOccurrences(of: "SIG", with: ""), "--count", "4", "--show-sender",
        "--timeout", "60",
      ], blocking: [.user1, realTime])
    // One at a time: two pending at once would arrive lowest number first.
    func received(_ count: Int) -> Bool {
      eventually(within: .seconds(20)) { waiter.standardOutput.split(separator: "\n").count == count }
    }
    let withValue = try Tools.ipc("signal", "send", "\(waiter.pid)", "RTMIN+1", "--value", "-7")
    #expect(withValue.exitStatus == 0, "\(withValue.standardError)")
    #expect(received(1))
    let shell = try SpawnedProcess.run("/bin/sh", ["-c", "kill -s USR1 \(waiter.pid)"])
    #expect(shell.exitStatus == 0, "\(shell.standardError)")
    #expect(received(2))
    let python = try Python.run("import os, signal; os.kill(\(waiter.pid), signal.SIGRTMIN + 1)")
    #expect(python.exitStatus == 0, "\(python.standardError)")
    #expect(received(3))
    let byPid = try Tools.ipc("signal", "send", "\(waiter.pid)", "\(realTime.rawValue)")
    #expect(byPid.exitStatus == 0, "\(byPid.standardError)")
    #expect(waiter.wait())
    #expect(waiter.exitStatus == 0, "\(waiter.standardError)")
    let uid = getuid()
    #expect(
      waiter.standardOutput.split(separator: "\n").map(String.init) == [
        "\(realTime.name)\t-7\t\(withValue.pid)\t\(uid)", "SIGUSR1\t-\t\(shell.pid)\t\(uid)",
        "\(realTime.name)\t-\t\(python.pid)\t\(uid)", "\(realTime.name)\t-\t\(byPid.pid)\t\(uid)",
      ])
  }

  @Test func withoutShowSenderALineIsTheNameAndTheValue() throws {
    let waiter = try waiter(["USR2", "RTMIN+2", "--count", "2", "--timeout", "60"], blocking: [.user2])
    #expect(try Tools.ipc("signal", "send", "\(waiter.pid)", "usr2").exitStatus == 0)
    #expect(eventually(within: .seconds(20)) { !waiter.standardOutput.isEmpty })
    #expect(
      try Tools.ipc("signal", "send", "\(waiter.pid)", "SIGRTMIN+2", "--value", "2147483647").exitStatus == 0)
    #expect(waiter.wait())
    #expect(waiter.standardOutput == "SIGUSR2\n\(try UnixSignal.realTime(2).name)\t2147483647\n")
  }

  /// Python blocks the signal and waits with sigtimedwait; what it reads is
  /// what sigqueue sent: the signal, SI_QUEUE, the sender's pid.
  @Test(.enabled(if: Python.posixIPC || Python.sysvIPC)) func pythonSigtimedwaitReceivesWhatSendQueues()
    throws
  {
    let script = """
      import signal, sys
      sig = signal.SIGRTMIN + 3
      signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
      print("ready", flush=True)
      info = signal.sigtimedwait([sig], 60)
      print(info.si_signo, info.si_code, info.si_pid, info.si_uid, flush=True)
      """
    let python = try SpawnedProcess("/usr/bin/env", ["python3", "-c", script])
    #expect(eventually(within: .seconds(30)) { python.standardOutput.contains("ready") })
    let send = try Tools.ipc("signal", "send", "\(python.pid)", "RTMIN+3", "--value", "11")
    #expect(send.exitStatus == 0, "\(send.standardError)")
    #expect(python.wait())
    let expected = "\(UnixSignal.realTimeRange.lowerBound + 3) \(SI_QUEUE) \(send.pid) \(getuid())"
    #expect(python.standardOutput.split(separator: "\n").last.map(String.init) == expected)
  }

  @Test func aProcessGroupIsSignalledAsOne() throws {
    // setsid makes the waiter lead a group of its own, numbered as its pid.
    let waiter = try SpawnedProcess(
      "/usr/bin/setsid", [Tools.ipc, "signal", "wait", "HUP", "--timeout", "60"])
    #expect(waitUntilBlocking(waiter.pid, [.hangup]))
    let send = try Tools.ipc("signal", "send", "--group", "\(waiter.pid)", "HUP")
    #expect(send.exitStatus == 0, "\(send.standardError)")
    #expect(waiter.wait())
    #expect(waiter.standardOutput == "SIGHUP\n")
  }

  @Test(arguments: [
    (["send", "abc", "USR1"], "PID"), (["send", "0", "USR1"], "PID"), (["send", "-5", "USR1"], "PID"),
    (["send", "2147483648", "USR1"], "PID"), (["send", "1", "NOPE"], "SIGNAL"),
    (["send", "1", "RTMIN+99"], "SIGNAL"), (["send", "1", "0"], "SIGNAL"),
    (["send", "1", "USR1", "--value", "2147483648"], "--value"),
    (["send", "1", "USR1", "--value", "-2147483649"], "--value"),
    (["send", "--group", "1", "USR1", "--value", "1"], "--value"), (["send", "1"], "SIGNAL"),
    (["wait", "KILL"], "SIGKILL"), (["wait", "USR1", "STOP"], "SIGSTOP"), (["wait", "RTMAX"], "reserved"),
    (["wait", "USR1", "--count", "0"], "--count"), (["wait"], "SIGNAL"),
    (["wait", "USR1", "--timeout", "-1"], "--timeout"),
  ])
  func badInputIsAUsageErrorAndSendsNothing(arguments: [String], mentioning: String) throws {
    let run = try SpawnedProcess.run(Tools.ipc, ["signal"] + arguments)
    expectUsageError(run, arguments, mentioning: mentioning)
  }

  @Test func failuresSayWhatHappened() throws {
    let missing = try Tools.ipc("signal", "send", "2147483647", "USR1", "--value", "1")
    #expect(missing.exitStatus == 1)
    #expect(missing.standardError.contains("no process has this pid"), "\(missing.standardError)")
    let timedOut = try Tools.ipc("signal", "wait", "USR2", "--timeout", "0.1")
    #expect(timedOut.exitStatus == 1)
    #expect(timedOut.standardError.contains("timed out"), "\(timedOut.standardError)")
  }

  /// As nobody, signalling a process of root is EPERM (exit 1), and the
  /// target is untouched.
  @Test func anotherUsersProcessIsNotPermitted() throws {
    let target = try waiter(["USR1", "--timeout", "60"], blocking: [.user1])
    let run = try SpawnedProcess.run(
      "/usr/bin/setpriv",
      [
        "--reuid=65534", "--regid=65534", "--clear-groups", Tools.ipc, "signal", "send", "\(target.pid)",
        "USR1",
      ])
    #expect(run.exitStatus == 1, "\(run.standardError)")
    #expect(run.standardError.contains("[EPERM]"), "\(run.standardError)")
    #expect(run.standardError.contains("another user"), "\(run.standardError)")
    try UnixSignal.user1.send(to: target.pid, value: 3)
    #expect(target.wait())
    #expect(target.standardOutput == "SIGUSR1\t3\n")
  }

  @Test func theSignalsDemoHandsOutJobsAndEndsItsWorkersCleanly() throws {
    let run = try SpawnedProcess.run(Tools.ipc, ["demo", "signals", "--workers", "3", "--jobs", "60"])
    #expect(run.exitStatus == 0, "\(run.standardError)")
    let lines = run.standardOutput.split(separator: "\n")
    #expect(lines.filter { $0.hasPrefix("parent: answer ") }.count == 60)
    #expect(lines.filter { $0.contains("is ready") }.count == 3)
    #expect(
      lines.filter { $0.contains("SIGTERM from pid \(run.pid)") && $0.contains("ending cleanly") }.count == 3)
    #expect(
      lines.last == "signals: 60 jobs, 60 right answers; 3 workers ended cleanly", "\(run.standardOutput)")
  }

  @Test(arguments: [
    ["--workers", "0"], ["--workers", "33"], ["--jobs", "-1"], ["--jobs", "10001"], ["extra"],
  ])
  func theSignalsDemoRefusesBadNumbers(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, ["demo", "signals"] + arguments)
    expectUsageError(run, arguments)
  }
}
