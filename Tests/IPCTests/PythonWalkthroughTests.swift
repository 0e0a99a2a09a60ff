import Foundation
import IPC
import Testing

/// The program of Docs/PythonWalkthrough.md: the page shows exactly the file
/// the package builds (target python-walkthrough), it stays within 45 lines of
/// code, it runs to a clean end, and it leaves no queue behind however it ends.
@Suite("The Python walk-through program")
struct PythonWalkthroughTests {
  static let source = Tools.packageRoot + "/Docs/Examples/walkthrough/main.swift"
  static let program = Tools.productsDirectory + "/python-walkthrough"

  /// The ```swift block that follows the page's `<!-- example: part of ... -->` marker
  /// (DocExamplesTests checks it is in the program; this test, that it is all of it).
  private func blockOnThePage() throws -> String {
    let page = try String(contentsOfFile: Tools.packageRoot + "/Docs/PythonWalkthrough.md", encoding: .utf8)
    let marker = try #require(
      page.range(of: "<!-- example: part of Docs/Examples/walkthrough/main.swift -->\n```swift\n"))
    let rest = page[marker.upperBound...]
    let end = try #require(rest.range(of: "```\n"))
    return String(rest[..<end.lowerBound])
  }

  @Test func thePageShowsExactlyTheProgramTheTestsRun() throws {
    #expect(try blockOnThePage() == String(contentsOfFile: Self.source, encoding: .utf8))
  }

  @Test func theProgramIsAtMost45LinesOfCode() throws {
    let lines = try String(contentsOfFile: Self.source, encoding: .utf8).split(separator: "\n")
    let code = lines.filter { line in
      let text = line.trimmingCharacters(in: .whitespaces)
      return !text.isEmpty && !text.hasPrefix("//")
    }
    #expect(code.count <= 45, "\(code.count) lines of code")
  }

  /// The program's children that run, once they do, and the id of the queue
  /// they were handed (from the handover variable in their environment).
  private func childrenAndQueue(of parent: ChildProcess) throws -> (children: [pid_t], queue: Int32) {
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
      let list =
        (try? String(contentsOfFile: "/proc/\(parent.pid)/task/\(parent.pid)/children", encoding: .utf8))
        ?? ""
      let children = list.split(separator: " ").compactMap { pid_t($0) }
      // Any child will do: the sender may have ended already.
      for child in children {
        guard let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(child)/environ")),
          let handover = environment.split(separator: 0).map({ String(decoding: $0, as: UTF8.self) })
            .first(where: { $0.hasPrefix("IPC_CHILD_HANDOVER=queue=sysv-msg,") }),
          let id = handover.split(separator: ",").dropFirst().first.flatMap({ Int32($0) })
        else { continue }
        return (children, id)
      }
      usleep(2_000)
    }
    throw SpawnFailure(message: "the program's children never started")
  }

  @Test func itRunsToACleanEndWith21MessagesAndRemovesTheQueue() throws {
    let output = OutputFile()
    let errors = OutputFile()
    let run = try ChildProcess.start(
      executable: Self.program, standardInput: .null, standardOutput: .write(to: output.path),
      standardError: .write(to: errors.path))
    let (_, queue) = try childrenAndQueue(of: run)
    defer { msgctl(queue, IPC_RMID, nil) }
    #expect(try run.wait(timeout: .seconds(60)) == .exited(0), "\(errors.text)")
    let received = output.text.split(separator: "\n").filter { $0.hasPrefix("Received") }
    #expect(received.count == 21)
    #expect(received.filter { $0.hasPrefix("Received JSON:") }.count == 1)
    #expect(received.contains("Received JSON: Greeting(from: \"sender\", text: \"Hello from the sender\")"))
    #expect((0..<20).allSatisfy { received.contains("Received text: Batch message \($0)") })
    #expect(errors.text.isEmpty)
    #expect(!systemVExists(queue, in: "msg"), "queue \(queue) left behind")
  }

  @Test func killedWithSIGKILLItLeavesNoChildAndNoQueue() throws {
    let run = try ChildProcess.start(executable: Self.program, standardInput: .null, standardOutput: .null)
    let (children, queue) = try childrenAndQueue(of: run)
    defer { msgctl(queue, IPC_RMID, nil) }
    try run.kill()
    #expect(try run.wait() == .signalled(SIGKILL, coreDumped: false))
    #expect(waitUntilEnded(children), "children outlived the program")
    let deadline = ContinuousClock.now + .seconds(10)
    while systemVExists(queue, in: "msg") && ContinuousClock.now < deadline { usleep(5_000) }
    #expect(!systemVExists(queue, in: "msg"), "queue \(queue) left behind")
  }

  @Test func ctrlCStopsTheChildrenRemovesTheQueueAndEndsByTheSignal() throws {
    let run = try ChildProcess.start(executable: Self.program, standardInput: .null, standardOutput: .null)
    let (children, queue) = try childrenAndQueue(of: run)
    defer { msgctl(queue, IPC_RMID, nil) }
    try run.send(SIGINT)
    #expect(try run.wait(timeout: .seconds(30)) == .signalled(SIGINT, coreDumped: false))
    #expect(children.allSatisfy(hasEnded))
    #expect(!systemVExists(queue, in: "msg"), "queue \(queue) left behind")
  }
}
