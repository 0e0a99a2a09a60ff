import CIPCShims
import Glibc

/// The consumer of a ``SharedChannel``: it takes every producer's messages,
/// each producer's in the order sent, the producers in turn.
///
/// A channel has one consumer at a time (another live process attaching
/// gets `.busy`), and the consumer is not `Sendable`: it stays with the
/// thread or task that made it, so one thread receives at a time.
/// ``close()`` (or releasing the object) detaches it: producers then fail
/// with `.brokenPipe` instead of waiting forever for room.
public final class SharedChannelConsumer: CustomStringConvertible {
  let region: SharedRegion
  /// The channel's first byte, mapped while this endpoint is open (it holds an access).
  private let base: UnsafeMutableRawPointer
  /// The largest message this channel carries.
  public let maximumMessageSize: Int
  private var closed = false
  private var fingerprint = BitwiseMessageCoder.LastFingerprint()

  /// Attaches as the consumer of the channel laid out in `region`. The
  /// region stays mapped while the consumer is open, even if it is closed
  /// meanwhile.
  ///
  /// The corresponding C call is `cipc_channel_attach_consumer`: a
  /// compare-and-swap of the consumer's identity (pid and start time) in the header.
  ///
  /// - Throws: `.invalidArgument` if no channel of this version is laid out
  ///   in `region`; `.busy` if another live process is its consumer;
  ///   `.permissionDenied` for a read-only region.
  public init(_ region: SharedRegion) throws(IPCError) {
    let (base, _) = try SharedChannel.attach(region, as: "SharedChannelConsumer") {
      cipc_channel_attach_consumer($0)
    }
    self.region = region
    self.base = base
    self.maximumMessageSize = cipc_channel_max_message(base)
  }

  deinit { detach() }

  /// `consumer of shared channel in shared memory /jobs (...)`.
  public var description: String { "consumer of shared channel in \(region)" }

  /// Receives the next message, waiting until one arrives.
  ///
  /// The corresponding C call is `cipc_channel_receive`: loads of each
  /// ring's tail, a copy, a release store of the head; after a short spin,
  /// `futex` wait on the header's sleep word.
  ///
  /// - Returns: the message; nil at the end of the stream: producers came,
  ///   all of them are gone (closed or dead), and every message is read.
  /// - Throws: `.badDescriptor` after ``close()``.
  public func receive() throws(IPCError) -> [UInt8]? {
    while true {
      switch try receiveArray(timeout: nil) {
      case .message(let message): return message
      case .ended: return nil
      case .nothing: continue
      }
    }
  }

  /// Receives the next message into `buffer`, waiting until one arrives.
  ///
  /// The corresponding C call is `cipc_channel_receive`.
  ///
  /// - Returns: the number of bytes of `buffer` the message fills; nil at
  ///   the end of the stream.
  /// - Throws: `.tooBig` if the message is longer than `buffer`: it stays in
  ///   the channel (nothing is lost), and the error says its length;
  ///   otherwise as ``receive()-24pr0``.
  public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int? {
    while true {
      switch try take(into: buffer, timeout: nil) {
      case .message(let count): return count
      case .tooLong(let length):
        throw IPCError(
          code: .tooBig, operation: "receive", object: description,
          reason: "the next message is \(length) bytes, longer than the \(buffer.count)-byte buffer;"
            + " it stays in the channel")
      case .ended: return nil
      case .nothing: continue
      }
    }
  }

  /// Receives a message if one is there now; nil if none is.
  ///
  /// The corresponding C call is `cipc_channel_receive` with no wait.
  ///
  /// - Throws: `.brokenPipe` at the end of the stream (so nil means only
  ///   "nothing yet"); otherwise as ``receive()-24pr0``.
  public func tryReceive() throws(IPCError) -> [UInt8]? {
    try receive(timeout: .zero)
  }

  /// Receives the next message, waiting at most `timeout` (monotonic clock);
  /// nil if none came in time.
  ///
  /// The corresponding C call is `cipc_channel_receive` with a deadline.
  ///
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise as ``receive()-24pr0``.
  public func receive(timeout: Duration) throws(IPCError) -> [UInt8]? {
    switch try receiveArray(timeout: timeout) {
    case .message(let message): return message
    case .nothing: return nil
    case .ended: throw endOfStream("receive")
    }
  }

  /// Receives the next message and decodes it as a `T` with `coder`.
  ///
  /// With ``BitwiseMessageCoder`` the value is loaded from the ring where it
  /// lies (`cipc_channel_peek`, then `cipc_channel_release`): no array
  /// between. Otherwise the bytes are copied out first (`cipc_channel_receive`).
  ///
  /// - Returns: the value; nil at the end of the stream.
  /// - Throws: `.badMessage` if the bytes are not a `T` (they are kept in
  ///   the error's payload); otherwise as ``receive()-24pr0``.
  public func receive<T: Decodable, Coder: MessageCoder>(_ type: T.Type, coder: Coder = JSONMessageCoder())
    throws(IPCError) -> T?
  {
    guard Coder.self == BitwiseMessageCoder.self else {
      guard let bytes = try receive() else { return nil }
      return try coder.decodeMessage(T.self, from: bytes, object: description)
    }
    // A plain value is loaded from the ring where it lies (`cipc_channel_peek`
    // and `cipc_channel_release`): no array between. Bytes that are not a `T`
    // are consumed all the same and kept in the error, as above.
    while true {
      switch try peek(timeout: nil) {
      case .message(let slot, let bytes):
        let value = BitwiseMessageCoder.read(T.self, from: bytes, header: fingerprint.of(T.self))
        let unexpected = value == nil ? Array(bytes) : []
        cipc_channel_release(base, slot)
        if let value { return value }
        return try coder.decodeMessage(T.self, from: unexpected, object: description)
      case .ended: return nil
      case .nothing: continue
      }
    }
  }

  // MARK: Reading in place

  /// Receives the next message by reading it where it lies in the ring,
  /// waiting until one arrives: no copy unless `body` makes one.
  ///
  ///     let total = try consumer.receive { bytes in bytes.reduce(0) { $0 + Int($1) } }
  ///
  /// `bytes` is valid only inside `body` (the producer reuses the room once
  /// it is consumed). The message is consumed when `body` returns; if `body`
  /// throws, it stays in the channel (nothing consumed), and the next
  /// receive gives it, or another producer's message first.
  ///
  /// The corresponding C calls are `cipc_channel_peek` (loads of each ring's
  /// tail; after a short spin, `futex` waits on the header's sleep word) and
  /// `cipc_channel_release` (a release store of the head; a `futex` wake only
  /// if the producer sleeps).
  ///
  /// - Returns: what `body` returned; nil at the end of the stream.
  /// - Throws: `.badDescriptor` after ``close()``, or what `body` throws.
  ///   Typed throws cannot join ``IPCError`` with `body`'s own error type, so
  ///   this throws untyped, as ``SharedRegion/withUnsafeBytes(_:)`` does.
  public func receive<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
    while true {
      switch try peek(timeout: nil) {
      case .message(let slot, let bytes): return try read(bytes, slot: slot, body)
      case .ended: return nil
      case .nothing: continue
      }
    }
  }

  /// ``receive(_:)-1jbg`` if a message is there now: nil if none is (and `body`
  /// did not run).
  ///
  /// The corresponding C calls are `cipc_channel_peek` with no wait and
  /// `cipc_channel_release`.
  ///
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise as ``receive(_:)-1jbg``.
  public func tryReceive<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
    try receive(timeout: .zero, body)
  }

  /// ``receive(_:)-1jbg``, waiting at most `timeout` (monotonic clock): nil if
  /// none came in time (and `body` did not run).
  ///
  /// The corresponding C calls are `cipc_channel_peek` with a deadline and
  /// `cipc_channel_release`.
  ///
  /// - Throws: `.brokenPipe` at the end of the stream; otherwise as ``receive(_:)-1jbg``.
  public func receive<R>(timeout: Duration, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
    switch try peek(timeout: timeout) {
    case .message(let slot, let bytes): return try read(bytes, slot: slot, body)
    case .nothing: return nil
    case .ended: throw endOfStream("receive")
    }
  }

  /// Detaches the consumer: producers waiting for room, and later sends,
  /// fail with `.brokenPipe`; messages not read stay in the region.
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
    cipc_channel_detach_consumer(base)
    region.leave()
  }

  /// What one call of the C layer gave.
  enum Taken {
    case message(Int)
    /// The next message is this long, longer than the buffer: not taken.
    case tooLong(Int)
    case nothing
    case ended
  }

  enum Received {
    case message([UInt8])
    case nothing
    case ended
  }

  /// The error of a timed or try receive at the end of the stream.
  func endOfStream(_ operation: String) -> IPCError {
    IPCError(
      code: .brokenPipe, operation: operation, object: description,
      reason: "the end of the stream: every producer is gone and every message was read")
  }

  /// Throws `.badDescriptor` once closed.
  func checkOpen(_ operation: String) throws(IPCError) {
    guard !closed else {
      throw IPCError(
        code: .badDescriptor, operation: operation, object: description, reason: "the consumer was closed")
    }
  }

  /// Where a waiting thread finds the channel.
  var place: ChannelPlace { ChannelPlace(base: base, slot: 0) }

  /// What a C call's status means, once it is not a length.
  private func failure(_ status: Int64, _ operation: String) -> IPCError {
    status == Int64(-ECANCELED)
      ? IPCError.cancelled(operation, object: description)
      : IPCError(
        code: IPCError.Code(rawValue: Int32(clamping: -status)), operation: operation, object: description)
  }

  /// The next message into `buffer`, from one thread at a time.
  func take(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws(IPCError) -> Taken {
    try checkOpen("receive")
    var status = cipc_channel_receive(
      base, buffer.baseAddress, buffer.count, SharedChannel.nanoseconds(timeout))
    if status == Int64(-EINTR) {
      status = SharedChannel.retryingInterrupts(timeout: timeout) { [base] nanoseconds in
        cipc_channel_receive(base, buffer.baseAddress, buffer.count, nanoseconds)
      }
    }
    switch status {
    case 0...: return status > buffer.count ? .tooLong(Int(status)) : .message(Int(status))
    case Int64(-EAGAIN): return .nothing
    case Int64(-EPIPE): return .ended
    default: throw failure(status, "receive")
    }
  }

  /// What `cipc_channel_peek` found.
  enum Peeked {
    case message(slot: Int32, bytes: UnsafeRawBufferPointer)
    case nothing
    case ended
  }

  /// The next message, left where it lies.
  func peek(timeout: Duration?) throws(IPCError) -> Peeked {
    try checkOpen("receive")
    var slot: Int32 = 0
    var bytes: UnsafeRawPointer?
    var status = cipc_channel_peek(base, SharedChannel.nanoseconds(timeout), &slot, &bytes)
    if status == Int64(-EINTR) {
      status = SharedChannel.retryingInterrupts(timeout: timeout) { [base] nanoseconds in
        cipc_channel_peek(base, nanoseconds, &slot, &bytes)
      }
    }
    switch status {
    case 0...: return .message(slot: slot, bytes: UnsafeRawBufferPointer(start: bytes, count: Int(status)))
    case Int64(-EAGAIN): return .nothing
    case Int64(-EPIPE): return .ended
    default: throw failure(status, "receive")
    }
  }

  /// Runs `body` on a peeked message, then consumes it (not if `body` throws).
  func read<R>(_ bytes: UnsafeRawBufferPointer, slot: Int32, _ body: (UnsafeRawBufferPointer) throws -> R)
    throws
    -> R
  {
    let result = try body(bytes)
    // `body` closed the consumer: the mapping may be gone, the message stays.
    if !closed { cipc_channel_release(base, slot) }
    return result
  }

  /// The next message as an array: a small one through the stack, a larger
  /// one straight into an array of its size.
  func receiveArray(timeout: Duration?) throws(IPCError) -> Received {
    var needed = 0
    let small = try withUnsafeTemporaryAllocation(byteCount: 256, alignment: 8) {
      (scratch) throws(IPCError) -> Received? in
      switch try take(into: scratch, timeout: timeout) {
      case .message(let count): return .message(Array(UnsafeRawBufferPointer(rebasing: scratch[..<count])))
      case .tooLong(let length):
        needed = length
        return nil
      case .nothing: return .nothing
      case .ended: return .ended
      }
    }
    if let small { return small }
    while true {
      // At the head now, so no wait: unless another producer's turn came
      // first with a longer one, which the next round makes room for.
      var message = [UInt8](repeating: 0, count: needed)
      let taken = message.withUnsafeMutableBytes { bytes in
        Result { () throws(IPCError) in try take(into: bytes, timeout: timeout) }
      }
      switch try taken.get() {
      case .message(let count):
        message.removeLast(message.count - count)
        return .message(message)
      case .tooLong(let length): needed = length
      case .nothing: return .nothing
      case .ended: return .ended
      }
    }
  }
}
