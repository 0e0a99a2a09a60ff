import IPC
import Testing

/// Every async wait of the library at once, more of them than the cooperative
/// pool has threads (4 x cores, across every mechanism): an unrelated task must
/// still run while all of them are pending, and every wait must end with what
/// was fed to it. It runs in a process of its own (the Swift peer's
/// `pool-safety`, Tests/ProcessPeer/PoolSafety.swift): in this one, other
/// suites' synchronous tests hold pool threads for seconds.
///
/// A blocking implementation fails it: its first waits hold every pool
/// thread, so the unrelated task can run only once the feeder thread gives up
/// waiting for it and feeds everything (after 15 s). Checked by making
/// `WaitThreads.run` call its body in place, and by making an anonymous
/// pipe's async receive call the blocking one.
@Suite("Pool safety") struct PoolSafetyTests {
  @Test func waitsOfEveryMechanismBeyondThePoolsWidthLeaveItFree() throws {
    let (child, output, errors) = try startPeer("pool-safety")
    let status = try child.wait()
    #expect(status == .exited(0), "errors: \(errors.text)")
    #expect(output.text.contains("verdict: ok"), "\(output.text)")
    #expect(output.text.contains("waits pending"), "\(output.text)")
  }
}
