import CIPCShims
import Glibc

/// A message channel in shared memory: bounded, many producers into one
/// consumer, messages of any size up to a limit, with no system call per
/// message while both sides are busy.
///
/// Lay a channel out in a ``SharedRegion`` (System V or POSIX) with
/// ``initialize(in:producers:ringSize:)``; then one process attaches a
/// ``SharedChannelConsumer`` and each producing process (or thread) a
/// ``SharedChannelProducer``:
///
///     let size = try SharedChannel.requiredSize(producers: 2, ringSize: 1 << 16)
///     let memory = try POSIX.SharedMemory.create("/jobs-channel", size: size)
///     let region = try memory.map()
///     try SharedChannel.initialize(in: region, producers: 2, ringSize: 1 << 16)
///     let consumer = try SharedChannelConsumer(region)
///     // In a producing process, the same object mapped:
///     let producer = try SharedChannelProducer(region)
///     try producer.send(Array("job 1".utf8))
///     let job = try consumer.receive()   // the bytes of "job 1"
///
/// Each producer writes a ring of its own, which only the consumer reads: a
/// message is published by one release store of the ring's tail after its
/// bytes, so the consumer never sees half a message, and one killed while
/// writing is as if it never sent. Messages of one producer arrive in the
/// order sent; the consumer takes the producers' rings in turn.
///
/// A side with nothing to do spins briefly, then sleeps on a futex word in
/// the region (a shared futex, so another process wakes it); the other side
/// makes the wake call only when that word says someone sleeps. Sleepers
/// also wake every 50 ms to see whether their peer died: a producer waiting
/// for space fails with `.brokenPipe` once the consumer is gone, and the
/// consumer's receive ends the stream once producers have come and all are
/// gone (closed or dead) and every message they sent is read.
///
/// The layout, version 2 (see `CShims/include/CIPCChannel.h`, byte by
/// byte): a 128-byte header (the magic `IPCCHAN1`, the version, the
/// producer slots, the ring size, the consumer's identity and its sleep
/// word), then per producer slot 256 bytes of control (the producer's line:
/// its tail, identity and sleep word; the consumer's line: the head) and its
/// ring. An identity is a pid and the process's start time (`/proc/PID/stat`
/// field 22) in one 64-bit word: a pid recycled by an unrelated process has
/// another start time, so a dead peer's slot is not kept taken by it. A peer
/// built for another layout version gets `.invalidArgument` naming both
/// versions when it attaches.
///
/// Every wait also has an async form (`try await`), which tries at once on
/// the caller's thread and otherwise waits on one of the library's waiting
/// threads (the channel sleeps on a futex, which no descriptor can poll), and
/// a zero-copy form: ``SharedChannelProducer/send(reservingUpTo:_:)-2prqz`` fills
/// a message in place in the ring, ``SharedChannelConsumer/receive(_:)-1jbg``
/// reads one where it lies.
public enum SharedChannel {
  /// The most producer slots a channel can have.
  public static let maximumProducers = 64

  /// The bytes a channel with `producers` slots of `ringSize` bytes each
  /// needs in its region: 128 + producers × (256 + ringSize).
  ///
  /// - Throws: `.invalidArgument` unless `producers` is 1 to 64 and
  ///   `ringSize` a power of two from 4096 to 2^30.
  public static func requiredSize(producers: Int, ringSize: Int) throws(IPCError) -> Int {
    guard (1...maximumProducers).contains(producers), ringSize >= 4096, ringSize <= 1 << 30,
      ringSize & (ringSize - 1) == 0
    else {
      throw IPCError(
        code: .invalidArgument, operation: "SharedChannel.requiredSize", object: "shared channel",
        reason: "\(producers) producers of \(ringSize) bytes: producers must be 1 to \(maximumProducers),"
          + " the ring size a power of two from 4096 to 1073741824")
    }
    return cipc_channel_size(Int32(producers), ringSize)
  }

  /// The largest message a channel of `ringSize`-byte rings carries: half a
  /// ring, less 8 bytes.
  public static func maximumMessageSize(ringSize: Int) -> Int { max(ringSize / 2 - 8, 0) }

  /// Lays out an empty channel at the start of `region`, which must be at
  /// least ``requiredSize(producers:ringSize:)`` bytes and not in use by a
  /// channel (this erases one). Do it once, before any process attaches.
  ///
  /// The corresponding C call is `cipc_channel_initialize` (CIPCChannel.h):
  /// zeroes, then writes the header, the magic last.
  ///
  /// - Throws: `.invalidArgument` for the numbers (see
  ///   ``requiredSize(producers:ringSize:)``); `.noSpace` if the region is
  ///   too small; `.permissionDenied` for a read-only region.
  public static func initialize(in region: SharedRegion, producers: Int = 1, ringSize: Int = 1 << 16)
    throws(IPCError)
  {
    let size = try requiredSize(producers: producers, ringSize: ringSize)
    try region.access("SharedChannel.initialize", offset: 0, length: size, alignment: 64, writing: true) {
      (base) throws(IPCError) in
      let status = cipc_channel_initialize(base, region.count, Int32(producers), ringSize)
      guard status == 0 else {
        throw IPCError(
          code: IPCError.Code(rawValue: -status), operation: "SharedChannel.initialize", object: "\(region)")
      }
    }
  }

  /// Pins `region` for an endpoint's life and checks the channel laid out in it.
  static func attach(_ region: SharedRegion, as role: String, _ attach: (UnsafeMutableRawPointer) -> Int32)
    throws(IPCError) -> (base: UnsafeMutableRawPointer, slot: Int32)
  {
    let operation = "\(role) attach"
    guard region.isWritable else { throw region.readOnlyError(operation) }
    try region.enter(operation)
    let base = region.address
    var version: UInt32 = 0
    let checked = cipc_channel_check(base, region.count, &version)
    guard checked == 0 else {
      region.leave()
      let reason =
        switch -checked {
        case ENOSPC: "the region is smaller than the channel laid out in it"
        case EPROTONOSUPPORT:
          "the region holds a shared channel of layout version \(version), and this library reads version"
            + " \(CIPC_CHANNEL_VERSION): every process attached must use the same library version"
        default: "no shared channel is laid out here (SharedChannel.initialize makes one)"
        }
      throw IPCError(
        code: checked == -ENOSPC ? .noSpace : .invalidArgument, operation: operation, object: "\(region)",
        reason: reason)
    }
    let slot = attach(base)
    guard slot >= 0 else {
      region.leave()
      throw IPCError(
        code: .busy, operation: operation, object: "\(region)",
        reason: role == "SharedChannelConsumer"
          ? "another live process is this channel's consumer"
          : "every producer slot is taken by a live producer or still holds messages")
    }
    return (base, slot)
  }

  /// A timeout as the C layer takes it: nanoseconds, 0 for no wait, -1 for none.
  static func nanoseconds(_ timeout: Duration?) -> Int64 {
    guard let timeout else { return -1 }
    let (seconds, attoseconds) = timeout.asWait.components
    return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
  }

  /// Calls `wait`, a C call that takes a timeout in nanoseconds, again with
  /// the time left each time a signal interrupts it (-EINTR), as every
  /// blocking call of the library retries EINTR; on a waiting thread whose
  /// task was cancelled, gives up with -ECANCELED instead (nothing taken).
  /// Only the slow path comes here: a caller first calls the C function itself.
  static func retryingInterrupts<Status: BinaryInteger>(
    timeout: Duration?, _ wait: (_ nanoseconds: Int64) -> Status
  ) -> Status {
    let deadline = timeout.map { MonotonicDeadline(after: $0) }
    while true {
      let status = wait(deadline.map { nanoseconds($0.timeLeft) } ?? -1)
      guard status == -EINTR else { return status }
      if WaitJob.currentIsCancelled { return Status(-ECANCELED) }
    }
  }
}

extension SharedChannel {
  /// Runs `wait` (a C call that sleeps at most the nanoseconds it is given)
  /// on one of the library's waiting threads, retried after a signal with
  /// the time left to `deadline`, and returns its status. The region is
  /// entered for the wait, so a `close()` meanwhile cannot unmap what that
  /// thread reads; a cancelled task ends the wait with `.cancelled`.
  nonisolated(nonsending) static func awaitingWait(
    in region: SharedRegion, operation: String, object: @autoclosure () -> String,
    deadline: MonotonicDeadline?, _ wait: @escaping @Sendable (_ nanoseconds: Int64) -> Int32
  ) async throws(IPCError) -> Int32 {
    try region.enter(operation)
    defer { region.leave() }
    do {
      return try await WaitThreads.run { () throws(IPCError) -> Int32 in
        retryingInterrupts(timeout: deadline?.timeLeft, wait)
      }
    } catch  where error.code == .cancelled {
      throw IPCError.cancelled(operation, object: object())
    }
  }
}

/// An endpoint's place in the mapping, handed to a waiting thread while the
/// endpoint's task is suspended on it (so nothing else uses the endpoint);
/// the endpoint's access keeps the mapping.
struct ChannelPlace: @unchecked Sendable {
  let base: UnsafeMutableRawPointer
  let slot: Int32
}
