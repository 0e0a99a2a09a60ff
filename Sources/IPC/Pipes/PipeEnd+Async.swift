import Glibc

/// The async forms of the byte reads. Each one takes what has arrived with a
/// read that never waits (see PipeEnd+NonBlocking.swift; the descriptor's
/// `O_NONBLOCK` flag is left alone) and, while nothing is there, waits on the
/// library's poll thread: one pending call costs one poll entry, no thread.
/// No thread of Swift's cooperative pool ever blocks in the kernel.
///
/// Cancellation: a call whose task is cancelled before its first byte ends
/// with ``IPCError/Code-swift.struct/cancelled`` and consumes nothing.
/// ``read(filling:)`` and ``readToEnd()`` cancelled after some bytes arrived
/// throw `.cancelled` with those bytes in the error's ``IPCError/payload``
/// (a pipe cannot put them back): nothing is lost.
extension PipeEnd {
  /// Reads what has arrived, at most `buffer.count` bytes, suspending until
  /// at least one byte is there; the async form of ``read(into:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` (`recv`
  /// with `MSG_DONTWAIT` on a duplex pipe; `read` on a non-blocking second
  /// descriptor of a FIFO) and `poll`. Waits on the library's poll thread:
  /// one pending call costs one poll entry, no thread.
  ///
  /// - Returns: how many bytes were read; 0 at the end of the stream, or if
  ///   `buffer` is empty.
  /// - Throws: `.cancelled` if the task is cancelled first (nothing read);
  ///   `.badDescriptor` on a write end or a closed end.
  public func read(into buffer: UnsafeMutableRawBufferPointer) async throws(IPCError) -> Int {
    try await awaitingRead { fd throws(IPCError) in try tryReadSome(buffer, from: fd) }
  }

  /// Reads what has arrived, at most `buffer.count` bytes, suspending at most
  /// `timeout` (monotonic clock) for the first byte; the async form of
  /// ``read(into:timeout:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: how many bytes were read, 0 at the end of the stream; nil if
  ///   nothing arrived within `timeout`.
  /// - Throws: `.cancelled` if the task is cancelled first (nothing read).
  public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration) async throws(IPCError)
    -> Int?
  {
    try await awaitingRead(timeout) { fd throws(IPCError) in try tryReadSome(buffer, from: fd) }
  }

  /// Fills `buffer` completely, suspending while the pipe is empty; the async
  /// form of ``read(filling:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`, in a loop. Waits on the library's poll thread: one pending call
  /// costs one poll entry, no thread.
  ///
  /// - Throws: `.badMessage` if the stream ends before `buffer` is full;
  ///   `.cancelled` if the task is cancelled: before the first byte, nothing
  ///   was read; after it, the bytes that did arrive are at the start of
  ///   `buffer` and in the error's ``IPCError/payload``, and the reason says
  ///   how many.
  public func read(filling buffer: UnsafeMutableRawBufferPointer) async throws(IPCError) {
    var filled = 0
    while filled < buffer.count {
      let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])
      let count: Int
      do {
        count = try await awaitingRead { fd throws(IPCError) in try tryReadSome(rest, from: fd) }
      } catch {
        guard error.code == .cancelled, filled > 0 else { throw error }
        throw cancelledAfter(Array(buffer[..<filled]), of: buffer.count)
      }
      guard count > 0 else {
        throw IPCError(
          code: .badMessage, operation: "read", object: description,
          reason: "the stream ended after \(filled) of the \(buffer.count) bytes expected")
      }
      filled += count
    }
  }

  /// Reads what has arrived, at most `count` bytes, suspending until at
  /// least one byte is there; the async form of ``read(upToCount:)``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`. Waits on the library's poll thread: one pending call costs one
  /// poll entry, no thread.
  ///
  /// - Returns: the bytes read; empty at the end of the stream.
  /// - Throws: `.invalidArgument` for a negative `count`; `.cancelled` if the
  ///   task is cancelled first (nothing read).
  public func read(upToCount count: Int) async throws(IPCError) -> [UInt8] {
    let capacity = try checkedReadCapacity(count)
    return try await awaitingRead { fd throws(IPCError) -> [UInt8]? in
      var result: Result<Int?, IPCError> = .success(nil)
      let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
        result = Result { () throws(IPCError) in
          try tryReadSome(UnsafeMutableRawBufferPointer(buffer), from: fd)
        }
        initialized = ((try? result.get()) ?? nil) ?? 0
      }
      return try result.get() == nil ? nil : bytes
    }
  }

  /// Reads until the end of the stream (every write end closed), suspending
  /// while the pipe is empty; the async form of ``readToEnd()``.
  ///
  /// The corresponding C functions are `preadv2` with `RWF_NOWAIT` and
  /// `poll`, until a read returns 0. Waits on the library's poll thread: one
  /// pending call costs one poll entry, no thread.
  ///
  /// - Throws: `.cancelled` if the task is cancelled: before the first byte,
  ///   nothing was read; after it, the bytes read so far are in the error's
  ///   ``IPCError/payload``.
  public func readToEnd() async throws(IPCError) -> [UInt8] {
    var bytes: [UInt8] = []
    var length = 0
    while true {
      if length == bytes.count {
        bytes.append(contentsOf: repeatElement(0, count: max(length, 64 * 1024)))
      }
      let start = length
      let count: Int
      do {
        count = try await awaitingRead { fd throws(IPCError) -> Int? in
          let result = bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(IPCError) in
              try tryReadSome(UnsafeMutableRawBufferPointer(rebasing: buffer[start...]), from: fd)
            }
          }
          return try result.get()
        }
      } catch {
        guard error.code == .cancelled, length > 0 else { throw error }
        throw cancelledAfter(Array(bytes[..<length]), of: nil)
      }
      if count == 0 { break }
      length += count
    }
    bytes.removeLast(bytes.count - length)
    return bytes
  }

  // MARK: Internals

  private func cancelledAfter(_ bytes: [UInt8], of expected: Int?) -> IPCError {
    let what = expected.map { "\(bytes.count) of the \($0) bytes expected" } ?? "\(bytes.count) bytes"
    return IPCError(
      code: .cancelled, operation: "read", object: description,
      reason: "the awaiting task was cancelled after \(what) had been read; a pipe cannot put"
        + " them back, so they are kept in the error's payload",
      payload: bytes)
  }
}
