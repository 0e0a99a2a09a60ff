import Foundation

/// The other end of a FIFO for a fuzzed `ipc fifo receive` or `ipc fifo send`:
/// a thread that opens it (waiting for the command, as a real peer would),
/// writes a few lines or reads to the end, and closes it, so the command
/// ends by itself instead of waiting to be stopped.
///
/// If the command never opens the FIFO (it failed first, or named another
/// path), ``finish()`` opens the other side itself without waiting, which
/// lets the thread's open return, and joins the thread.
final class FIFOPeer: @unchecked Sendable {
  private let path: String
  private let writing: Bool
  private let done = DispatchSemaphore(value: 0)

  /// Starts a peer that writes `lines` to the FIFO at `path` (or, if
  /// `writing` is false, reads everything from it).
  init(
    path: String, writing: Bool,
    lines: [String] = ["hello", "\u{1}\u{2}binary", "é", ""] + (1...12).map { "line \($0)" }
  ) {
    self.path = path
    self.writing = writing
    let done = done
    let thread = Thread {
      defer { done.signal() }
      // A command that goes between open and write must not kill the test
      // process: blocked here, SIGPIPE stays pending on this thread and dies with it.
      var blocked = sigset_t()
      sigemptyset(&blocked)
      sigaddset(&blocked, SIGPIPE)
      pthread_sigmask(SIG_BLOCK, &blocked, nil)
      let fd = open(path, writing ? O_WRONLY | O_CLOEXEC : O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else { return }
      defer { close(fd) }
      if writing {
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      } else {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while read(fd, &buffer, buffer.count) > 0 {}
      }
    }
    thread.start()
  }

  /// Lets the thread's open return if the command never came, and waits for it.
  func finish() {
    // The other side, without waiting: the thread's open returns. A writing
    // thread then writes to this reader (kept open until it is done); a
    // reading one sees the end as soon as this writer is closed.
    if writing {
      let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
      done.wait()
      if fd >= 0 { close(fd) }
      return
    }
    // A writer opens only while a reader waits: try until the thread has got that far.
    repeat {
      let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
      if fd >= 0 { close(fd) }
    } while done.wait(timeout: .now() + .milliseconds(10)) == .timedOut
  }
}
