import CIPCShims
import Glibc

/// Reads that never wait, for the timed, non-blocking and async forms.
///
/// The descriptor's `O_NONBLOCK` flag is never touched: it belongs to the open
/// file description, which children and peers share (a C or Python program
/// doing blocking reads on its copy would suddenly get EAGAIN). Instead each
/// read asks for non-blocking behaviour itself:
/// - a duplex end (socket): `recv(fd, ..., MSG_DONTWAIT)`;
/// - a pipe: `preadv2(fd, iov, 1, -1, RWF_NOWAIT)` (the flag is Linux 4.14+;
///   recent kernels honour it on pipes made by `pipe2`: EAGAIN when empty, 0
///   at the end of the stream);
/// - a FIFO, or any pipe where `RWF_NOWAIT` fails with EOPNOTSUPP: a read on a
///   shadow descriptor, `open("/proc/self/fd/N", O_RDONLY | O_NONBLOCK |
///   O_CLOEXEC)`, a new open file description of the same pipe that only this
///   end uses. It is opened on first need and closed with the end.
extension PipeEnd {
  /// One read that never waits into `buffer`.
  ///
  /// - Returns: the bytes read (0 at the end of the stream, or for an empty
  ///   `buffer`), or nil if nothing has arrived.
  func tryReadSome(_ buffer: UnsafeMutableRawBufferPointer, from fd: Int32) throws(IPCError) -> Int? {
    guard buffer.count > 0 else { return 0 }
    let result: Result<Int, IPCError.Code>
    if isSocket {
      result = retryingInterrupts(.read) { recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT)) }
    } else if case .named = kind {
      result = try readShadow(buffer, of: fd)
    } else if nowaitUnsupported.load(ordering: .relaxed) {
      result = try readShadow(buffer, of: fd)
    } else {
      let direct = retryingInterrupts(.read) { cipc_read_nowait(fd, buffer.baseAddress, buffer.count) }
      switch direct {
      case .failure(let code) where code.rawValue == EOPNOTSUPP || code == .invalidArgument:
        // A kernel or file without RWF_NOWAIT for this descriptor: use the shadow from now on.
        nowaitUnsupported.store(true, ordering: .relaxed)
        result = try readShadow(buffer, of: fd)
      default:
        result = direct
      }
    }
    switch result {
    case .success(let count): return count
    case .failure(.wouldBlock): return nil
    case .failure(let code): throw IPCError(code: code, operation: "read", object: describe(fd: fd))
    }
  }

  private func readShadow(_ buffer: UnsafeMutableRawBufferPointer, of fd: Int32) throws(IPCError)
    -> Result<Int, IPCError.Code>
  {
    let copy = try shadowDescriptor(of: fd)
    return retryingInterrupts(.read) { Glibc.read(copy, buffer.baseAddress, buffer.count) }
  }

  /// The shadow descriptor, opened now if this is its first use.
  private func shadowDescriptor(of fd: Int32) throws(IPCError) -> Int32 {
    let existing = shadow.load(ordering: .acquiring)
    if existing >= 0 { return existing }
    let path = "/proc/self/fd/\(fd)"
    let opened: Int32
    switch retryingInterrupts(.open, { Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }) {
    case .success(let value):
      opened = value
    case .failure(let code):
      throw IPCError(
        code: code, operation: "open", object: describe(fd: fd),
        reason: "a non-blocking read of this pipe needs a second descriptor of it, opened through"
          + " \(path), and that failed (\(code.explanation))")
    }
    let (won, current) = shadow.compareExchange(
      expected: -1, desired: opened, ordering: .acquiringAndReleasing)
    if won {
      // Closed by another thread meanwhile: this shadow must not outlive the end.
      if fileDescriptor < 0 { closeShadow() }
      return opened
    }
    // Another thread opened one first: keep that one.
    _ = Glibc.close(opened)
    return current
  }

  /// Closes the shadow descriptor, if one was opened.
  func closeShadow() {
    let copy = shadow.exchange(-1, ordering: .acquiringAndReleasing)
    if copy >= 0 { _ = Glibc.close(copy) }
  }
}
