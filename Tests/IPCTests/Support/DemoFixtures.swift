import Foundation
import Testing

/// What the demo tests read about the processes of a running `ipc demo`
/// from /proc: its children, the role each runs, whether they have ended.
enum DemoProcesses {
  /// The children of `pid` now (every thread's list: any thread may spawn).
  static func children(of pid: pid_t) -> [pid_t] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.flatMap { task in
      let list = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
      return list.split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
    }
  }

  /// The entry point a child of `ipc` runs (`demo-receiver`, `bounded-consumer`):
  /// the child removes the variable that names it from its environment, but
  /// /proc/PID/environ shows the environment it started with.
  static func entryPoint(of pid: pid_t) -> String? {
    let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
    let prefix = "IPC_CHILD_ENTRY_POINT="
    return environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
      .first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
  }

  /// Kills the demo's parent with SIGKILL and expects, within `timeout`,
  /// every one of `children` to have ended and `objectsGone` to hold. Any
  /// child still running afterwards is killed, so a failed test leaves none.
  static func expectKillingTheParentLeavesNothing(
    _ demo: SpawnedProcess, children: [pid_t], timeout: Duration = .seconds(10),
    objectsGone: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    defer { for child in children where !hasEnded(child) { kill(child, SIGKILL) } }
    #expect(!children.isEmpty, "no child was seen running", sourceLocation: sourceLocation)
    kill(demo.pid, SIGKILL)
    demo.wait(timeout: timeout)
    _ = eventually(within: timeout, every: .milliseconds(10)) {
      children.allSatisfy(hasEnded) && objectsGone()
    }
    for child in children {
      #expect(hasEnded(child), "child \(child) still runs", sourceLocation: sourceLocation)
    }
    #expect(objectsGone(), "the demo's objects are left behind", sourceLocation: sourceLocation)
  }
}
