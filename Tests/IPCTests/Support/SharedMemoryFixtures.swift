import Foundation
import IPC
import Testing

/// Runs `body` with a new private segment that is removed afterwards, also
/// when the body fails.
@discardableResult
func withSegment<R>(size: Int = 4096, _ body: (SystemV.SharedMemory) async throws -> R) async throws -> R {
  let memory = try SystemV.SharedMemory.create(size: size)
  defer { try? memory.remove() }
  return try await body(memory)
}

/// Runs `body` with the name of a POSIX shared memory object no other test
/// uses; whatever it holds afterwards is unlinked, also when the body fails.
@discardableResult
func withSharedMemoryName<R>(_ body: (String) async throws -> R) async throws -> R {
  let name = TestNames.next("ipc-pshm")
  defer { shm_unlink(name) }
  return try await body(name)
}

/// The line of `ipcs -m` for segment `id`, or nil if it does not list it.
func ipcsLine(segment id: Int32) throws -> String? {
  let ipcs = try SpawnedProcess.run("/usr/bin/ipcs", ["-m"])
  return ipcs.standardOutput.split(separator: "\n").first { line in
    line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "\(id)"
  }.map(String.init)
}
