import Glibc

/// Keeps `SIGPIPE` from killing the process when a pipe's reader goes away, so
/// a write reports `EPIPE` (``IPCError/Code-swift.struct/brokenPipe``) instead.
///
/// Installed once, the first time a pipe end is made: the hot path of a write
/// costs nothing. Only a default disposition (`SIG_DFL`) is replaced; a
/// handler the program installed, or `SIG_IGN`, is left alone.
enum BrokenPipeSignal {
  /// Makes sure the do-nothing handler is in place (a no-op after the first call).
  @inline(__always)
  static func ensureHandled() { _ = installed }

  /// A handler rather than `SIG_IGN`: exec resets handlers to the default, so
  /// programs this process starts get the usual SIGPIPE, while an ignored
  /// signal would stay ignored in them.
  private static let installed: Bool = {
    var current = sigaction()
    guard sigaction(SIGPIPE, nil, &current) == 0 else { return false }
    let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
    guard current.sa_flags & SA_SIGINFO == 0, handler == 0 else { return false }  // 0 is SIG_DFL
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in }
    sigemptyset(&action.sa_mask)
    action.sa_flags = SA_RESTART  // other blocking calls of the program are not interrupted by it
    return sigaction(SIGPIPE, &action, nil) == 0
  }()
}
