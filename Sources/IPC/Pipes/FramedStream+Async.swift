import Glibc

/// The async frame reads: reads that never wait and, while nothing is
/// there, a wait on the library's poll thread (no pool thread blocks).
/// Cancellation and timeouts are honoured at any point: the bytes of a frame
/// read so far are kept by the stream's object for the next receive.
extension FramedStream {
  /// Calls `attempt` with the live descriptor until it returns a value,
  /// suspending between tries until the descriptor is readable; nil once
  /// `timeout` has passed (nil waits as long as it takes). Cancellation ends
  /// the wait with `.cancelled` before any try that would consume.
  func awaitingRead<T>(
    _ timeout: Duration?, _ attempt: (Int32) throws(IPCError) -> T?
  ) async throws(IPCError) -> T? {
    try await Readiness.awaiting(
      timeout, cancelled: .cancelled("read", object: description),
      descriptor: { () throws(IPCError) in try readingDescriptor() }, events: Readiness.readable
    ) { () throws(IPCError) -> T? in
      try attempt(try readingDescriptor())
    }
  }

  /// ``awaitingRead(_:_:)`` without a time limit.
  func awaitingRead<T>(_ attempt: (Int32) throws(IPCError) -> T?) async throws(IPCError) -> T {
    guard let value = try await awaitingRead(nil, attempt) else {
      // Without a deadline the wait only ends with a value or an error.
      throw IPCError(code: .timedOut, operation: "read", object: description)
    }
    return value
  }

  /// The async receive of a frame, read on from what an earlier receive
  /// kept: `.pending` when `timeout` passed, or the task was cancelled
  /// (`.cancelled` is thrown then), before the frame was whole; what arrived
  /// is kept for the next receive, so a cancelled or timed-out call loses nothing.
  func awaitFrame(into buffer: UnsafeMutableRawBufferPointer?, _ timeout: Duration?) async throws(IPCError)
    -> FrameStep
  {
    var frame = takePartialFrame()
    defer { if !frame.isEmpty { keepPartialFrame(frame) } }
    let step = try await awaitingRead(timeout) { (fd) throws(IPCError) -> FrameStep? in
      let step = try advance(&frame, into: buffer) { (bytes) throws(IPCError) in
        try tryReadSome(bytes, from: fd)
      }
      if case .pending = step { return nil }
      return step
    }
    return step ?? .pending
  }

  /// The async receive of a whole frame: nil at the end of the stream when
  /// `throwAtEnd` is false (blocking-style), else `.brokenPipe`; nil when
  /// the frame was not whole within `timeout`.
  func awaitFrame(_ timeout: Duration?, throwAtEnd: Bool) async throws(IPCError) -> [UInt8]? {
    let step = try await awaitFrame(into: nil, timeout)
    return throwAtEnd ? try step.payload(throwingAtEnd: self) : step.payload
  }

  /// ``awaitFrame(_:throwAtEnd:)`` into `buffer`.
  func awaitFrame(into buffer: UnsafeMutableRawBufferPointer, _ timeout: Duration?, throwAtEnd: Bool)
    async throws(IPCError) -> Int?
  {
    let step = try await awaitFrame(into: buffer, timeout)
    return throwAtEnd ? try step.count(throwingAtEnd: self) : step.count
  }
}
