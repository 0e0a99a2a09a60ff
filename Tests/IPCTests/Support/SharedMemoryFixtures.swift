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
  defer { try? POSIX.SharedMemory.unlink(name) }
  return try await body(name)
}

/// The line of `ipcs -m` for segment `id`, or nil if it does not list it.
func ipcsLine(segment id: Int32) throws -> String? {
  let ipcs = try SpawnedProcess.run("/usr/bin/ipcs", ["-m"])
  return ipcs.standardOutput.split(separator: "\n").first { line in
    line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "\(id)"
  }.map(String.init)
}

/// How many additions Swift and the C peer make to a shared counter. The
/// peer's loop is far faster, so it makes more: each side's loop lasts
/// longer than a time slice, and they overlap even on a busy machine.
let sharedCounterAdditions = (swift: 1_000_000, peer: 10_000_000)

/// Adds 1 to the Int64 at offset 64 of `region`, atomically, while the C
/// peer `peer` (`add OBJECT 64 TIMES 128`, where OBJECT is a segment id or
/// a name) does the same at once, and checks the total is exact. Both start
/// together: the peer says "ready" and spins until Swift stores 1 at offset 128.
func addAtOnce(in region: SharedRegion, with peer: String, object: String) throws {
  let (times, peerTimes) = sharedCounterAdditions
  let adder = try SpawnedProcess(peer, ["add", object, "64", "\(peerTimes)", "128"])
  try #require(eventually { adder.standardOutput == "ready\n" }, "\(adder.standardError)")
  try region.atomicStore(Int64(1), at: 128)
  var swiftInterleaved = 0
  var previous: Int64 = -1
  for _ in 0..<times {
    let before = try region.atomicAdd(Int64(1), at: 64)
    if previous >= 0 && before != previous + 1 { swiftInterleaved += 1 }
    previous = before
  }
  #expect(adder.wait(timeout: .seconds(60)))
  #expect(adder.exitStatus == 0, "\(adder.standardError)")
  #expect(try region.atomicLoad(Int64.self, at: 64) == Int64(times + peerTimes))
  let loaded = try SpawnedProcess.run(peer, ["load", object, "64"])
  #expect(loaded.standardOutput == "\(times + peerTimes)\n", "\(loaded.standardError)")
  // They ran at once: at least one saw the other's additions between its own.
  let peerInterleaved = adder.standardOutput.split(separator: "\n").last.flatMap { line in
    line.hasPrefix("interleaved=") ? Int(line.dropFirst("interleaved=".count)) : nil
  }
  let seen = try #require(peerInterleaved, "\(adder.standardOutput)")
  #expect(swiftInterleaved + seen > 0)
}

/// Bytes and 64-bit integers cross a mapping of at least 3000 bytes both ways,
/// through the same pages: Swift writes and stores, the C `peer` (its command
/// words) reads and loads them; the peer writes and stores, Swift sees it.
func expectExchange(
  through region: SharedRegion, with peer: (String...) throws -> SpawnedProcess, object: String,
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  try region.write("from Swift".utf8, at: 2990)
  try region.store(Int64.min, at: 16)
  #expect(
    try peer("read", object, "2990", "10").standardOutput == "from Swift\n", sourceLocation: sourceLocation)
  #expect(try peer("load", object, "16").standardOutput == "\(Int64.min)\n", sourceLocation: sourceLocation)
  let wrote = try peer("write", object, "0", "from C")
  #expect(wrote.exitStatus == 0, "\(wrote.standardError)", sourceLocation: sourceLocation)
  #expect(try peer("store", object, "24", "\(Int64.max)").exitStatus == 0, sourceLocation: sourceLocation)
  #expect(try region.bytes(at: 0, count: 6) == Array("from C".utf8), sourceLocation: sourceLocation)
  #expect(try region.load(Int64.self, at: 24) == Int64.max, sourceLocation: sourceLocation)
}
