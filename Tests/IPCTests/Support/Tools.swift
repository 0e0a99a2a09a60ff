import Foundation
import Testing

/// Paths of the programs the tests run as peers.
enum Tools {
  /// The folder holding the built products (`ipc` and this test binary).
  static let productsDirectory: String = {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    return (me as NSString).deletingLastPathComponent
  }()

  /// The package's root folder, found from this source file.
  static let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }  // Support, IPCTests, Tests, file
    return url.path
  }()

  /// The `ipc` command built with the tests.
  static var ipc: String { productsDirectory + "/ipc" }

  /// Runs `ipc ARGUMENTS...` to completion.
  static func ipc(_ arguments: String...) throws -> SpawnedProcess {
    try SpawnedProcess.run(ipc, arguments)
  }

  /// Runs `ipc ARGUMENTS...`, expects it to succeed, and returns what it printed, line by line.
  static func ipcLines(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws
    -> [String]
  {
    let run = try SpawnedProcess.run(ipc, arguments)
    #expect(run.exitStatus == 0, "\(run.standardError)", sourceLocation: sourceLocation)
    return run.standardOutput.split(separator: "\n").map(String.init)
  }

  /// The plain-C System V peer (Tests/Peers/sysv_msg_peer.c).
  static let cPeer = compiledPeer("sysv_msg_peer")

  /// The plain-C POSIX queue peer (Tests/Peers/posix_mq_peer.c).
  static let posixQueuePeer = compiledPeer("posix_mq_peer")

  /// The plain-C System V semaphore peer (Tests/Peers/sysv_sem_peer.c).
  static let semPeer = compiledPeer("sysv_sem_peer")

  /// The plain-C POSIX semaphore peer (Tests/Peers/posix_sem_peer.c).
  static let posixSemPeer = compiledPeer("posix_sem_peer")

  /// The plain-C System V shared memory peer (Tests/Peers/sysv_shm_peer.c).
  static let shmPeer = compiledPeer("sysv_shm_peer")

  /// The plain-C POSIX shared memory peer (Tests/Peers/posix_shm_peer.c).
  static let posixShmPeer = compiledPeer("posix_shm_peer")

  /// Runs util-linux's `ipcmk ARGUMENTS...` and returns the id of the object
  /// it made, from its "Shared memory id: N" (or "Semaphore id", "Message queue id").
  static func ipcmk(_ arguments: String...) throws -> Int32 {
    let made = try SpawnedProcess.run("/usr/bin/env", ["ipcmk"] + arguments)
    guard made.exitStatus == 0, let id = firstNumber(in: made.standardOutput) else {
      throw SpawnFailure(message: "ipcmk \(arguments) failed: \(made.standardOutput)\(made.standardError)")
    }
    return id
  }

  /// Compiles Tests/Peers/NAME.c with the system C compiler into the build
  /// folder, once per test run.
  private static func compiledPeer(_ name: String) -> Result<String, SpawnFailure> {
    let source = packageRoot + "/Tests/Peers/\(name).c"
    let output = productsDirectory + "/\(name)"
    let staging = output + ".\(getpid())"
    do {
      let compiler = try SpawnedProcess.run(
        "/usr/bin/env", ["cc", "-Wall", "-Wextra", "-Werror", "-O1", "-o", staging, source, "-lrt"])
      guard compiler.exitStatus == 0 else {
        return .failure(SpawnFailure(message: "cc failed: \(compiler.standardError)"))
      }
    } catch let error as SpawnFailure {
      return .failure(error)
    } catch {
      return .failure(SpawnFailure(message: "\(error)"))
    }
    // rename is atomic, so concurrent test processes never run a half-written binary.
    guard rename(staging, output) == 0 else {
      return .failure(SpawnFailure(message: "rename \(staging): \(String(cString: strerror(errno)))"))
    }
    return .success(output)
  }
}

/// The first whole number `output` holds, such as the id in "Semaphore id: 7\n".
func firstNumber(in output: String) -> Int32? {
  output.split(whereSeparator: { !$0.isNumber }).first.flatMap { Int32($0) }
}
