import Glibc

/// The async forms of opening a FIFO. `open(2)` of a FIFO blocks until the
/// other side is opened too, and the kernel gives no descriptor to wait on
/// meanwhile, so the blocking `open` runs on one of the library's waiting
/// threads: one pending open holds one thread (at most
/// 128 of them, shared by every waiting call of the library). No thread of
/// Swift's cooperative pool ever blocks in the kernel.
///
/// Cancelling the task interrupts the `open` (the library's wake signal, so
/// it fails with EINTR and is not retried): the call throws
/// ``IPCError/Code-swift.struct/cancelled`` and leaves nothing open. An open
/// that succeeded as the task was cancelled returns its end.
extension NamedPipe {
  /// Opens the FIFO's read end, suspending until some process opens it for
  /// writing; the async form of ``openForReading(nonBlocking:)``.
  ///
  /// With `nonBlocking`, it opens at once, as the blocking form does. The
  /// corresponding C call is `open(path, O_RDONLY | O_CLOEXEC)`, made on one
  /// of the library's waiting threads: one pending call holds one thread.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before a writer came
  ///   (nothing is left open); otherwise what the blocking form throws.
  public func openForReading(nonBlocking: Bool = false) async throws(IPCError) -> PipeEnd {
    try await openAsync(.reading, flags: O_RDONLY, nonBlocking: nonBlocking) { () throws(IPCError) in
      // O_NONBLOCK always succeeds for reading, whether a writer is there or not: no shortcut.
      nil
    }
  }

  /// Opens the FIFO's write end, suspending until some process opens it for
  /// reading; the async form of ``openForWriting(nonBlocking:)``.
  ///
  /// It first tries `open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)` on the
  /// caller's thread, which succeeds at once when a reader is there (ENXIO
  /// when not); only then does it wait, with `open(path, O_WRONLY |
  /// O_CLOEXEC)` on one of the library's waiting threads: one pending call
  /// holds one thread. The end does blocking I/O either way. With
  /// `nonBlocking`, it fails with ENXIO instead of waiting, as the blocking
  /// form does.
  ///
  /// - Throws: `.cancelled` if the task is cancelled before a reader came
  ///   (nothing is left open); otherwise what the blocking form throws.
  public func openForWriting(nonBlocking: Bool = false) async throws(IPCError) -> PipeEnd {
    try await openAsync(.writing, flags: O_WRONLY, nonBlocking: nonBlocking) { () throws(IPCError) in
      do throws(IPCError) {
        return try openEnd(.writing, flags: O_WRONLY, nonBlocking: true)
      } catch {
        guard error.code.rawValue == ENXIO else { throw error }
        return nil  // no reader yet
      }
    }
  }

  private func openAsync(
    _ direction: PipeEnd.Direction, flags: Int32, nonBlocking: Bool,
    tryNow: () throws(IPCError) -> PipeEnd?
  ) async throws(IPCError) -> PipeEnd {
    let cancelled = IPCError.cancelled("open", object: "\(description) (\(direction))")
    if nonBlocking {
      guard !Task.isCancelled else { throw cancelled }
      return try openEnd(direction, flags: flags, nonBlocking: true)
    }
    return try await WaitThreads.attempt(cancelled: cancelled, tryNow) { () throws(IPCError) in
      try openEnd(direction, flags: flags, nonBlocking: false)
    }
  }
}
