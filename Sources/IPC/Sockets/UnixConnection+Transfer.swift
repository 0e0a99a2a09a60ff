import CIPCShims
import Glibc
import Synchronization

// The machinery behind every send and receive of a connection: stream frames
// through the shared FramedStream reader over recvmsg, seqpacket records in
// one recvmsg each (see RecordSpill). Every recvmsg has room for
// descriptors, so any that arrive are owned here: handed over or closed.

/// Collects what arrives alongside a stream frame's bytes, over its reads.
final class ArrivalCollector {
  var arrivals = UnixSocketSupport.Arrivals()

  /// The value of `read`; the descriptors that came are closed if it throws
  /// or finds no message.
  func closingOnFailure<T>(_ read: () throws(IPCError) -> T?) throws(IPCError) -> T? {
    do {
      if let value = try read() { return value }
    } catch {
      arrivals.closeDescriptors()
      throw error
    }
    arrivals.closeDescriptors()
    return nil
  }

  /// The async form of ``closingOnFailure(_:)``.
  func closingOnFailure<T>(_ read: () async throws(IPCError) -> T?) async throws(IPCError) -> T? {
    do {
      if let value = try await read() { return value }
    } catch {
      arrivals.closeDescriptors()
      throw error
    }
    arrivals.closeDescriptors()
    return nil
  }

  func absorb(_ more: UnixSocketSupport.Arrivals) {
    // Most reads bring no descriptor: no array work for them.
    if !more.descriptors.isEmpty { arrivals.descriptors += more.descriptors }
    arrivals.flags |= more.flags
    if arrivals.credentials == nil { arrivals.credentials = more.credentials }
  }
}

/// The part of a stream message that a receive took before the rest
/// arrived, and the descriptors and credentials that came with it: kept for
/// the next receive, the descriptors closed if none comes.
final class PartialSocketFrame: Sendable {
  private let state = Mutex((FrameAssembly(), UnixSocketSupport.Arrivals()))

  deinit { state.withLock { $0.1.closeDescriptors() } }

  /// Takes what is kept, leaving nothing.
  func take() -> (FrameAssembly, UnixSocketSupport.Arrivals) {
    state.withLock { (state) -> (FrameAssembly, UnixSocketSupport.Arrivals) in
      defer { state = (FrameAssembly(), UnixSocketSupport.Arrivals()) }
      return state
    }
  }

  /// Keeps `frame` and `arrivals` for the next receive.
  func keep(_ frame: FrameAssembly, _ arrivals: UnixSocketSupport.Arrivals) {
    state.withLock { $0 = (frame, arrivals) }
  }

  /// The connection's read-ahead, taken by one receive at a time (a new,
  /// empty one if another receive holds it), so no two share its bytes.
  private let readAhead = Mutex<SocketReadAhead?>(nil)

  func takeReadAhead() -> SocketReadAhead {
    readAhead.withLock { $0.take() } ?? SocketReadAhead()
  }

  /// Gives the read-ahead back. Of two receives at once (which a stream does
  /// not support), the one holding bytes wins.
  func keepReadAhead(_ buffer: SocketReadAhead) {
    readAhead.withLock { kept in
      if kept == nil || !buffer.isEmpty { kept = buffer }
    }
  }

  /// Drops what is kept, partial frame and read-ahead: their descriptors
  /// are closed (see SocketReadAhead's deinit), so a peer waiting on one sees its end.
  func drop() {
    var (_, arrivals) = take()
    arrivals.closeDescriptors()
    _ = readAhead.withLock { $0.take() }
  }

  /// The next frame, when the read-ahead holds all of it, it fits `buffer`
  /// and nothing else is due: no partial frame waits (its bytes come
  /// first), and the frame brings no descriptor (those of a read go with its
  /// last byte). Copied into `buffer`; nil takes nothing, and the full
  /// receive runs. A stream of small messages is mostly this case, which
  /// skips the receive's other work (measured: it was most of a receive's
  /// cost, beside one `recvmsg` per 8 KiB).
  func takeBufferedFrame(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
    withReadAheadIfNothingPending { $0.takeWholeFrame(into: buffer) }
  }

  /// The same, as a message (its sender: the read's credentials, if any).
  func takeBufferedFrame() -> ReceivedMessage? {
    withReadAheadIfNothingPending { $0.takeWholeFrame() }
  }

  /// `take` on the read-ahead, under both locks, if no partial frame waits.
  private func withReadAheadIfNothingPending<T: Sendable>(_ take: (SocketReadAhead) -> T?) -> T? {
    state.withLock { state -> T? in
      guard state.0.isEmpty, state.1.descriptors.isEmpty else { return nil }
      return readAhead.withLock { kept -> T? in kept.flatMap(take) }
    }
  }
}

/// Bytes of a stream that one `recvmsg` read beyond what a receive needed
/// (a "chunk"), and what came with them, for the next reads: a stream of
/// small messages then costs one `recvmsg` for many, not two each.
///
/// The chunk's descriptors go to the frame holding its last byte. Linux ends
/// a stream read right after the data of a message carrying descriptors, and
/// a send puts them on the first part of its frame (the header's), so they
/// belong to the last frame starting in the chunk, which holds its last
/// byte. Credentials describe every byte of a chunk (the kernel does not mix
/// writers' data in one read when SO_PASSCRED is on), so every frame that
/// takes some gets them.
///
/// Owned by one receive at a time (taken from the connection under its lock).
final class SocketReadAhead: @unchecked Sendable {
  /// Requests below this are read through the read-ahead; larger ones, with
  /// nothing buffered, go straight into the caller's memory.
  static let smallRead = 1024
  static let capacity = 8 * 1024

  // One receive owns the object at a time (it is taken from the
  // connection under a lock), so the runtime's exclusivity checks, which
  // cost a thread-local lookup per access, are left out.
  /// Allocated on first use (empty until then).
  @exclusivity(unchecked) private var storage = UnsafeMutableRawBufferPointer(start: nil, count: 0)
  @exclusivity(unchecked) private var start = 0
  @exclusivity(unchecked) private var end = 0
  /// What came with the chunk: handed over with its last byte.
  @exclusivity(unchecked) private var arrivals = UnixSocketSupport.Arrivals()

  deinit {
    arrivals.closeDescriptors()
    storage.deallocate()
  }

  var isEmpty: Bool { start == end }

  /// See ``PartialSocketFrame/takeBufferedFrame(into:)``.
  func takeWholeFrame(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
    guard let payload = bufferedFrame(upTo: buffer.count) else { return nil }
    if !payload.isEmpty { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[payload])) }
    _ = consume(through: payload.upperBound)
    return payload.count
  }

  /// See ``PartialSocketFrame/takeBufferedFrame()``.
  func takeWholeFrame() -> ReceivedMessage? {
    guard let payload = bufferedFrame(upTo: Frame.maxPayload) else { return nil }
    let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: storage[payload]))
    return ReceivedMessage(bytes: bytes, descriptors: [], sender: consume(through: payload.upperBound))
  }

  /// Where the next frame's payload lies in `storage`, if all of it is
  /// buffered, it is at most `limit` bytes, and no descriptor or cut
  /// (`MSG_CTRUNC`) comes with it (they belong to the read's last byte; the
  /// full receive reports them).
  private func bufferedFrame(upTo limit: Int) -> Range<Int>? {
    let available = end - start
    guard available >= Frame.headerSize else { return nil }
    var header: UInt32 = 0
    withUnsafeMutableBytes(of: &header) { bytes in
      bytes.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[start..<(start + Frame.headerSize)]))
    }
    let length = Int(UInt32(littleEndian: header))
    guard length <= limit, length <= available - Frame.headerSize else { return nil }
    let payload = (start + Frame.headerSize)..<(start + Frame.headerSize + length)
    if payload.upperBound == end && (!arrivals.descriptors.isEmpty || arrivals.controlTruncated) {
      return nil
    }
    return payload
  }

  /// Moves past a frame taken whole; returns the read's credentials, which
  /// describe every byte of it.
  private func consume(through frameEnd: Int) -> PeerCredentials? {
    let credentials = arrivals.credentials
    start = frameEnd
    if start == end { arrivals = UnixSocketSupport.Arrivals() }
    return credentials
  }

  /// One read of at most `buffer.count` bytes: from what is buffered, else
  /// from one `recvmsg` (with `flags`); nil when it would block. What came
  /// alongside goes to `collector` as described above.
  func read(
    _ buffer: UnsafeMutableRawBufferPointer, from fd: Int32, flags: Int32, into collector: ArrivalCollector
  ) -> Result<Int, IPCError.Code>? {
    if start == end {
      guard buffer.count < Self.smallRead else {
        // All of it is the current frame's: what came belongs to it.
        switch UnixSocketSupport.receiveOnce(fd, into: buffer, flags: flags, withSender: false) {
        case .success(let (count, arrivals)):
          collector.absorb(arrivals)
          return .success(count)
        case .failure(.wouldBlock): return nil
        case .failure(let code): return .failure(code)
        }
      }
      if storage.count == 0 {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.capacity, alignment: 16)
      }
      switch UnixSocketSupport.receiveOnce(fd, into: storage, flags: flags, withSender: false) {
      case .success(let (count, arrivals)):
        if count == 0 {
          collector.absorb(arrivals)
          return .success(0)
        }
        (start, end, self.arrivals) = (0, count, arrivals)
      case .failure(.wouldBlock): return nil
      case .failure(let code): return .failure(code)
      }
    }
    let count = min(buffer.count, end - start)
    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[start..<(start + count)]))
    start += count
    if collector.arrivals.credentials == nil { collector.arrivals.credentials = arrivals.credentials }
    if start == end {
      collector.absorb(arrivals)
      arrivals = UnixSocketSupport.Arrivals()
    }
    return .success(count)
  }
}

/// A stream connection read as frames, for one receive call.
///
/// It takes the connection's read-ahead for the call; the caller gives it
/// back with ``finish()`` on every path (a `defer`), so no buffered byte is lost.
struct SocketFrameReader: FramedStream {
  let connection: UnixConnection
  let collector = ArrivalCollector()
  let readAhead: SocketReadAhead

  init(connection: UnixConnection) {
    self.connection = connection
    self.readAhead = connection.partialFrame.takeReadAhead()
  }

  /// Gives the read-ahead back to the connection.
  func finish() { connection.partialFrame.keepReadAhead(readAhead) }

  var description: String { connection.description }
  var streamNoun: String { "socket" }

  func readingDescriptor() throws(IPCError) -> Int32 { try connection.liveDescriptor("recvmsg") }

  func endOfStream() -> IPCError { connection.endOfStream() }

  func takePartialFrame() -> FrameAssembly {
    let (frame, arrivals) = connection.partialFrame.take()
    collector.absorb(arrivals)
    return frame
  }

  /// Keeps the frame and moves what came with it out of the collector, which
  /// would otherwise close the descriptors when the receive returns nil.
  func keepPartialFrame(_ frame: FrameAssembly) {
    connection.partialFrame.keep(frame, collector.arrivals)
    collector.arrivals = UnixSocketSupport.Arrivals()
  }

  func readSome(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IPCError) -> Int {
    while true {
      if let count = try read(buffer, from: fd, flags: 0) { return count }
      // Would block: the socket is non-blocking after all (another holder of
      // its open file description set O_NONBLOCK). Wait, never read it as the end.
      UnixSocketSupport.waitWhileNonBlocking(fd, for: Readiness.readable)
    }
  }

  func tryReadSome(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IPCError) -> Int? {
    try read(buffer, from: fd, flags: Int32(MSG_DONTWAIT))
  }

  private func read(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32, flags: Int32) throws(IPCError)
    -> Int?
  {
    guard buffer.count > 0 else { return 0 }
    switch readAhead.read(buffer, from: fd, flags: flags, into: collector) {
    case .success(let count)?:
      return count
    case nil:
      return nil
    case .failure(let code)? where code.rawValue == ECONNRESET:
      return 0  // the peer closed with our data unread: the stream has ended
    case .failure(let code)?:
      throw IPCError(code: code, operation: "recvmsg", object: description)
    }
  }
}

extension UnixConnection {
  // MARK: Sending

  /// Sends one message with `descriptors` (already checked) alongside.
  func sendMessage(_ message: UnsafeRawBufferPointer, descriptors: [Int32]) throws(IPCError) {
    let fd = try liveDescriptor("sendmsg")
    guard kind == .stream else {
      while true {
        switch UnixSocketSupport.sendOnce(
          fd, header: nil, bytes: message, descriptors: descriptors, to: nil, flags: 0)
        {
        case .success: return
        case .failure(.wouldBlock): UnixSocketSupport.waitWhileNonBlocking(fd, for: Readiness.writable)
        case .failure(let code): throw sendError(code, sent: 0, of: message.count)
        }
      }
    }
    let header = try Frame.header(count: message.count, operation: "sendmsg", object: description)
    let total = Frame.headerSize + message.count
    var sent = 0
    // One sendmsg carries the header, the payload and the descriptors; a
    // partial send (a signal, a huge message) goes on without them.
    while sent < total {
      let done = sent
      let result = withUnsafeBytes(of: header) { headerBytes in
        UnixSocketSupport.sendOnce(
          fd, header: done < Frame.headerSize ? UnsafeRawBufferPointer(rebasing: headerBytes[done...]) : nil,
          bytes: UnsafeRawBufferPointer(rebasing: message[max(0, done - Frame.headerSize)...]),
          descriptors: done == 0 ? descriptors : [], to: nil, flags: 0)
      }
      switch result {
      case .success(let count): sent += count
      case .failure(.wouldBlock): UnixSocketSupport.waitWhileNonBlocking(fd, for: Readiness.writable)
      case .failure(let code): throw sendError(code, sent: sent, of: total)
      }
    }
  }

  private func sendError(_ code: IPCError.Code, sent: Int, of total: Int) -> IPCError {
    var reason: String?
    switch code {
    case .brokenPipe, IPCError.Code(rawValue: ECONNRESET):
      reason = "the peer closed the connection (or shut down its reading side); nothing more can be sent"
    case .messageTooLong:
      reason =
        "a record of \(total) bytes is larger than the socket's send buffer allows"
        + " (SO_SNDBUF, see /proc/sys/net/core/wmem_default); nothing was sent"
    case IPCError.Code(rawValue: ETOOMANYREFS):
      reason = "too many descriptors are in flight to this peer already (see ulimit -n); nothing was sent"
    case .badDescriptor:
      reason = "a descriptor passed with the message is not open"
    default:
      break
    }
    var error = IPCError(code: code, operation: "sendmsg", object: description, reason: reason)
    if sent > 0 { error.reason += " (\(sent) of \(total) bytes were sent before)" }
    return error
  }

  // MARK: Receiving, blocking and timed

  /// One message: blocking when `timeout` is nil (nil at the end), else
  /// waiting at most `timeout` (nil if none started, `.brokenPipe` at the end).
  func receiveMessage(timeout: Duration?, takingDescriptors: Bool) throws(IPCError) -> ReceivedMessage? {
    let fd = try liveDescriptor("recvmsg")
    if kind == .stream {
      if let message = takeBufferedMessage() { return message }
      let reader = SocketFrameReader(connection: self)
      defer { reader.finish() }
      let collector = reader.collector
      let bytes = try collector.closingOnFailure { () throws(IPCError) in
        if let timeout {
          try reader.receiveFrame(within: timeout, from: fd)
        } else {
          try reader.receiveFrame(from: fd)
        }
      }
      return try bytes.map { (bytes) throws(IPCError) in
        try deliver(bytes, &collector.arrivals, takingDescriptors: takingDescriptors)
      }
    }
    let outcome = try record(into: nil, from: fd, timeout: timeout)
    return try finish(outcome, throwAtEnd: timeout != nil, takingDescriptors: takingDescriptors)
  }

  /// One message into `buffer`, with the timing of ``receiveMessage(timeout:takingDescriptors:)``.
  func receiveMessage(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?) throws(IPCError) -> Int?
  {
    let fd = try liveDescriptor("recvmsg")
    if kind == .stream {
      if let count = partialFrame.takeBufferedFrame(into: buffer) { return count }
      let reader = SocketFrameReader(connection: self)
      defer { reader.finish() }
      let collector = reader.collector
      let count = try collector.closingOnFailure { () throws(IPCError) in
        if let timeout {
          try reader.receiveFrame(into: buffer, within: timeout, from: fd)
        } else {
          try reader.receiveFrame(into: buffer, from: fd)
        }
      }
      return try count.map { (count) throws(IPCError) in try deliver(count, in: buffer, &collector.arrivals) }
    }
    let outcome = try record(into: buffer, from: fd, timeout: timeout)
    return try finish(outcome, in: buffer, throwAtEnd: timeout != nil)
  }

  /// A seqpacket record (into `buffer`, or into an array of its size when
  /// nil), waiting at most `timeout` for it (nil: until one comes).
  private func record(into buffer: UnsafeMutableRawBufferPointer?, from fd: Int32, timeout: Duration?)
    throws(IPCError) -> RecordOutcome?
  {
    guard let timeout else { return try waitForRecord(into: buffer) }
    return try Readiness.until(timeout, descriptor: fd, events: Readiness.readable) {
      () throws(IPCError) -> RecordOutcome? in
      try attemptRecord(into: buffer, wait: false)
    }
  }

  // MARK: Receiving, async

  /// The async form of ``receiveMessage(timeout:takingDescriptors:)``;
  /// `throwAtEnd` makes the end `.brokenPipe` (the timed forms).
  func awaitMessage(timeout: Duration?, throwAtEnd: Bool, takingDescriptors: Bool) async throws(IPCError)
    -> ReceivedMessage?
  {
    if kind == .stream {
      // A cancelled task takes nothing: the full receive throws `.cancelled`.
      if !Task.isCancelled, let message = takeBufferedMessage() { return message }
      let reader = SocketFrameReader(connection: self)
      defer { reader.finish() }
      let collector = reader.collector
      let bytes = try await collector.closingOnFailure { () async throws(IPCError) in
        try await reader.awaitFrame(timeout, throwAtEnd: throwAtEnd)
      }
      return try bytes.map { (bytes) throws(IPCError) in
        try deliver(bytes, &collector.arrivals, takingDescriptors: takingDescriptors)
      }
    }
    let outcome = try await awaitRecord(into: nil, timeout: timeout)
    return try finish(outcome, throwAtEnd: throwAtEnd, takingDescriptors: takingDescriptors)
  }

  /// The async form of ``receiveMessage(into:timeout:)``.
  func awaitMessage(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration?, throwAtEnd: Bool)
    async throws(IPCError) -> Int?
  {
    if kind == .stream {
      if !Task.isCancelled, let count = partialFrame.takeBufferedFrame(into: buffer) { return count }
      let reader = SocketFrameReader(connection: self)
      defer { reader.finish() }
      let collector = reader.collector
      let count = try await collector.closingOnFailure { () async throws(IPCError) in
        try await reader.awaitFrame(into: buffer, timeout, throwAtEnd: throwAtEnd)
      }
      return try count.map { (count) throws(IPCError) in try deliver(count, in: buffer, &collector.arrivals) }
    }
    let outcome = try await awaitRecord(into: buffer, timeout: timeout)
    return try finish(outcome, in: buffer, throwAtEnd: throwAtEnd)
  }

  private func awaitRecord(into buffer: UnsafeMutableRawBufferPointer?, timeout: Duration?)
    async throws(IPCError)
    -> RecordOutcome?
  {
    try await Readiness.awaiting(
      timeout, cancelled: .cancelled("recvmsg", object: description),
      descriptor: { () throws(IPCError) in try liveDescriptor("recvmsg") }, events: Readiness.readable
    ) { () throws(IPCError) -> RecordOutcome? in
      try attemptRecord(into: buffer, wait: false)
    }
  }

  // MARK: Seqpacket records

  /// Waits as long as it takes for a record (or the end).
  private func waitForRecord(into buffer: UnsafeMutableRawBufferPointer?) throws(IPCError) -> RecordOutcome {
    while true {
      if let outcome = try attemptRecord(into: buffer, wait: true) { return outcome }
      try UnixSocketSupport.waitWhileNonBlocking(liveDescriptor("recvmsg"), for: Readiness.readable)
    }
  }

  /// One attempt at the next record (see UnixSocketSupport.attemptRecord).
  private func attemptRecord(into buffer: UnsafeMutableRawBufferPointer?, wait: Bool) throws(IPCError)
    -> RecordOutcome?
  {
    try takeRecord(liveDescriptor("recvmsg"), into: buffer, wait: wait)
  }

  private func finish(_ outcome: RecordOutcome?, throwAtEnd: Bool, takingDescriptors: Bool) throws(IPCError)
    -> ReceivedMessage?
  {
    switch outcome {
    case nil: return nil
    case .end:
      if throwAtEnd { throw endOfStream() }
      return nil
    case .message(let bytes, var arrivals):
      return try deliver(bytes, &arrivals, takingDescriptors: takingDescriptors)
    case .count(_, var arrivals):
      // Never produced without a buffer to count into.
      arrivals.closeDescriptors()
      return nil
    case .fitted:
      return nil  // never produced without a buffer either
    }
  }

  private func finish(_ outcome: RecordOutcome?, in buffer: UnsafeMutableRawBufferPointer, throwAtEnd: Bool)
    throws(IPCError) -> Int?
  {
    switch outcome {
    case nil: return nil
    case .end:
      if throwAtEnd { throw endOfStream() }
      return nil
    case .message(let bytes, var arrivals):
      throw UnixSocketSupport.tooBig(bytes, buffer: buffer, arrivals: &arrivals, object: description)
    case .count(let count, var arrivals):
      return try deliver(count, in: buffer, &arrivals)
    case .fitted(let count):
      return count
    }
  }

  // MARK: Delivering

  /// The message, or the error of descriptors nobody asked for (closed) or
  /// cut off (`MSG_CTRUNC`, those that came closed).
  private func deliver(
    _ bytes: [UInt8], _ arrivals: inout UnixSocketSupport.Arrivals, takingDescriptors: Bool
  )
    throws(IPCError) -> ReceivedMessage
  {
    let count = arrivals.descriptors.count
    if arrivals.controlTruncated {
      arrivals.closeDescriptors()
      throw UnixSocketSupport.descriptorsCut(count, bytes: bytes, operation: "recvmsg", object: description)
    }
    if !takingDescriptors && count > 0 {
      arrivals.closeDescriptors()
      throw UnixSocketSupport.unexpectedDescriptors(
        count, bytes: bytes, operation: "recvmsg", object: description)
    }
    let sender = reportsSender.load(ordering: .acquiring) ? arrivals.credentials : nil
    return ReceivedMessage(bytes: bytes, descriptors: arrivals.takeDescriptors(), sender: sender)
  }

  private func deliver(
    _ count: Int, in buffer: UnsafeMutableRawBufferPointer, _ arrivals: inout UnixSocketSupport.Arrivals
  ) throws(IPCError) -> Int {
    let n = arrivals.descriptors.count
    if arrivals.controlTruncated || n > 0 {
      let bytes = Array(buffer[..<count])
      let cut = arrivals.controlTruncated
      arrivals.closeDescriptors()
      throw cut
        ? UnixSocketSupport.descriptorsCut(n, bytes: bytes, operation: "recvmsg", object: description)
        : UnixSocketSupport.unexpectedDescriptors(n, bytes: bytes, operation: "recvmsg", object: description)
    }
    return count
  }

  /// A message the read-ahead holds whole (see
  /// ``PartialSocketFrame/takeBufferedFrame()``), with its sender only if asked for.
  private func takeBufferedMessage() -> ReceivedMessage? {
    guard var message = partialFrame.takeBufferedFrame() else { return nil }
    if !reportsSender.load(ordering: .acquiring) { message.sender = nil }
    return message
  }

  /// What a timed, non-blocking or async timed receive throws at the end.
  func endOfStream() -> IPCError {
    IPCError(
      code: .brokenPipe, operation: "recvmsg", object: description,
      reason: "the connection has ended: the peer closed it. A timed or non-blocking receive reports"
        + " the end as this error, so that nil only means that no message arrived in time")
  }
}
