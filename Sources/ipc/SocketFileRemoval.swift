import Glibc

/// Removes the socket file of `ipc socket listen` when SIGINT, SIGTERM or
/// SIGHUP ends the command, at any point of its wait (also mid-message,
/// where a blocked-signal design would wait for the peer): the handler does
/// only what is async-signal-safe (unlink, write, signal, raise) with bytes
/// prepared beforehand, then ends the process by the same signal, so a shell
/// sees how it ended (128 + its number).
///
/// A signal is taken over only while its disposition is the default: an
/// ignored SIGHUP (under `nohup`) stays ignored.
enum SocketFileRemoval {
  /// The most bytes of path and message kept (a socket path is at most 107).
  private static let capacity = 1024
  /// The NUL-terminated path the handler unlinks; empty when nothing is armed.
  /// Allocated once and touched before a handler is installed, so the handler
  /// never runs a one-time initialization.
  nonisolated(unsafe) private static let path = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
  /// The line the handler writes to standard error, and its length.
  nonisolated(unsafe) private static let line = UnsafeMutablePointer<CChar>.allocate(capacity: capacity + 64)
  nonisolated(unsafe) private static let lineLength = UnsafeMutablePointer<Int>.allocate(capacity: 1)
  /// The device and inode of the file `bind` made: the handler removes the
  /// path only while it still names that file, never one another server
  /// bound there after this one's was removed.
  nonisolated(unsafe) private static let identity = UnsafeMutablePointer<(dev_t, ino_t)>.allocate(capacity: 1)

  static let signals = [SIGINT, SIGTERM, SIGHUP]

  /// Runs `bind`, which makes the socket file at `socketPath`, with the
  /// signals held back, and arms the removal of that file once it exists:
  /// a signal meanwhile takes effect after, and removes it. If `bind` fails,
  /// nothing is armed (a file that was there is never removed).
  static func arming<T>(_ socketPath: String, _ bind: () throws -> T) throws -> T {
    path.pointee = 0
    var held = sigset_t()
    var previous = sigset_t()
    sigemptyset(&held)
    for signal in signals { sigaddset(&held, signal) }
    pthread_sigmask(SIG_BLOCK, &held, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    let made = try bind()
    var file = stat()
    // The file is gone already (removed meanwhile): nothing to arm.
    guard lstat(socketPath, &file) == 0 else { return made }
    identity.pointee = (file.st_dev, file.st_ino)
    let bytes = Array(socketPath.utf8.prefix(capacity - 1))
    let text = Array("ipc socket listen: interrupted; removed \(socketPath)\n".utf8.prefix(capacity + 63))
    for (index, byte) in text.enumerated() { line[index] = CChar(bitPattern: byte) }
    lineLength.pointee = text.count
    for (index, byte) in bytes.enumerated() { path[index] = CChar(bitPattern: byte) }
    path[bytes.count] = 0
    for signal in signals {
      var current = sigaction()
      guard sigaction(signal, nil, &current) == 0, current.sa_flags & SA_SIGINFO == 0,
        unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 0  // SIG_DFL
      else { continue }
      var action = sigaction()
      action.__sigaction_handler.sa_handler = { signal in
        var found = stat()
        if SocketFileRemoval.path.pointee != 0, lstat(SocketFileRemoval.path, &found) == 0,
          found.st_dev == SocketFileRemoval.identity.pointee.0,
          found.st_ino == SocketFileRemoval.identity.pointee.1,
          unlink(SocketFileRemoval.path) == 0
        {
          _ = write(STDERR_FILENO, SocketFileRemoval.line, SocketFileRemoval.lineLength.pointee)
        }
        Glibc.signal(signal, SIG_DFL)
        raise(signal)
      }
      sigemptyset(&action.sa_mask)
      action.sa_flags = 0
      sigaction(signal, &action, nil)
    }
    return made
  }

  /// Nothing to remove any more: called before the listener removes its file
  /// itself, so a signal from then on never removes what another server may
  /// bind there next.
  static func disarm() {
    path.pointee = 0
  }
}
