import CIPCShims
import Glibc

/// How a child learns that its parent died, even by SIGKILL: a socket pair
/// whose one end only the parent holds (close-on-exec, so no other child
/// inherits it). When the parent ends, however it ends, the kernel closes
/// that end and the child's watcher thread reads end-of-stream; it then
/// removes the objects the parent registered for removal, which the parent
/// sent down the socket beforehand, and ends the child.
///
/// A pipe read end at EOF when the child starts means the parent already
/// died: the race of `PR_SET_PDEATHSIG` (parent gone before the child sets
/// it) cannot happen. Nor can its other trap: PDEATHSIG fires when the
/// *thread* that spawned the child exits, and Swift's pool threads do.
enum Lifeline {
  /// A new lifeline: the parent's end and the child's, both close-on-exec.
  static func make() throws(IPCError) -> (parent: Int32, child: Int32) {
    var ends: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    if case .failure(let code) = once({ socketpair(AF_UNIX, type, 0, &ends) }) {
      throw IPCError(
        code: code, operation: "socketpair", object: "a child's lifeline",
        reason: code == .tooManyOpen
          ? "this process has as many descriptors open as RLIMIT_NOFILE allows (ulimit -n)" : nil)
    }
    return (ends[0], ends[1])
  }

  /// Tells the child at the other end of `fd` to remove `objects` if the
  /// parent dies: one line each, written without blocking (the socket's
  /// buffer holds thousands).
  static func register(_ objects: [Inheritance], on fd: Int32) throws(IPCError) {
    guard !objects.isEmpty else { return }
    let text = objects.map { Handover.encode([("", $0)]) + "\n" }.joined()
    let bytes = Array(text.utf8)
    var sent = 0
    while sent < bytes.count {
      let count = bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return 0 }
        return Glibc.send(fd, base + sent, buffer.count - sent, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
      }
      if count > 0 {
        sent += count
      } else if errno != EINTR {
        // The child has ended (EPIPE), or a full buffer: nothing more to tell it.
        if errno == EPIPE || errno == ECONNRESET { return }
        let code = IPCError.Code(rawValue: errno)
        throw IPCError(
          code: code, operation: "send", object: "a child's lifeline",
          reason: code == .wouldBlock
            ? "the \(bytes.count) bytes naming the objects to remove do not fit in the lifeline socket's"
              + " buffer (net.core.wmem_default, see /proc/sys/net/core/wmem_default); register fewer objects"
            : "the objects to remove could not be passed to the child")
      }
    }
  }

  /// In the child: watches `fd` on a thread of the library's own. At the
  /// parent's death it removes the registered objects, says so on standard
  /// error, and ends this process with SIGKILL, as the parent's death would
  /// have with PDEATHSIG.
  static func watch(_ fd: Int32, child: String) throws(IPCError) {
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // not for this child's own children
    try LibraryThread.start(name: "ipc-lifeline") {
      var objects: [Inheritance] = []
      var pending: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 4096)
      while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        pending += buffer[0..<count]
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
          let line = String(decoding: pending[..<newline], as: UTF8.self)
          pending.removeSubrange(...newline)
          if let entries = Handover.decode(line) { objects += entries.map(\.inheritance) }
        }
      }
      var removed: [String] = []
      for object in objects where (try? object.remove()) == true { removed.append(object.description) }
      let what = removed.isEmpty ? "" : "; removed \(removed.joined(separator: ", "))"
      let line = "\(child) (pid \(getpid())): the parent process ended\(what); stopping\n"
      _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
      Glibc.kill(getpid(), SIGKILL)
    }
  }
}
