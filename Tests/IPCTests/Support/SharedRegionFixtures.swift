import Foundation
import Synchronization
import Testing

@testable import IPC

/// Maps the POSIX shared-memory object `name` with raw `shm_open` and `mmap`
/// (POSIX.SharedMemory is not the subject here), creating it with `size`
/// bytes if `create`, read-write or read-only.
func mapSharedMemory(
  _ name: String, size: Int, create: Bool = false, writable: Bool = true, releases: ReleaseCounter? = nil
) throws -> SharedRegion {
  let flags = (create ? O_CREAT | O_EXCL : 0) | (writable ? O_RDWR : O_RDONLY)
  let descriptor = shm_open(name, flags, 0o600)
  guard descriptor >= 0 else { throw SpawnFailure(message: "shm_open \(name): errno \(errno)") }
  defer { close(descriptor) }
  if create, ftruncate(descriptor, off_t(size)) != 0 {
    throw SpawnFailure(message: "ftruncate \(name): errno \(errno)")
  }
  let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
  guard let address = mmap(nil, size, protection, MAP_SHARED, descriptor, 0), address != MAP_FAILED else {
    throw SpawnFailure(message: "mmap \(name): errno \(errno)")
  }
  return SharedRegion(
    address: address, count: size, isWritable: writable, object: "shared memory \(name)"
  ) { address, count in
    releases?.add()
    munmap(address, count)
  }
}

/// Runs `body` with a new, zero-filled shared-memory object of `size` bytes
/// mapped read-write, and its name; unlinks it afterwards, also on failure.
@discardableResult
func withSharedRegion<R>(size: Int = 4096, _ body: (SharedRegion, String) throws -> R) throws -> R {
  let name = TestNames.next("ipc-shm")
  let region = try mapSharedMemory(name, size: size, create: true)
  defer { try? POSIX.SharedMemory.unlink(name) }
  return try body(region, name)
}

/// The async form of ``withSharedRegion(size:_:)``.
@discardableResult
func withSharedRegion<R>(size: Int = 4096, _ body: (SharedRegion, String) async throws -> R) async throws
  -> R
{
  let name = TestNames.next("ipc-shm")
  let region = try mapSharedMemory(name, size: size, create: true)
  defer { try? POSIX.SharedMemory.unlink(name) }
  return try await body(region, name)
}

/// Counts calls of a region's release closure.
final class ReleaseCounter: Sendable {
  private let count = Atomic<Int>(0)
  func add() { count.add(1, ordering: .relaxed) }
  var value: Int { count.load(ordering: .relaxed) }
}

/// A plain struct of mixed fields, stored whole in a region.
struct Sample: BitwiseCopyable, Equatable {
  var id: Int32
  var flag: UInt8
  var ratio: Double
}

/// For an exit-test child: waits until the parent's thread whose id the
/// parent stores (an Int32 at `offset` of `region`) sleeps in a futex, such
/// as a condition's wait. Exits with 3 if no id comes, 4 if it never sleeps.
func waitUntilParentThreadSleepsInAFutex(idAt offset: Int, of region: SharedRegion, parent: pid_t) throws {
  guard try eventually(within: .seconds(20), { try region.atomicLoad(Int32.self, at: offset) != 0 }) else {
    exit(3)
  }
  let waiter = try region.atomicLoad(Int32.self, at: offset)
  guard threadBlocks(waiter, of: parent, inAnyOf: futexWaitChannels, timeout: .seconds(20)) else { exit(4) }
}

/// Expects `access` to throw exactly what `region`, the region's method of
/// the same name, throws for the same call, and returns that error.
@discardableResult
func sameError(
  _ access: () throws -> Void, as region: () throws -> Void,
  sourceLocation: SourceLocation = #_sourceLocation
) -> IPCError? {
  let expected = #expect(throws: IPCError.self, sourceLocation: sourceLocation) { try region() }
  let found = #expect(throws: IPCError.self, sourceLocation: sourceLocation) { try access() }
  #expect(found != nil && found == expected, sourceLocation: sourceLocation)
  return found
}
