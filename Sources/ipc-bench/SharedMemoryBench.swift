import CIPCBench
import Glibc
import IPC

/// The loops of a mechanism measured one way only: blocks go from the child
/// (producer) to the parent (consumer); there is no round trip.
protocol OneWayLoops: MessageLoops {}

extension OneWayLoops {
  func ping(rounds: Int, size: Int) throws { throw BenchFailure.throughputOnly }
  func pong(rounds: Int, size: Int) throws { throw BenchFailure.throughputOnly }
}

/// Slot counts: the same in C and Swift, chosen once for both.
enum SharedMemorySlots {
  /// "shm+sem": 16 slots, 64 KiB for 4 KiB blocks, a pipe's buffer. Each
  /// block costs a P and a V on each side whatever the count; more slots
  /// only let the producer run further ahead.
  static let semaphoreRing = 16
  /// "shm-ring": 64 slots of 64 bytes, one page of data.
  static let atomicRing = 64
}

/// A fresh private System V segment per measurement, registered for cleanup,
/// and marked for removal as soon as both processes have attached it: from
/// then on the kernel destroys it when the last of them detaches or dies.
struct BenchSegment {
  let segment: SystemV.SharedMemory
  private(set) var entry: CleanupEntry?

  init(size: Int) throws {
    (segment, entry) = try CleanupEntry.made(
      { try SystemV.SharedMemory.create(size: size) }, register: { try .sharedMemory($0.id) },
      remove: { try? $0.remove() })
  }

  /// Both sides are attached (or the measurement is over): no longer needed by id.
  mutating func remove() {
    entry?.remove()
    entry = nil
  }
}

/// "shm+sem": a segment of `SharedMemorySlots.semaphoreRing` slots of the
/// row's size and a private System V set of two semaphores, free slots
/// (starting at the slot count) and filled slots (starting at 0). The
/// producer waits for a free slot, copies a block in and signals a filled
/// one; the consumer the other way round. The child gets both ids.
final class SharedMemorySemaphoreFixture: Fixture {
  private var segment: BenchSegment
  private let set: SystemV.SemaphoreSet
  private var setEntry: CleanupEntry?
  private static let slots = SharedMemorySlots.semaphoreRing

  init(size: Int) throws {
    segment = try BenchSegment(size: Self.slots * size)
    do {
      (set, setEntry) = try CleanupEntry.made(
        { try SystemV.SemaphoreSet.create(values: [Self.slots, 0]) }, register: { try .semaphoreSet($0.id) },
        remove: { try? $0.remove() })
    } catch {
      segment.remove()
      throw error
    }
  }

  var childArguments: [String] { ["--segment", "\(segment.segment.id)", "--set", "\(set.id)"] }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    let loops = try Self.loops(impl, segment: segment.segment.id, set: set.id)
    // Both processes are attached: the segment lives as long as they do.
    segment.remove()
    return loops
  }

  /// Removing the set ends the parent's blocked semop with EIDRM.
  func childFailed() -> Bool {
    setEntry?.removeNow()
    segment.entry?.removeNow()
    return true
  }

  deinit { remove() }

  func remove() {
    setEntry?.remove()
    setEntry = nil
    segment.remove()
  }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    try loops(impl, segment: arguments.id("--segment"), set: arguments.id("--set"))
  }

  private static func loops(_ impl: Implementation, segment: Int32, set: Int32) throws -> any MessageLoops {
    switch impl {
    case .c: try CSharedMemorySemaphoreLoops(segment: segment, set: set, slots: slots)
    case .swift: try SwiftSharedMemorySemaphoreLoops(segment: segment, set: set, slots: slots)
    }
  }
}

/// A segment attached with plain `shmat`, for the C loops; detached on release.
final class CAttachment {
  let base: UnsafeMutableRawPointer

  init(segment: Int32) throws {
    guard let base = cipcb_shm_attach(segment) else {
      throw IPCError(code: IPCError.Code(rawValue: errno), operation: "shmat", object: "segment \(segment)")
    }
    self.base = base
  }

  deinit { _ = cipcb_shm_detach(base) }
}

/// The plain C baseline: `cipcb_shmsem_*` in sysv_shm.c.
final class CSharedMemorySemaphoreLoops: OneWayLoops {
  private let attachment: CAttachment
  private let set: Int32
  private let slots: Int

  init(segment: Int32, set: Int32, slots: Int) throws {
    attachment = try CAttachment(segment: segment)
    self.set = set
    self.slots = slots
  }

  func send(count: Int, size: Int) throws {
    try check(
      cipcb_shmsem_send(attachment.base, set, count, size, slots), "cipcb_shmsem_send", "benchmark segment")
  }

  func receive(count: Int, size: Int) throws {
    try check(
      cipcb_shmsem_receive(attachment.base, set, count, size, slots), "cipcb_shmsem_receive",
      "benchmark segment")
  }
}

/// A block of the row's size, cache-line aligned like C's static buffer,
/// carrying its sequence number in its first 8 bytes.
final class Block {
  let bytes: UnsafeMutableRawBufferPointer

  init(size: Int, filling byte: UInt8 = UInt8(ascii: "s")) {
    bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    bytes.initializeMemory(as: UInt8.self, repeating: byte)
  }

  deinit { bytes.deallocate() }

  /// Block `sequence` as the producer sends it (sysv_shm.c's `stamp`).
  func stamp(_ sequence: Int) { bytes.storeBytes(of: Int64(sequence), as: Int64.self) }

  /// Throws unless this is block `sequence`: the protocol is broken. The
  /// comparison is inlined, as C's `stamped` is; the message is not.
  @inline(__always)
  func expect(_ sequence: Int) throws {
    guard bytes.load(as: Int64.self) == Int64(sequence) else { throw mismatch(sequence) }
  }

  private func mismatch(_ sequence: Int) -> BenchFailure {
    BenchFailure("block \(sequence) arrived as block \(bytes.load(as: Int64.self))")
  }
}

/// The Swift side of "shm+sem", through `SystemV.SharedMemory`, `SharedRegion`
/// and `SystemV.SemaphoreSet`: the same loops as `cipcb_shmsem_*`, inside one
/// `withAccess` each (every copy still checked).
final class SwiftSharedMemorySemaphoreLoops: OneWayLoops {
  private let region: SharedRegion
  private let set: SystemV.SemaphoreSet
  private let slots: Int
  private let empty = Int(CIPCB_SHMSEM_EMPTY)
  private let full = Int(CIPCB_SHMSEM_FULL)

  /// Attaches the segment and opens the set, before the clock starts.
  init(segment: Int32, set: Int32, slots: Int) throws {
    region = try SystemV.SharedMemory.open(id: segment).attach()
    self.set = try SystemV.SemaphoreSet.open(id: set)
    self.slots = slots
  }

  func send(count: Int, size: Int) throws {
    let block = Block(size: size)
    let source = UnsafeRawBufferPointer(block.bytes)
    try region.withAccess { access in
      for sequence in 0..<count {
        try set.wait(empty)
        block.stamp(sequence)
        try access.write(source, at: sequence % slots * size)
        try set.signal(full)
      }
    }
  }

  func receive(count: Int, size: Int) throws {
    let block = Block(size: size)
    try region.withAccess { access in
      for sequence in 0..<count {
        try set.wait(full)
        try access.bytes(at: sequence % slots * size, into: block.bytes)
        try set.signal(empty)
        try block.expect(sequence)
      }
    }
  }
}

/// "shm-ring": a segment holding a single-producer single-consumer ring of
/// `SharedMemorySlots.atomicRing` slots (layout `CIPCB_RING_*`): the
/// producer's count of blocks written and the consumer's count of blocks
/// read, each published with a release store and read with an acquire load.
/// Each side rereads the other's count only when the ring looks full (or
/// empty), and yields the CPU (`sched_yield`) while it stays so. The child
/// gets the segment's id.
final class SharedRingFixture: Fixture {
  private var segment: BenchSegment
  private static let slots = SharedMemorySlots.atomicRing

  init(size: Int) throws {
    // A new segment is zero-filled: both counts start at 0.
    segment = try BenchSegment(size: Int(CIPCB_RING_SLOTS) + Self.slots * size)
  }

  var childArguments: [String] { ["--segment", "\(segment.segment.id)"] }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    let loops = try Self.loops(impl, segment: segment.segment.id)
    // Both processes are attached: the segment lives as long as they do.
    segment.remove()
    return loops
  }

  /// Nothing wakes a loop that spins on memory: the watchdog ends the run.
  func childFailed() -> Bool {
    segment.entry?.removeNow()
    return false
  }

  deinit { remove() }

  func remove() { segment.remove() }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    try loops(impl, segment: arguments.id("--segment"))
  }

  private static func loops(_ impl: Implementation, segment: Int32) throws -> any MessageLoops {
    switch impl {
    case .c: try CSharedRingLoops(segment: segment, slots: slots)
    case .swift: try SwiftSharedRingLoops(segment: segment, slots: slots)
    }
  }
}

/// The plain C baseline: `cipcb_ring_*` in sysv_shm.c, C11 atomics.
final class CSharedRingLoops: OneWayLoops {
  private let attachment: CAttachment
  private let slots: Int

  init(segment: Int32, slots: Int) throws {
    attachment = try CAttachment(segment: segment)
    self.slots = slots
  }

  func send(count: Int, size: Int) throws {
    try check(cipcb_ring_send(attachment.base, count, size, slots), "cipcb_ring_send", "benchmark ring")
  }

  func receive(count: Int, size: Int) throws {
    try check(cipcb_ring_receive(attachment.base, count, size, slots), "cipcb_ring_receive", "benchmark ring")
  }
}

/// The Swift side of "shm-ring", through `SharedRegion.withAccess`: checked
/// atomics and byte copies, the same loops as `cipcb_ring_*`.
final class SwiftSharedRingLoops: OneWayLoops {
  private let region: SharedRegion
  private let slots: Int64
  private let head = Int(CIPCB_RING_HEAD)
  private let tail = Int(CIPCB_RING_TAIL)
  private let first = Int(CIPCB_RING_SLOTS)

  /// Attaches the segment, before the clock starts.
  init(segment: Int32, slots: Int) throws {
    region = try SystemV.SharedMemory.open(id: segment).attach()
    self.slots = Int64(slots)
  }

  func send(count: Int, size: Int) throws {
    let block = Block(size: size)
    let source = UnsafeRawBufferPointer(block.bytes)
    var written: Int64 = 0
    var read: Int64 = 0  // the consumer's count as last seen
    // One counted access for the whole loop; each operation is still checked.
    try region.withAccess { access in
      for sequence in 0..<count {
        while written - read == slots {
          read = try access.atomicLoad(Int64.self, at: tail, ordering: .acquiring)
          if written - read == slots { sched_yield() }
        }
        block.stamp(sequence)
        try access.write(source, at: first + Int(written % slots) * size)
        written += 1
        try access.atomicStore(written, at: head, ordering: .releasing)
      }
    }
  }

  func receive(count: Int, size: Int) throws {
    let block = Block(size: size)
    var read: Int64 = 0
    var written: Int64 = 0  // the producer's count as last seen
    try region.withAccess { access in
      for sequence in 0..<count {
        while written == read {
          written = try access.atomicLoad(Int64.self, at: head, ordering: .acquiring)
          if written == read { sched_yield() }
        }
        try access.bytes(at: first + Int(read % slots) * size, into: block.bytes)
        read += 1
        try access.atomicStore(read, at: tail, ordering: .releasing)
        try block.expect(sequence)
      }
    }
  }
}
