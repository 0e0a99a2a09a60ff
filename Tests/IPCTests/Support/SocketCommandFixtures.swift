import Foundation
import IPC
import Synchronization
import Testing

/// Socket addresses unique to this test process: abstract names and paths
/// in the temporary directory.
enum TestSockets {
  private static let counter = Atomic<Int>(0)

  /// `@ipc-test-sock-PID-N`.
  static func nextAbstract() -> String {
    "@ipc-test-sock-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)"
  }

  /// `/tmp/ipc-test-sock-PID-N.sock`.
  static func nextPath() -> String {
    NSTemporaryDirectory() + "ipc-test-sock-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue).sock"
  }

  /// Whether a socket is bound to `address` ("/path" or "@name"), as
  /// /proc/net/unix lists it.
  static func isListed(_ address: String) -> Bool {
    procNetUnix().split(separator: "\n").contains { $0.hasSuffix(" " + address) }
  }

  /// Whether a socket at `address` is ready for clients: a listener that
  /// has called listen() (flag __SO_ACCEPTCON, 0x10000), or a bound datagram
  /// socket. Bound is not enough: a connect between bind() and listen() is
  /// refused.
  static func isServing(_ address: String) -> Bool {
    procNetUnix().split(separator: "\n").contains { line in
      guard line.hasSuffix(" " + address) else { return false }
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 6, let flags = UInt32(fields[3], radix: 16) else { return false }
      return flags & 0x10000 != 0 || fields[4] == "0002"
    }
  }

  /// The whole of /proc/net/unix, read to its end: the kernel hands it out a
  /// page per read, and a reader that trusts its size (0) stops after the
  /// first page, missing the sockets listed after it.
  static func procNetUnix() -> String {
    let fd = open("/proc/net/unix", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = read(fd, &chunk, chunk.count)
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Starts `ipc socket listen ADDRESS ARGUMENTS...` and returns it once its
  /// socket listens (as /proc/net/unix lists it); the run is stopped if it never does.
  static func listen(_ address: String, _ arguments: [String]) throws -> SpawnedProcess {
    let listener = try SpawnedProcess(Tools.ipc, ["socket", "listen", address] + arguments)
    guard eventually(within: .seconds(20), { isServing(address) }) else {
      _ = listener.wait(upTo: .zero)
      throw SpawnFailure(
        message: "ipc socket listen \(address) never listened: \(listener.standardError)")
    }
    return listener
  }

  /// Whether `path` is a socket file.
  static func isSocketFile(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK
  }
}
