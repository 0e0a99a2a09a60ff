import Foundation
import IPC  // not @testable: the guide's examples use only the public API
import Testing

/// Docs/Processes.md against its program, Docs/Examples/processes/main.swift
/// (the `processes-guide` target): the program, run, goes through every
/// example, checks each result itself and prints what the guide promises.
/// That every Swift block of the guide is in the program word for word (each
/// is marked `<!-- example: part of ... -->`) is checked by DocExamplesTests.
@Suite("Processes guide")
struct ProcessesGuideTests {
  /// Every line the program prints, in order (pids and ids left out).
  static let expectedOutput = [
    "Entry points",
    "  the worker squared 1, 2, 3 into 1, 4, 9, then exited with status 0",
    "greet: hello, Ada and Grace",
    "  greet exited with status 0",
    "  returned, threw, unknown: exited with status 0; exited with status 1; exited with status 127",
    "  entry point 'fail': failed: fail on the guide failed: failing on purpose [EINVAL]",
    "  entry point 'no-such-entry': this program has no entry point named 'no-such-entry'"
      + " (it has: fail, greet, inspect, nap, reply, team-lead, worker)",
    "  refused: posix_spawn on entry point 'no-such-entry' failed: this program has no entry point named"
      + " 'no-such-entry' (it has: fail, greet, inspect, nap, reply, team-lead, worker) [EINVAL]",
    "Handing objects over",
    "  through a queue whose name was unlinked: pong to ping",
    "  Jobs opened; a missing name and a wrong kind are 2 clear errors",
    "Running any program",
    "  sort -n: 1 2 10, then exited with status 0",
    "  hello from /tmp, HOME=unset",
    "  ONLY=this",
    "  via five",
    "Exit status and waiting",
    "  exited with status 3 (shell status 3)",
    "  killed by SIGTERM (signal 15) (shell status 143)",
    "  sleep 30: running, running after 0.1 s, then killed by SIGTERM (signal 15)",
    "  awaited 3 sleepers: exited with status 0, exited with status 0, exited with status 0",
    "  a cancelled await: ECANCELED; the child was still running",
    "  a released handle: the child finished its work and was reaped",
    "  reaped elsewhere: ECHILD",
    "Signals to a child",
    "  kill after reaping: ESRCH, the child has ended (exited with status 0) and been reaped;"
      + " SIGKILL was not sent",
    "Supervisor",
    "  first failure: sh exited with status 3; exit code 3",
    "  worker killed by SIGTERM (signal 15) (stopped), sh exited with status 3; the queue is removed",
    "  stopped on request: sh killed by SIGKILL (signal 9) (stopped), after the grace period",
    "  stopped by SIGTERM; 0 of 1 children exited with status 0; exit code 143",
    "Death with the parent",
    "  team-lead killed by SIGKILL (signal 9); nap removed its queue and stopped",
    "Errors",
    "  ENOENT, EACCES, EACCES, EINVAL, EINVAL, EINVAL",
    "All examples ran as the guide says.",
  ]

  @Test func theProgramRunsEveryExampleAsTheGuideSays() throws {
    let output = OutputFile()
    let errors = OutputFile()
    let guide = try ChildProcess.start(
      executable: Tools.productsDirectory + "/processes-guide", standardInput: .null,
      standardOutput: .write(to: output.path), standardError: .write(to: errors.path))
    guard let status = try guide.wait(timeout: .seconds(120)) else {
      try? guide.kill()
      _ = try? guide.wait()
      Issue.record("processes-guide did not end within 120 s and was killed; it printed:\n\(output.text)")
      return
    }
    #expect(status == .exited(0), "processes-guide \(status): \(errors.text)")
    #expect(errors.text.isEmpty)
    #expect(output.text.split(separator: "\n").map(String.init) == Self.expectedOutput)
  }
}
