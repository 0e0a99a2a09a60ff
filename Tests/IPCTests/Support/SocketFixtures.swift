import Foundation
import IPC
import Synchronization

/// A private temporary directory for a test's socket files, removed with
/// everything in it afterwards, also when the body fails.
struct SocketDirectory {
  let path: String

  /// A socket address `name` inside the directory.
  func address(_ name: String = "server.sock") throws(IPCError) -> UnixSocketAddress {
    try .path(path + "/" + name)
  }

  /// The path of `name` inside the directory.
  func file(_ name: String) -> String { path + "/" + name }
}

@discardableResult
func withSocketDirectory<R>(_ body: (SocketDirectory) throws -> R) throws -> R {
  let directory = try makeSocketDirectory()
  defer { removeTree(directory.path) }
  return try body(directory)
}

@discardableResult
func withSocketDirectory<R>(_ body: (SocketDirectory) async throws -> R) async throws -> R {
  let directory = try makeSocketDirectory()
  defer { removeTree(directory.path) }
  return try await body(directory)
}

private func makeSocketDirectory() throws -> SocketDirectory {
  var template = Array((NSTemporaryDirectory() + "ipc-test-sock-\(getpid())-XXXXXX").utf8CString)
  guard let made = mkdtemp(&template) else {
    throw SpawnFailure(message: "mkdtemp: \(String(cString: strerror(errno)))")
  }
  return SocketDirectory(path: String(cString: made))
}

/// Removes `path` and what is inside (one level: tests make files only).
func removeTree(_ path: String) {
  if let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
    for name in names { unlink(path + "/" + name) }
  }
  rmdir(path)
}

/// Abstract socket names no other test or test process uses.
enum AbstractNames {
  private static let counter = Atomic<Int>(0)

  static func next() throws(IPCError) -> UnixSocketAddress {
    try .abstract("ipc-test-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)")
  }
}

/// The descriptors this process has open, from /proc/self/fd (the listing's own excluded).
func openDescriptorNumbers() -> Set<Int32> {
  guard let directory = opendir("/proc/self/fd") else { return [] }
  defer { closedir(directory) }
  let own = dirfd(directory)
  var result: Set<Int32> = []
  while let entry = readdir(directory) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) {
      String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
    }
    if let number = Int32(name), number != own { result.insert(number) }
  }
  return result
}

/// A listener on `address` and a client connected to it, with the server's end.
func connectedPair(
  _ address: UnixSocketAddress, kind: UnixSocketKind = .stream
) throws -> (listener: UnixListener, client: UnixConnection, server: UnixConnection) {
  let listener = try UnixListener.listen(on: address, kind: kind)
  let client = try UnixConnection.connect(to: address, kind: kind)
  let server = try listener.accept()
  return (listener, client, server)
}

/// The error `body` throws, or nil.
func thrownError<T>(_ body: () throws(IPCError) -> T) -> IPCError? {
  do {
    _ = try body()
    return nil
  } catch {
    return error
  }
}

/// The error an async `body` throws, or nil.
func thrownError<T>(_ body: () async throws(IPCError) -> T) async -> IPCError? {
  do {
    _ = try await body()
    return nil
  } catch {
    return error
  }
}

/// Runs `body` as a synchronous call, so an async test reaches the blocking
/// and timed forms (an async context prefers the async overloads).
func blocking<T>(_ body: () throws -> T) rethrows -> T { try body() }

/// Ends an exit test's child at a failed check: it prints which (and what it
/// saw) and exits 0, so that the parent gets its output to show (an exit
/// test with an unexpected status gives none back).
func failCheck(_ number: Int, _ detail: String = "") -> Never {
  print("check \(number) failed \(detail)")
  fflush(nil)
  exit(0)
}

/// How many descriptors of this process refer to what `fd` refers to (its
/// /proc/self/fd target, such as `pipe:[4242]`): a count no other test or
/// runtime thread changes, unlike the number of all open descriptors.
func descriptorCount(sharingTargetOf fd: Int32) -> Int {
  let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
  guard let target else { return 0 }
  return openDescriptorNumbers().count { number in
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(number)")) == target
  }
}
