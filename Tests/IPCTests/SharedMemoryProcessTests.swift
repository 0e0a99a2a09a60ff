import Foundation
import Testing

@testable import IPC

/// Shared memory between real processes (exit tests): a child attaches or
/// maps by id or name and writes, the parent reads; a process killed while
/// attached; two processes opening-or-creating the same POSIX object.
@Suite("Shared memory across processes")
struct SharedMemoryProcessTests {
  @Test(.prompt) func aChildAttachesBySegmentIdAndItsWritesReachTheParent() async throws {
    try await withSegment(size: 4096) { memory in
      let region = try memory.attach()
      try region.store(Int64(1), at: 0)
      await #expect(processExitsWith: .success) { [id = memory.id as Int32] in
        let memory = try SystemV.SharedMemory.open(id: id)
        guard memory.size == 4096 else { exit(3) }
        let region = try memory.attach()
        guard try region.load(Int64.self, at: 0) == 1 else { exit(4) }
        try region.store(Int64(2024), at: 8)
        guard try memory.stat().attachCount == 2 else { exit(5) }
      }
      #expect(try region.load(Int64.self, at: 8) == 2024)
      let status = try memory.stat()
      #expect(status.attachCount == 1)  // the child's attachment went with it
      #expect(status.lastPID != getpid())
    }
  }

  @Test(.prompt) func aProcessKilledWhileAttachedLeavesTheDataAndDropsTheCount() async throws {
    let key = TestKeys.next()
    let memory = try SystemV.SharedMemory.create(key: key, size: 4096)
    defer { try? memory.remove() }
    await #expect(processExitsWith: .signal(SIGKILL)) { [key = key.rawValue as Int32] in
      let memory = try SystemV.SharedMemory.open(key: SystemV.Key(rawValue: key), size: 4096)
      let region = try memory.attach()
      try region.store(Int64(77), at: 16)
      guard try memory.stat().attachCount == 1 else { exit(3) }
      kill(getpid(), SIGKILL)
    }
    let status = try memory.stat()
    #expect(status.attachCount == 0)
    #expect(status.lastDetachTime != nil)
    let region = try memory.attach(readOnly: true)
    #expect(try region.load(Int64.self, at: 16) == 77)
  }

  @Test(.prompt) func aChildMapsAPOSIXObjectByNameAndItsWritesReachTheParent() async throws {
    try await withSharedMemoryName { name in
      let memory = try POSIX.SharedMemory.create(name, size: 4096)
      let region = try memory.map()
      await #expect(processExitsWith: .success) { [name = name as String] in
        let memory = try POSIX.SharedMemory.open(name)
        guard try memory.size == 4096 else { exit(3) }
        let region = try memory.map()
        try region.store(Int32(31), at: 100)
        // A read-only opening refuses a read-write map, and stores nothing.
        let reader = try POSIX.SharedMemory.open(name, readOnly: true)
        guard (try? reader.map()) == nil else { exit(4) }
        guard (try? reader.map(readOnly: true).store(Int32(0), at: 100)) == nil else { exit(5) }
      }
      #expect(try region.load(Int32.self, at: 100) == 31)
    }
  }

  @Test(.prompt) func processesOpeningOrCreatingTheSameObjectAllGetOneObjectOfTheSize() async throws {
    try await withSharedMemoryName { name in
      let racers = 4
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<racers {
          group.addTask {
            await #expect(processExitsWith: .success) { [name = name as String] in
              alarm(60)
              let memory = try POSIX.SharedMemory.openOrCreate(name, size: 8192)
              guard try memory.size == 8192 else { exit(3) }
              _ = try memory.map().atomicAdd(Int64(1), at: 0)
            }
          }
        }
      }
      let memory = try POSIX.SharedMemory.open(name)
      #expect(try memory.size == 8192)
      #expect(try memory.map().atomicLoad(Int64.self, at: 0) == Int64(racers))
      var info = stat()
      #expect(stat("/dev/shm" + name, &info) == 0)
      #expect(info.st_mode & 0o777 == 0o600)
    }
  }

  /// Another process made the object and has not sized it yet (shm_open
  /// and ftruncate are two calls): openOrCreate waits for the size instead
  /// of reporting a mismatch with 0 bytes, or resizing it.
  @Test(.prompt) func openOrCreateWaitsForACreatorThatHasNotSizedTheObjectYet() async throws {
    try await withSharedMemoryName { name in
      let file = "/dev/shm" + name
      let creator = try SpawnedProcess(
        "/bin/sh", ["-c", ": > \"$0\" && sleep 0.4 && truncate -s 8192 \"$0\"", file])
      #expect(eventually { access(file, F_OK) == 0 }, "the creator never made \(file)")
      let start = ContinuousClock.now
      let memory = try POSIX.SharedMemory.openOrCreate(name, size: 8192)
      #expect(ContinuousClock.now - start >= .milliseconds(200))
      #expect(try memory.size == 8192)
      #expect(creator.wait(timeout: .seconds(10)))
      #expect(creator.exitStatus == 0, "\(creator.standardError)")
    }
  }

  /// A creator that never sizes its object: the wait ends, naming both
  /// sizes, and the object is left as it was.
  @Test(.prompt) func openOrCreateGivesUpOnAnObjectThatStaysEmpty() async throws {
    try await withSharedMemoryName { name in
      let made = try SpawnedProcess.run("/bin/sh", ["-c", ": > \"$0\"", "/dev/shm" + name])
      #expect(made.exitStatus == 0, "\(made.standardError)")
      let start = ContinuousClock.now
      let error = try #require(throws: IPCError.self) {
        try POSIX.SharedMemory.openOrCreate(name, size: 8192)
      }
      #expect(ContinuousClock.now - start >= POSIX.SharedMemory.sizingTimeout)
      #expect(error.code == .invalidArgument)
      #expect(error.reason.contains("\(name) exists with 0 bytes, not the 8192 asked for"), "\(error)")
      #expect(try POSIX.SharedMemory.open(name).size == 0)
    }
  }
}
