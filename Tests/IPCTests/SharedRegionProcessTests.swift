import Foundation
import Testing

@testable import IPC

/// Shared regions used by real processes (exit tests mapping the same POSIX
/// shared-memory object): values, atomic counters, the robust mutex after a
/// SIGKILL, and the process-shared condition.
@Suite("Shared regions across processes")
struct SharedRegionProcessTests {
  @Test func valuesStoredByOneProcessAreSeenByAnother() async throws {
    try await withSharedRegion { (region, name) async throws in
      try region.store(Int64(-77), at: 0)
      try region.store(Sample(id: 9, flag: 2, ratio: 1.5), at: 8)
      try region.write(Array("from the parent".utf8), at: 100)
      await #expect(processExitsWith: .success) { [name = name as String] in
        let region = try mapSharedMemory(name, size: 4096)
        guard try region.load(Int64.self, at: 0) == -77 else { exit(3) }
        guard try region.load(Sample.self, at: 8) == Sample(id: 9, flag: 2, ratio: 1.5) else { exit(4) }
        guard try region.bytes(at: 100, count: 15) == Array("from the parent".utf8) else { exit(5) }
        try region.store((Int32(1), Double(2.5)), at: 200)
        try region.write(Array("from the child".utf8), at: 300)
      }
      let pair = try region.load((Int32, Double).self, at: 200)
      #expect(pair == (1, 2.5))
      #expect(try region.bytes(at: 300, count: 14) == Array("from the child".utf8))
    }
  }

  @Test func processesAddingAtomicallyToOneCounterLoseNothing() async throws {
    let (processes, additions) = (3, 100_000)
    try await withSharedRegion { (region, name) async throws in
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<processes {
          group.addTask {
            await #expect(processExitsWith: .success) {
              [name = name as String, additions = additions as Int] in
              alarm(60)
              let region = try mapSharedMemory(name, size: 4096)
              for _ in 0..<additions { try region.atomicAdd(Int64(1), at: 64, ordering: .relaxed) }
              try region.atomicAdd(Int32(1), at: 128)  // processes done
            }
          }
        }
      }
      #expect(try region.atomicLoad(Int64.self, at: 64) == Int64(processes * additions))
      #expect(try region.atomicLoad(Int32.self, at: 128) == Int32(processes))
    }
  }

  @Test func compareExchangeLetsExactlyOneProcessClaimASlot() async throws {
    let processes = 3
    try await withSharedRegion { (region, name) async throws in
      await withTaskGroup(of: Void.self) { group in
        for _ in 0..<processes {
          group.addTask {
            await #expect(processExitsWith: .success) { [name = name as String] in
              alarm(60)
              let region = try mapSharedMemory(name, size: 4096)
              // Claim slot 0 with this pid; count wins and losses.
              let claim = try region.atomicCompareExchange(expected: Int32(0), desired: getpid(), at: 0)
              guard claim.exchanged || claim.original != 0 else { exit(3) }
              try region.atomicAdd(Int64(claim.exchanged ? 1 : 1 << 32), at: 8)
            }
          }
        }
      }
      let tally = try region.atomicLoad(Int64.self, at: 8)
      #expect(tally & 0xffff_ffff == 1)  // one winner
      #expect(tally >> 32 == Int64(processes - 1))  // the others saw its pid
      #expect(try region.load(Int32.self, at: 0) != 0)
    }
  }
}
