import Glibc
import IPC
import Testing

/// An async wait at a resource limit throws a clear IPCError: it never traps
/// and never hangs. Each case runs the peer under `prlimit`, so the limit
/// holds for that process only.
@Suite struct AsyncLimitsTests {
  /// Runs entry point `entry` of the Swift peer through `launcher` (a program
  /// and its arguments, ending where the peer's path goes).
  private func runLimited(_ entry: String, launcher: [String]) throws -> (ChildProcess.ExitStatus, String) {
    try runToEnd(
      launcher[0], Array(launcher.dropFirst()) + [Tools.testPeer],
      environment: .inherit(updating: ["IPC_CHILD_ENTRY_POINT": entry]))
  }

  @Test func theFirstAwaitAtTheDescriptorLimitThrowsEMFILE() throws {
    let (status, output) = try runLimited(
      "async-at-descriptor-limit", launcher: ["/usr/bin/prlimit", "--nofile=64:64"])
    #expect(status == .exited(0), "output: \(output)")
    #expect(output.contains("EMFILE: true"), "the peer could not fill its descriptor table: \(output)")
    #expect(output.contains("threw: \(EMFILE) "), "output: \(output)")
    #expect(output.contains("RLIMIT_NOFILE"), "the error names the limit: \(output)")
  }

  /// RLIMIT_NPROC does not bind root, so the peer runs as nobody (setpriv
  /// needs root to switch); it lowers the limit itself once it runs.
  @Test(.enabled(if: getuid() == 0, "switching to nobody needs root"))
  func anAwaitThatNeedsAWaitingThreadAtTheThreadLimitThrowsEAGAIN() throws {
    let (status, output) = try runLimited(
      "async-at-thread-limit",
      launcher: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    #expect(status == .exited(0), "output: \(output)")
    #expect(output.contains("threw: \(EAGAIN) "), "output: \(output)")
    #expect(output.contains("thread limit"), "the error names the limit: \(output)")
  }
}
