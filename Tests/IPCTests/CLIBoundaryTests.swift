import Foundation
import IPC
import Testing

/// Values at the edges of what the kernel holds, checked on the real `ipc`:
/// the boundary passes, one past it is a usage error (exit 2, one line) that
/// changes nothing.
@Suite("CLI boundaries")
struct CLIBoundaryTests {
  // MARK: msg create --max-bytes

  /// IPC_SET keeps only the low 32 bits of msg_qbytes: 4294967296 would make a queue that holds 0 bytes.
  @Test(arguments: ["\(SystemV.MessageQueue.maxBytesCeiling + 1)", "4294967296", "4294967297"])
  func maxBytesTheKernelCannotHoldMakesNoQueue(value: String) throws {
    let key = TestKeys.next()
    defer { try? SystemV.MessageQueue.open(key: key).remove() }
    let arguments = ["msg", "create", "--key", "\(key)", "--max-bytes", value]
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: "--max-bytes")
    #expect(run.standardError.contains("to \(SystemV.MessageQueue.maxBytesCeiling)"), "\(run.standardError)")
    #expect((try? SystemV.MessageQueue.open(key: key)) == nil, "a queue was made")
  }

  @Test func maxBytesTheKernelCannotHoldLeavesAnExistingQueueAsItWas() throws {
    let key = TestKeys.next()
    let queue = try SystemV.MessageQueue.create(key: key)
    defer { try? queue.remove() }
    let before = try queue.stat().maxBytes
    let arguments = ["msg", "create", "--key", "\(key)", "--open-existing", "--max-bytes", "4294967296"]
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: "--max-bytes")
    #expect(try queue.stat().maxBytes == before)
  }
}

/// Output that cannot be written is a failure: exit 1 and one line on standard error.
@Suite("CLI output failures")
struct CLIOutputFailureTests {
  @Test(arguments: [["limits"], ["list", "--json"], ["--help"], ["msg", "--help"], ["list"]])
  func aFailedWriteToStandardOutputExitsOne(arguments: [String]) throws {
    let quoted = ([Tools.ipc] + arguments).map { "'\($0)'" }.joined(separator: " ")
    let run = try SpawnedProcess.run("/bin/sh", ["-c", "exec \(quoted) > /dev/full"])
    #expect(run.exitStatus == 1, "\(arguments): \(run.standardError)")
    let lines = run.standardError.split(separator: "\n")
    #expect(lines.count == 1, "\(run.standardError)")
    #expect(run.standardError.contains("standard output"), "\(run.standardError)")
  }
}
