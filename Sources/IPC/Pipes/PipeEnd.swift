import Glibc
import Synchronization

/// One end of a pipe: the read end or the write end of a ``NamedPipe`` or an
/// ``AnonymousPipe``, or one end of a duplex pipe (a socket pair) that does both.
///
/// The end owns its file descriptor and closes it in `deinit`, or earlier with
/// ``close()``. Closing twice is a no-op; using a closed end throws
/// `.badDescriptor`. Do not close an end while another thread is still using
/// it: the descriptor number may be reused at once by an unrelated file.
///
/// A pipe carries a stream of bytes: ``write(_:)-(UnsafeRawBufferPointer)``
/// writes all the bytes it is given, and `read(into:)` returns whatever has
/// arrived, 0 meaning that every writer has closed its end (end of stream).
/// ``send(_:)-(UnsafeRawBufferPointer)`` and `receive()` frame whole
/// messages on top of it.
///
///     let (reader, writer) = try AnonymousPipe.make()
///     try writer.send(Array("hello".utf8))
///     try writer.close()                      // end of stream for the reader
///     let message = try reader.receive()      // "hello" as bytes
///     let end = try reader.receive()          // nil: every writer closed
///
/// Every call blocks (a descriptor opened non-blocking is switched back to
/// blocking I/O), and a signal that interrupts a read or write (EINTR) is
/// retried. Reads and receives also have timed, non-blocking (`try...`) and
/// async forms, and ``messages()`` is an `AsyncSequence`: they wait on the
/// library's poll thread, never in the kernel on a thread of Swift's
/// cooperative pool, and leave the descriptor's `O_NONBLOCK` flag alone
/// (see PipeEnd+NonBlocking.swift and Docs/Pipes.md).
///
/// **SIGPIPE.** A write to a pipe whose reader is gone throws
/// ``IPCError/Code-swift.struct/brokenPipe``; it never kills the process. For
/// socket pairs the toolkit sends with `MSG_NOSIGNAL`. For pipes, the first
/// pipe end a process makes installs a `SIGPIPE` handler that does nothing
/// (with `SA_RESTART`), but only if `SIGPIPE` still has its default
/// disposition: a handler of your own, or `SIG_IGN`, is left alone. A handler
/// is used rather than `SIG_IGN` because exec resets handlers to the default:
/// programs this process starts still get the usual `SIGPIPE`, whereas an
/// ignored signal would be inherited by them.
public final class PipeEnd: Sendable, CustomStringConvertible {
  /// Which way bytes flow through an end.
  public enum Direction: Sendable, Hashable, CustomStringConvertible {
    /// A read end: bytes come out of it.
    case reading
    /// A write end: bytes go into it.
    case writing
    /// An end of a duplex pipe, which both reads and writes.
    case both

    /// `read end`, `write end` or `read-write end`.
    public var description: String {
      switch self {
      case .reading: "read end"
      case .writing: "write end"
      case .both: "read-write end"
      }
    }
  }

  /// What the descriptor refers to; it decides the name and how to write.
  enum Kind: Sendable, Hashable {
    /// A FIFO opened at this path.
    case named(String)
    /// A pipe made by `pipe2`.
    case anonymous
    /// One end of an `AF_UNIX` stream socket pair.
    case socket
  }

  /// The directions this end can be used in.
  public let direction: Direction
  let kind: Kind
  /// Sockets are written with `send(..., MSG_NOSIGNAL)`, pipes with `write`.
  let isSocket: Bool
  /// The descriptor; -1 once closed.
  private let descriptor: Atomic<Int32>
  /// A second, non-blocking descriptor of the same pipe, opened on first need
  /// for non-blocking reads where `preadv2(RWF_NOWAIT)` is not supported (a
  /// FIFO); -1 until then. Closed with the end. See PipeEnd+NonBlocking.swift.
  let shadow = Atomic<Int32>(-1)
  /// Set once `preadv2(RWF_NOWAIT)` failed with EOPNOTSUPP on this end.
  let nowaitUnsupported = Atomic<Bool>(false)
  /// The bytes of a message that a timed, non-blocking or cancelled receive
  /// took before the rest arrived; the next receive goes on from them.
  let partialFrame = Mutex(FrameAssembly())

  /// Takes ownership of `fd`.
  init(adopting fd: Int32, direction: Direction, kind: Kind) {
    self.direction = direction
    self.kind = kind
    self.isSocket = kind == .socket
    self.descriptor = Atomic(fd)
    // EPIPE, not death by SIGPIPE: a no-op handler (exec resets it; SIG_IGN would be inherited).
    if !isSocket { BrokenPipeSignal.ensureHandled() }
  }

  deinit {
    let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
    if fd >= 0 { _ = Glibc.close(fd) }
    closeShadow()
  }

  /// The file descriptor, or -1 once the end is closed. It stays owned by the
  /// end: do not close it yourself.
  public var fileDescriptor: Int32 { descriptor.load(ordering: .acquiring) }

  /// Whether ``close()`` was called.
  public var isClosed: Bool { fileDescriptor < 0 }

  /// Names the end as errors do: `pipe /tmp/jobs (read end)`,
  /// `anonymous pipe (write end, fd 7)`, `duplex pipe (read-write end, fd 5)`.
  public var description: String { describe(fd: fileDescriptor) }

  func describe(fd: Int32) -> String {
    let state = fd < 0 ? "closed" : "fd \(fd)"
    switch kind {
    case .named(let path): return "pipe \(path) (\(direction)\(fd < 0 ? ", closed" : ""))"
    case .anonymous: return "anonymous pipe (\(direction), \(state))"
    case .socket: return "duplex pipe (\(direction), \(state))"
    }
  }

  /// Closes the descriptor. Closing an end that is already closed does nothing.
  ///
  /// Closing the last write end of a pipe is what tells its reader that the
  /// stream has ended. The corresponding C function is `close`; it is never
  /// retried, since Linux releases the descriptor even when it reports EINTR.
  public func close() throws(IPCError) {
    let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
    guard fd >= 0 else { return }
    closeShadow()
    // poll does not return when another thread closes its descriptor: wake
    // async reads waiting on it, so they try again and see the end closed.
    DescriptorWaiter.existing?.resumeAll(waitingOn: fd)
    switch once({ Glibc.close(fd) }) {
    case .success, .failure(.interrupted):
      return
    case .failure(let code):
      throw IPCError(
        code: code, operation: "close", object: describe(fd: fd),
        reason: "the descriptor is released, but the kernel reported an error"
          + " (\(code.explanation)); data written before may not have arrived")
    }
  }

  // MARK: Bytes

  /// Writes all of `bytes`, calling `write` again after a partial write,
  /// waiting while the pipe is full.
  ///
  /// A write of at most `PIPE_BUF` (4096) bytes to a pipe is atomic: bytes from
  /// several writers never mix within it. The corresponding C function is
  /// `write` (`send` with `MSG_NOSIGNAL` on a duplex pipe).
  ///
  /// - Throws: ``IPCError/Code-swift.struct/brokenPipe`` when no reader has the
  ///   pipe open any more; `.badDescriptor` on a read end or a closed end.
  public func write(_ bytes: UnsafeRawBufferPointer) throws(IPCError) {
    let fd = try descriptor(for: .writing)
    try writeAll(bytes, to: fd)
  }

  /// Writes all of `bytes` (any sequence: `[UInt8]`, a slice, a string's
  /// `utf8` view), as ``write(_:)-(UnsafeRawBufferPointer)`` does.
  ///
  /// The corresponding C function is `write`.
  public func write<Bytes: Sequence<UInt8>>(_ bytes: Bytes) throws(IPCError) {
    let fd = try descriptor(for: .writing)
    try withContiguousBytes(bytes) { (buffer) throws(IPCError) in try writeAll(buffer, to: fd) }
  }

  /// Reads what has arrived, at most `buffer.count` bytes, waiting until at
  /// least one byte is there.
  ///
  /// The corresponding C function is `read`.
  ///
  /// - Returns: how many bytes were read; 0 at the end of the stream (every
  ///   write end is closed and the pipe is empty), or if `buffer` is empty.
  /// - Throws: `.badDescriptor` on a write end or a closed end.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError) -> Int {
    let fd = try descriptor(for: .reading)
    return try readSome(buffer, from: fd)
  }

  /// Fills `buffer` completely, reading as many times as it takes.
  ///
  /// The corresponding C function is `read`, called in a loop.
  ///
  /// - Throws: `.badMessage` if the stream ends before `buffer` is full (the
  ///   bytes that did arrive are in `buffer`, and the reason says how many).
  public func read(filling buffer: UnsafeMutableRawBufferPointer) throws(IPCError) {
    let fd = try descriptor(for: .reading)
    let count = try fill(buffer, from: fd)
    guard count == buffer.count else {
      throw IPCError(
        code: .badMessage, operation: "read", object: description,
        reason: "the stream ended after \(count) of the \(buffer.count) bytes expected")
    }
  }

  /// Reads what has arrived, at most `count` bytes, waiting until at least one
  /// byte is there; like `read(into:)`, one `read` call, so it may return
  /// fewer bytes than are still to come. One call reads at most
  /// ``largestRead`` bytes, so a huge `count` never allocates huge memory.
  ///
  /// The corresponding C function is `read`.
  ///
  /// - Returns: the bytes read; empty at the end of the stream.
  public func read(upToCount count: Int) throws(IPCError) -> [UInt8] {
    let capacity = try checkedReadCapacity(count)
    let fd = try descriptor(for: .reading)
    var result: Result<Int, IPCError> = .success(0)
    let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
      result = Result { () throws(IPCError) in
        try readSome(UnsafeMutableRawBufferPointer(buffer), from: fd)
      }
      initialized = (try? result.get()) ?? 0
    }
    _ = try result.get()
    return bytes
  }

  /// Reads until the end of the stream (every write end closed) and returns
  /// all the bytes.
  ///
  /// The corresponding C function is `read`, called until it returns 0.
  public func readToEnd() throws(IPCError) -> [UInt8] {
    let fd = try descriptor(for: .reading)
    var bytes: [UInt8] = []
    _ = try append(upTo: .max, to: &bytes, from: fd)
    return bytes
  }

  /// The most bytes one `read(upToCount:)` takes: 1 MiB, the largest a
  /// pipe's buffer grows by default (`/proc/sys/fs/pipe-max-size`).
  public static let largestRead = 1 << 20

  // MARK: Internals shared with the message layer

  /// The room a read of up to `count` bytes needs.
  func checkedReadCapacity(_ count: Int) throws(IPCError) -> Int {
    guard count >= 0 else {
      throw IPCError(
        code: .invalidArgument, operation: "read", object: description,
        reason: "a count of \(count) bytes is invalid: it must be 0 or more")
    }
    return min(count, Self.largestRead)
  }

  /// The descriptor, if the end is open and can be used for `use`.
  @inline(__always)
  func descriptor(for use: Direction) throws(IPCError) -> Int32 {
    let fd = fileDescriptor
    if fd >= 0 && (direction == use || direction == .both) { return fd }
    throw misuse(use, fd: fd)
  }

  private func misuse(_ use: Direction, fd: Int32) -> IPCError {
    let operation = use == .reading ? "read" : (isSocket ? "send" : "write")
    let reason =
      fd < 0
      ? "this end was closed; it can no longer \(operation)"
      : use == .reading
        ? "this is the write end of the pipe: it can only write; read from the pipe's read end"
        : "this is the read end of the pipe: it can only read; write to the pipe's write end"
    return IPCError(code: .badDescriptor, operation: operation, object: describe(fd: fd), reason: reason)
  }

  /// Writes every byte of `bytes` to `fd`.
  @inline(__always)
  func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32) throws(IPCError) {
    guard var next = bytes.baseAddress else { return }
    var left = bytes.count
    while left > 0 {
      let result =
        isSocket
        ? retryingInterrupts(.write) { Glibc.send(fd, next, left, Int32(MSG_NOSIGNAL)) }
        : retryingInterrupts(.write) { Glibc.write(fd, next, left) }
      switch result {
      case .success(let written) where written > 0:
        next += written
        left -= written
      case .success:
        throw IPCError(
          code: IPCError.Code(rawValue: EIO), operation: "write", object: describe(fd: fd),
          reason: "the kernel accepted 0 of \(left) bytes")
      case .failure(let code):
        throw writeError(code, fd: fd, written: bytes.count - left, of: bytes.count)
      }
    }
  }

  private func writeError(_ code: IPCError.Code, fd: Int32, written: Int, of count: Int) -> IPCError {
    var reason: String?
    switch code {
    case .brokenPipe:
      reason = "the reading end is closed (the reader exited or closed it); nothing more can be written"
    case .wouldBlock:
      reason =
        "the pipe is full and the descriptor was made non-blocking behind the toolkit's back;"
        + " PipeEnd does blocking I/O"
    default:
      break
    }
    var error = IPCError(
      code: code, operation: isSocket ? "send" : "write", object: describe(fd: fd), reason: reason)
    if written > 0 { error.reason += " (\(written) of \(count) bytes were written before)" }
    return error
  }

  /// One `read` into `buffer`; 0 at the end of the stream.
  @inline(__always)
  func readSome(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IPCError) -> Int {
    guard buffer.count > 0 else { return 0 }
    switch retryingInterrupts(.read, { Glibc.read(fd, buffer.baseAddress, buffer.count) }) {
    case .success(let count):
      return count
    case .failure(let code):
      let reason: String? =
        code == .wouldBlock
        ? "nothing to read and the descriptor was made non-blocking behind the toolkit's back;"
          + " PipeEnd does blocking I/O"
        : nil
      throw IPCError(code: code, operation: "read", object: describe(fd: fd), reason: reason)
    }
  }
}

extension PipeEnd: FramedStream {
  /// Frames travel through a pipe (a duplex end is a socket pair, still a pipe to its users).
  var streamNoun: String { "pipe" }

  /// The read descriptor, or the error of a closed or write-only end.
  func readingDescriptor() throws(IPCError) -> Int32 { try descriptor(for: .reading) }

  func takePartialFrame() -> FrameAssembly {
    partialFrame.withLock { (frame) -> FrameAssembly in
      defer { frame = FrameAssembly() }
      return frame
    }
  }

  func keepPartialFrame(_ frame: FrameAssembly) { partialFrame.withLock { $0 = frame } }
}
