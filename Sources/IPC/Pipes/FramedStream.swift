import Glibc

/// The frame format of pipes and Unix stream sockets, over any byte stream
/// that can read some bytes (blocking, and without waiting): a 4-byte
/// little-endian unsigned length, then that many payload bytes.
///
/// ``PipeEnd`` and ``UnixConnection`` (stream) conform, so a pipe reader and
/// a socket reader share one format and one reader. Each conformer says how
/// it reads (`read`, `preadv2`, `recvmsg`); how it sends stays its own, since
/// a pipe writes small frames in one atomic `write` and a socket sends the
/// header and payload in one `sendmsg` with descriptors alongside.
protocol FramedStream {
  /// The object, as errors name it.
  var description: String { get }
  /// What a frame arrived through, in errors: `pipe` or `socket`.
  var streamNoun: String { get }
  /// The descriptor to read from, or the error of a closed or write-only end.
  func readingDescriptor() throws(IPCError) -> Int32
  /// One blocking read into `buffer`; 0 at the end of the stream.
  func readSome(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IPCError) -> Int
  /// One read that never waits; nil if nothing has arrived.
  func tryReadSome(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IPCError) -> Int?
  /// What a timed, non-blocking or async timed receive throws at the end of
  /// the stream (a pipe's writers are gone; a socket's peer closed).
  func endOfStream() -> IPCError
  /// Takes the frame an earlier receive left unfinished (empty if none).
  func takePartialFrame() -> FrameAssembly
  /// Keeps an unfinished frame for the next receive.
  func keepPartialFrame(_ frame: FrameAssembly)
}

/// The numbers of the frame format.
enum Frame {
  /// Bytes of the length that precedes every payload.
  static let headerSize = 4
  /// The largest payload a frame carries: `Int32.max` bytes, so a peer may
  /// read the length as a signed 32-bit number.
  static let maxPayload = Int(Int32.max)

  /// The header of a frame of `count` payload bytes, little-endian.
  ///
  /// - Throws: `.invalidArgument` above ``maxPayload``, naming the limit.
  static func header(count: Int, operation: String, object: @autoclosure () -> String) throws(IPCError)
    -> UInt32
  {
    guard count <= maxPayload else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: object(),
        reason: "a message of \(count) bytes exceeds the frame limit of \(maxPayload) bytes;"
          + " nothing was written")
    }
    return UInt32(count).littleEndian
  }
}

// MARK: Blocking reads

extension FramedStream {
  /// Reads until `buffer` is full or the stream ends; returns how many bytes arrived.
  func fill(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IPCError) -> Int {
    var filled = 0
    while filled < buffer.count {
      let count = try readSome(UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), from: fd)
      if count == 0 { break }
      filled += count
    }
    return filled
  }

  /// Reads up to `count` bytes onto the end of `bytes`, stopping early at the
  /// end of the stream; returns how many were appended. The array grows as
  /// bytes arrive (64 KiB, then doubling), so a huge `count` that the stream
  /// does not deliver never allocates huge memory.
  func append(upTo count: Int, to bytes: inout [UInt8], from fd: Int32) throws(IPCError) -> Int {
    var appended = 0
    while appended < count {
      let start = bytes.count
      let chunk = min(count - appended, max(start, 64 * 1024))
      bytes.append(contentsOf: repeatElement(0, count: chunk))
      let result = bytes.withUnsafeMutableBytes { buffer in
        Result { () throws(IPCError) in
          try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[start...]), from: fd)
        }
      }
      let got = try result.get()
      appended += got
      if got < chunk {
        bytes.removeLast(chunk - got)
        break
      }
    }
    return appended
  }

  /// Receives the next frame's payload; nil at a clean end of stream.
  func receiveFrame(from fd: Int32) throws(IPCError) -> [UInt8]? {
    try frame(into: nil, timeout: nil, from: fd).payload
  }

  /// Receives the next frame's payload into `buffer`; nil at a clean end of stream.
  func receiveFrame(into buffer: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IPCError) -> Int? {
    try frame(into: buffer, timeout: nil, from: fd).count
  }

  /// The next frame, read on from what an earlier receive kept: blocking
  /// when `timeout` is nil, else taking what arrives within `timeout` and
  /// keeping an unfinished frame for the next receive (`.pending`).
  func frame(into buffer: UnsafeMutableRawBufferPointer?, timeout: Duration?, from fd: Int32)
    throws(IPCError) -> FrameStep
  {
    var frame = takePartialFrame()
    defer { if !frame.isEmpty { keepPartialFrame(frame) } }
    guard let timeout else {
      return try advance(&frame, into: buffer) { (bytes) throws(IPCError) in try readSome(bytes, from: fd) }
    }
    let step = try Readiness.until(timeout, descriptor: fd, events: Readiness.readable) {
      () throws(IPCError) -> FrameStep? in
      let step = try advance(&frame, into: buffer) { (bytes) throws(IPCError) in
        try tryReadSome(bytes, from: fd)
      }
      if case .pending = step { return nil }
      return step
    }
    return step ?? .pending
  }

  /// Reads on into `frame` with `read` (nil: nothing more has arrived) until
  /// the frame is whole (`frame` is then reset), the stream ends, or nothing
  /// more has arrived (`.pending`, `frame` holds what did). The payload goes
  /// into `buffer` when given and large enough, else into an array.
  func advance(
    _ frame: inout FrameAssembly, into buffer: UnsafeMutableRawBufferPointer?,
    _ read: (UnsafeMutableRawBufferPointer) throws(IPCError) -> Int?
  ) throws(IPCError) -> FrameStep {
    while frame.headerCount < Frame.headerSize {
      let done = frame.headerCount
      let result = withUnsafeMutableBytes(of: &frame.header) { header in
        Result { () throws(IPCError) in try read(UnsafeMutableRawBufferPointer(rebasing: header[done...])) }
      }
      guard let count = try result.get() else { return .pending }
      if count == 0 {
        frame = FrameAssembly()
        if done == 0 { return .endOfStream }
        _ = try checkedLength(0, count: done)  // throws: the stream ended inside the header
      }
      frame.headerCount += count
    }
    let length: Int
    do throws(IPCError) {
      length = try checkedLength(frame.header, count: Frame.headerSize)
    } catch {
      frame = FrameAssembly()
      throw error
    }
    if let buffer, length <= buffer.count {
      return try advance(&frame, length: length, into: buffer, read)
    }
    while frame.payload.count < length {
      let start = frame.payload.count
      // Grown as bytes arrive (64 KiB, then doubling): a huge length that
      // the stream does not deliver never allocates huge memory.
      let chunk = min(length - start, max(start, 64 * 1024))
      frame.payload.append(contentsOf: repeatElement(0, count: chunk))
      var got = 0
      while got < chunk {
        let range = (start + got)..<(start + chunk)
        let result = frame.payload.withUnsafeMutableBytes { bytes in
          Result { () throws(IPCError) in try read(UnsafeMutableRawBufferPointer(rebasing: bytes[range])) }
        }
        let count: Int?
        do throws(IPCError) { count = try result.get() } catch {
          frame.payload.removeLast(chunk - got)
          throw error
        }
        guard let count, count > 0 else {
          frame.payload.removeLast(chunk - got)
          if count == nil { return .pending }
          let payload = frame.payload
          frame = FrameAssembly()
          throw endedInside(count: payload.count, length: length, payload: payload)
        }
        got += count
      }
    }
    let payload = frame.payload
    frame = FrameAssembly()
    if let buffer { throw tooBig(length: length, buffer: buffer, payload: payload) }
    return .bytes(payload)
  }

  /// The payload part of ``advance(_:into:_:)`` straight into `buffer`,
  /// which holds `length` bytes; what an earlier receive kept is copied in
  /// first, and what arrived goes back into `frame` if the rest has not.
  private func advance(
    _ frame: inout FrameAssembly, length: Int, into buffer: UnsafeMutableRawBufferPointer,
    _ read: (UnsafeMutableRawBufferPointer) throws(IPCError) -> Int?
  ) throws(IPCError) -> FrameStep {
    var got = frame.payload.count
    if got > 0 {
      frame.payload.withUnsafeBytes { buffer.copyMemory(from: $0) }
      frame.payload = []
    }
    while got < length {
      let count: Int?
      do throws(IPCError) {
        count = try read(UnsafeMutableRawBufferPointer(rebasing: buffer[got..<length]))
      } catch {
        frame.payload = Array(buffer[..<got])
        throw error
      }
      guard let count, count > 0 else {
        if count == nil {
          frame.payload = Array(buffer[..<got])
          return .pending
        }
        frame = FrameAssembly()
        throw endedInside(count: got, length: length, payload: Array(buffer[..<got]))
      }
      got += count
    }
    frame = FrameAssembly()
    return .count(length)
  }

  // MARK: Errors

  func tooBig(length: Int, buffer: UnsafeMutableRawBufferPointer, payload: [UInt8]) -> IPCError {
    IPCError(
      code: .tooBig, operation: "read", object: description,
      reason: "a message of \(length) bytes is longer than the buffer of \(buffer.count) bytes;"
        + " it was taken from the \(streamNoun) and is kept in the error's payload",
      payload: payload)
  }

  /// The payload length in a header of which `count` bytes (1 to 4) arrived.
  func checkedLength(_ length: UInt32, count: Int) throws(IPCError) -> Int {
    guard count == Frame.headerSize else {
      throw IPCError(
        code: .badMessage, operation: "read", object: description,
        reason: "the stream ended after \(count) of \(Frame.headerSize) header bytes of a message")
    }
    let size = Int(UInt32(littleEndian: length))
    guard size <= Frame.maxPayload else {
      throw IPCError(
        code: .badMessage, operation: "read", object: description,
        reason: "a message header announces \(size) bytes, more than the limit of"
          + " \(Frame.maxPayload): the stream is not framed as PipeEnd.send frames it"
          + " (a 4-byte little-endian length, then the bytes)")
    }
    return size
  }

  func endedInside(count: Int, length: Int, payload: [UInt8]) -> IPCError {
    IPCError(
      code: .badMessage, operation: "read", object: description,
      reason: "the stream ended after \(count) of \(length) bytes of a message;"
        + " the bytes that arrived are kept in the error's payload",
      payload: payload)
  }

  /// The end of a pipe's stream, as timed, non-blocking and async timed receives report it.
  func endOfStream() -> IPCError {
    IPCError(
      code: .brokenPipe, operation: "read", object: description,
      reason: "the stream has ended: every write end is closed. A timed or non-blocking receive"
        + " reports the end as this error, so that nil only means that no message arrived in time")
  }
}

// MARK: Timed and non-blocking reads

extension FramedStream {
  /// Receives the next frame, taking what arrives within `timeout`; nil if
  /// the frame is not whole by then (what arrived is kept for the next
  /// receive). The end of the stream is `.brokenPipe` here.
  func receiveFrame(within timeout: Duration, from fd: Int32) throws(IPCError) -> [UInt8]? {
    try frame(into: nil, timeout: timeout, from: fd).payload(throwingAtEnd: self)
  }

  /// Receives the next frame into `buffer`, taking what arrives within `timeout`.
  func receiveFrame(into buffer: UnsafeMutableRawBufferPointer, within timeout: Duration, from fd: Int32)
    throws(IPCError) -> Int?
  {
    try frame(into: buffer, timeout: timeout, from: fd).count(throwingAtEnd: self)
  }
}

/// A frame read in part: bytes a receive took before it could not wait for
/// the rest. Kept by the stream's object, so the next receive goes on from
/// there and nothing taken from the stream is lost.
struct FrameAssembly: Sendable {
  /// The length as read so far (little-endian bytes).
  var header: UInt32 = 0
  /// How many of the header's 4 bytes arrived.
  var headerCount = 0
  /// The payload bytes that arrived, once the header is whole.
  var payload: [UInt8] = []

  /// Whether nothing of a frame has been read.
  var isEmpty: Bool { headerCount == 0 }
}

/// Where reading a frame got to.
enum FrameStep {
  /// A frame is not whole, and nothing more has arrived; what did is kept.
  case pending
  /// The stream ended cleanly, between frames.
  case endOfStream
  /// A whole frame's payload.
  case bytes([UInt8])
  /// A whole frame's payload, of this many bytes, in the caller's buffer.
  case count(Int)

  /// The payload; nil at the end or while pending.
  var payload: [UInt8]? {
    if case .bytes(let bytes) = self { return bytes }
    return nil
  }

  /// The payload's size in the caller's buffer; nil at the end or while pending.
  var count: Int? {
    if case .count(let count) = self { return count }
    return nil
  }

  /// The payload; nil while pending; the stream's end-of-stream error at the end.
  func payload(throwingAtEnd stream: some FramedStream) throws(IPCError) -> [UInt8]? {
    if case .endOfStream = self { throw stream.endOfStream() }
    return payload
  }

  /// The payload's size; nil while pending; the stream's end-of-stream error at the end.
  func count(throwingAtEnd stream: some FramedStream) throws(IPCError) -> Int? {
    if case .endOfStream = self { throw stream.endOfStream() }
    return count
  }
}
