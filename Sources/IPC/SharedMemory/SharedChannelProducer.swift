import CIPCShims
import Glibc

/// A producer of a ``SharedChannel``: it holds one of the channel's producer
/// slots, and its messages reach the consumer in the order sent.
///
/// The slot's ring has one writer, so a producer is not `Sendable`: it stays
/// with the thread or task that made it, and the compiler keeps two threads
/// from sending through it at once (a lock per message would cost as much as
/// the message). Several threads or processes each attach a producer of
/// their own.
/// ``close()`` (or releasing the object) gives the slot up; the messages it
/// sent stay for the consumer.
public final class SharedChannelProducer: CustomStringConvertible {
  let region: SharedRegion
  /// The channel's first byte, mapped while this endpoint is open (it holds an access).
  private let base: UnsafeMutableRawPointer
  private let slot: Int32
  /// The largest message this channel carries.
  public let maximumMessageSize: Int
  private var closed = false
  private var fingerprint = BitwiseMessageCoder.LastFingerprint()

  /// Attaches to the channel laid out in `region`, taking a free producer
  /// slot (one never used, given up, or whose producer died, once the
  /// consumer has read what it sent). The region stays mapped while the
  /// producer is open, even if it is closed meanwhile.
  ///
  /// The corresponding C call is `cipc_channel_attach_producer`: a
  /// compare-and-swap of the slot's owner identity (pid and start time).
  ///
  /// - Throws: `.invalidArgument` if no channel of this version is laid out
  ///   in `region`; `.busy` if every slot is taken; `.permissionDenied` for a
  ///   read-only region.
  public init(_ region: SharedRegion) throws(IPCError) {
    let (base, slot) = try SharedChannel.attach(region, as: "SharedChannelProducer") {
      cipc_channel_attach_producer($0)
    }
    self.region = region
    self.base = base
    self.slot = slot
    self.maximumMessageSize = cipc_channel_max_message(base)
  }

  deinit { detach() }

  /// `producer 0 of shared channel in shared memory /jobs (...)`.
  public var description: String { "producer \(slot) of shared channel in \(region)" }

  /// Sends `message`, waiting while the ring is full.
  ///
  /// The corresponding C call is `cipc_channel_send`: the length and bytes
  /// copied into the ring, then one release store of its tail; a `futex`
  /// wake only if the consumer sleeps.
  ///
  /// - Throws: `.messageTooLong` above ``maximumMessageSize`` (nothing sent);
  ///   `.brokenPipe` once the consumer is gone (detached or dead);
  ///   `.badDescriptor` after ``close()``.
  public func send(_ message: UnsafeRawBufferPointer) throws(IPCError) {
    _ = try send(message, timeout: nil, operation: "send")
  }

  /// Sends `message` (any sequence of bytes), waiting while the ring is full.
  public func send<Bytes: Sequence<UInt8>>(_ message: Bytes) throws(IPCError) {
    try withContiguousBytes(message) { (bytes) throws(IPCError) in try send(bytes) }
  }

  /// Sends `message` if the ring has room now; false (nothing sent) if not.
  public func trySend<Bytes: Sequence<UInt8>>(_ message: Bytes) throws(IPCError) -> Bool {
    try withContiguousBytes(message) { (bytes) throws(IPCError) in
      try send(bytes, timeout: .zero, operation: "trySend")
    }
  }

  /// Sends `message`, waiting at most `timeout` (monotonic clock) for room;
  /// false (nothing sent) if none came in time.
  public func send<Bytes: Sequence<UInt8>>(_ message: Bytes, timeout: Duration) throws(IPCError) -> Bool {
    try withContiguousBytes(message) { (bytes) throws(IPCError) in
      try send(bytes, timeout: timeout, operation: "send")
    }
  }

  /// Encodes `value` with `coder` (JSON by default; ``BitwiseMessageCoder``
  /// for plain values, ``BinaryMessageCoder`` for compact Swift-to-Swift
  /// messages) and sends it, waiting while the ring is full.
  ///
  /// With ``BitwiseMessageCoder`` the fingerprint and the value's bytes are
  /// written straight into the ring (`cipc_channel_reserve` and
  /// `cipc_channel_commit`, as ``send(reservingUpTo:_:)-2prqz``): no array
  /// between, so a plain value costs what its bytes cost.
  @_disfavoredOverload
  public func send<T: Encodable, Coder: MessageCoder>(_ value: T, coder: Coder = JSONMessageCoder())
    throws(IPCError)
  {
    // A metatype comparison, not `coder is ...`: a pointer compare where a
    // cast would ask the runtime (this generic code runs unspecialized).
    guard Coder.self == BitwiseMessageCoder.self, _isPOD(T.self) else {
      return try send(try coder.encodeMessage(value))
    }
    let size = BitwiseMessageCoder.encodedSize(of: T.self)
    guard let room = try reserve(size, timeout: nil, operation: "send") else {
      throw IPCError(code: .timedOut, operation: "send", object: description)  // not without a timeout
    }
    let used = BitwiseMessageCoder.write(value, into: room, header: fingerprint.of(T.self))
    _ = try outcome(cipc_channel_commit(base, slot, room.count, used), count: used, operation: "send")
  }

  // MARK: Loans: a message written in place

  /// Lends `fill` room for up to `capacity` bytes in the ring, waiting while
  /// the ring is full, and publishes what it wrote: the zero-copy send, as
  /// iceoryx2's loan.
  ///
  ///     try producer.send(reservingUpTo: 64) { buffer in
  ///       buffer.storeBytes(of: UInt64(42).littleEndian, as: UInt64.self)
  ///       return 8   // bytes written: the message is these 8
  ///     }
  ///
  /// `fill` writes the message's bytes at the start of `buffer` (its
  /// `capacity` bytes lie in the ring itself, and hold old bytes: the buffer
  /// is only valid inside `fill`) and returns how many it wrote; those are
  /// published as one message by one release store, so the consumer never
  /// sees them half written, and a producer killed inside `fill` has sent
  /// nothing. If `fill` returns 0 or throws, nothing is published and the
  /// room is free again.
  ///
  /// The corresponding C calls are `cipc_channel_reserve` (waits for room as
  /// `cipc_channel_send` does: a short spin, then `futex` waits) and
  /// `cipc_channel_commit` (the record's length, a release store of the
  /// tail; a `futex` wake only if the consumer sleeps).
  ///
  /// - Returns: the bytes published (0: nothing was).
  /// - Throws: `.messageTooLong` if `capacity` is above
  ///   ``maximumMessageSize``; `.invalidArgument` if `capacity` is negative
  ///   or `fill` returns a count outside `0...capacity` (nothing published);
  ///   `.brokenPipe` once the consumer is gone (nothing published);
  ///   `.badDescriptor` after ``close()``; or what `fill` throws. Typed
  ///   throws cannot join ``IPCError`` with `fill`'s own error type, so this
  ///   throws untyped, as ``SharedRegion/withUnsafeMutableBytes(_:)`` does.
  @discardableResult
  public func send(reservingUpTo capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws
    -> Int
  {
    guard let sent = try loan(capacity, timeout: nil, operation: "send", fill) else {
      throw IPCError(code: .timedOut, operation: "send", object: description)  // not without a timeout
    }
    return sent
  }

  /// ``send(reservingUpTo:_:)-2prqz`` if the ring has room now: nil if not (and
  /// `fill` did not run).
  ///
  /// The corresponding C calls are `cipc_channel_reserve` with no wait and
  /// `cipc_channel_commit`.
  ///
  /// - Throws: as ``send(reservingUpTo:_:)-2prqz``.
  public func trySend(reservingUpTo capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int)
    throws -> Int?
  {
    try loan(capacity, timeout: .zero, operation: "trySend", fill)
  }

  /// ``send(reservingUpTo:_:)-2prqz``, waiting at most `timeout` (monotonic clock)
  /// for room: nil if none came in time (and `fill` did not run).
  ///
  /// The corresponding C calls are `cipc_channel_reserve` with a deadline and
  /// `cipc_channel_commit`.
  ///
  /// - Throws: as ``send(reservingUpTo:_:)-2prqz``.
  public func send(
    reservingUpTo capacity: Int, timeout: Duration, _ fill: (UnsafeMutableRawBufferPointer) throws -> Int
  ) throws -> Int? {
    try loan(capacity, timeout: timeout, operation: "send", fill)
  }

  /// Gives the producer slot up (the consumer reads what was sent; once every
  /// producer is gone, its stream ends).
  ///
  /// - Throws: `.badDescriptor` if it was closed already.
  public func close() throws(IPCError) {
    guard !closed else {
      throw IPCError(code: .badDescriptor, operation: "close", object: description, reason: "already closed")
    }
    detach()
  }

  private func detach() {
    guard !closed else { return }
    closed = true
    cipc_channel_detach_producer(base, slot)
    region.leave()
  }

  /// Throws `.badDescriptor` once closed.
  func checkOpen(_ operation: String) throws(IPCError) {
    guard !closed else {
      throw IPCError(
        code: .badDescriptor, operation: operation, object: description, reason: "the producer was closed")
    }
  }

  /// Where a waiting thread finds this producer's slot.
  var place: ChannelPlace { ChannelPlace(base: base, slot: slot) }

  func send(_ message: UnsafeRawBufferPointer, timeout: Duration?, operation: String) throws(IPCError)
    -> Bool
  {
    try checkOpen(operation)
    var status = cipc_channel_send(
      base, slot, message.baseAddress, message.count, SharedChannel.nanoseconds(timeout))
    if status == -EINTR {
      status = SharedChannel.retryingInterrupts(timeout: timeout) { [base, slot] nanoseconds in
        cipc_channel_send(base, slot, message.baseAddress, message.count, nanoseconds)
      }
    }
    return try outcome(status, count: message.count, operation: operation)
  }

  /// What a C call's status means: true if done, false if no room in time.
  func outcome(_ status: Int32, count: Int, operation: String) throws(IPCError) -> Bool {
    switch status {
    case 0: return true
    case -EAGAIN: return false
    case -EMSGSIZE:
      throw IPCError(
        code: .messageTooLong, operation: operation, object: description,
        reason: "a message of \(count) bytes; this channel carries at most \(maximumMessageSize)"
          + " (half a ring, less 8 bytes); nothing was sent")
    case -EPIPE:
      throw IPCError(
        code: .brokenPipe, operation: operation, object: description,
        reason: "the channel's consumer is gone (closed or dead); nothing was sent")
    case -ECANCELED:
      throw IPCError.cancelled(operation, object: description)
    default:
      throw IPCError(code: IPCError.Code(rawValue: -status), operation: operation, object: description)
    }
  }

  /// The loan's room for `capacity` bytes, waiting up to `timeout`: nil if
  /// none came in time.
  func reserve(_ capacity: Int, timeout: Duration?, operation: String) throws(IPCError)
    -> UnsafeMutableRawBufferPointer?
  {
    try checkOpen(operation)
    guard capacity >= 0 else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: description,
        reason: "a loan of \(capacity) bytes: the size must not be negative")
    }
    var bytes: UnsafeMutableRawPointer?
    var status = cipc_channel_reserve(base, slot, capacity, SharedChannel.nanoseconds(timeout), &bytes)
    if status == -EINTR {
      status = SharedChannel.retryingInterrupts(timeout: timeout) { [base, slot] nanoseconds in
        cipc_channel_reserve(base, slot, capacity, nanoseconds, &bytes)
      }
    }
    guard try outcome(status, count: capacity, operation: operation), let bytes else { return nil }
    return UnsafeMutableRawBufferPointer(start: bytes, count: capacity)
  }

  /// Runs `fill` in the reserved `room` and publishes what it wrote.
  func commit(
    _ room: UnsafeMutableRawBufferPointer, operation: String,
    _ fill: (UnsafeMutableRawBufferPointer) throws -> Int
  )
    throws -> Int
  {
    let used = try fill(room)
    try checkOpen(operation)  // `fill` closed the producer: its slot is not this one's any more
    guard used != 0 else { return 0 }
    guard (0...room.count).contains(used) else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: description,
        reason: "the loan's body wrote \(used) bytes into a loan of \(room.count); nothing was sent")
    }
    let status = cipc_channel_commit(base, slot, room.count, used)
    guard try outcome(status, count: used, operation: operation) else { return 0 }
    return used
  }

  private func loan(
    _ capacity: Int, timeout: Duration?, operation: String,
    _ fill: (UnsafeMutableRawBufferPointer) throws -> Int
  ) throws -> Int? {
    guard let room = try reserve(capacity, timeout: timeout, operation: operation) else { return nil }
    return try commit(room, operation: operation, fill)
  }
}
