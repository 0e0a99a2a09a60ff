import Glibc

/// Calls `body`, a system call that reports failure as -1 and `errno`, until it
/// does not fail with EINTR. This is the one place the toolkit retries EINTR,
/// and where a cancelled wait on a ``WaitThreads`` thread gives up (`.cancelled`).
///
/// - Returns: the call's result, or the `errno` value it failed with.
@inline(__always)
func retryingInterrupts<R: FixedWidthInteger & SignedInteger>(
  _ operation: Syscall,
  _ body: () -> R
) -> Result<R, IPCError.Code> {
  while true {
    #if DEBUG
      // An injected interrupt takes the same path as a real one: -1 and EINTR.
      let result: R
      if InterruptInjection.consume(operation) {
        result = -1
        errno = EINTR
      } else {
        result = body()
      }
    #else
      let result = body()
    #endif
    if result != -1 { return .success(result) }
    let code = errno
    // On a library waiting thread, EINTR may be the wake signal of a cancelled wait.
    if code == EINTR { if WaitJob.currentIsCancelled { return .failure(.cancelled) } else { continue } }
    return .failure(IPCError.Code(rawValue: code))
  }
}

/// Calls `body` once and reports -1 as the `errno` value, for calls that never block.
@inline(__always)
func once<R: FixedWidthInteger & SignedInteger>(_ body: () -> R) -> Result<R, IPCError.Code> {
  let result = body()
  return result == -1 ? .failure(IPCError.Code(rawValue: errno)) : .success(result)
}

/// The blocking calls whose EINTR handling can be exercised by ``InterruptInjection``.
enum Syscall: Sendable, Hashable {
  case msgsnd
  case msgrcv
  case mqOpen
  case mqSend
  case mqReceive
  /// The wait between tries of a timed call on a descriptor (``Readiness``).
  case poll
  /// `read` on a pipe or socket end.
  case read
  /// `write` on a pipe, or `send` on a socket end.
  case write
  /// `semop`/`semtimedop` on a System V semaphore set.
  case semop
  /// `sem_wait`/`sem_clockwait` on a POSIX semaphore.
  case semWait
  /// `open` of a named pipe, which blocks until the other side opens it.
  case open
  /// `accept4` on a listening socket.
  case accept
  /// `connect` of a socket while the listener's backlog is full.
  case connect
}
