import CIPCBench
import Glibc
import IPC

/// The `process spawn+wait` row: this process alone starts a program that
/// exits at once and waits for it, again and again. There is no peer, no
/// kernel object and no message, so none of the fixture's steps apply; the
/// children inherit the parent's CPU when it is pinned.
///
/// C calls `posix_spawn` without file actions or attributes, then `waitpid`
/// (spawn.c). Swift calls `ChildProcess.start(executable:)` and `wait()`,
/// which add what makes the library's children safe: the executable checked
/// before the spawn, an empty signal mask and default dispositions in the
/// child, every inherited descriptor above 2 closed in it, a pidfd
/// (`pidfd_open`) to wait on and signal through.
enum SpawnBench {
  /// The program each child runs.
  static let program = "/bin/true"

  /// Nanoseconds per spawn and wait, and the status of the first child that
  /// did not exit with 0 (0 if every one did; the loop stops there).
  static func measure(_ impl: Implementation, iterations: Int, pinning: Options.Pinning)
    throws -> (nanoseconds: Double, childStatus: Int32)
  {
    if let cpus = Runner.cpus(pinning) { _ = cipcb_pin_to_cpu(cpus.parent) }
    var failed: Int32 = 0
    let start = cipcb_now_ns()
    switch impl {
    case .c: try check(cipcb_spawn_wait(program, iterations, &failed), "posix_spawn", program)
    case .swift: failed = try spawnAndWait(count: iterations)
    }
    let elapsed = cipcb_now_ns() - start
    return (Double(elapsed) / Double(iterations), failed)
  }

  /// The Swift loop: the status of the first child that failed, or 0.
  private static func spawnAndWait(count: Int) throws(IPCError) -> Int32 {
    for _ in 0..<count {
      let child = try ChildProcess.start(executable: program)
      let status = try child.wait()
      if !status.isSuccess { return status.shellStatus }
    }
    return 0
  }
}
