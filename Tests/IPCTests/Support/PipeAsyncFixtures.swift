import Foundation
import IPC
import Testing

/// The three kinds of pipe the async tests run on.
enum PipeKind: String, CaseIterable, Sendable {
  case anonymous, duplex, fifo
}

/// Runs `body` with a connected reader and writer of `kind` (for a FIFO, both
/// opened here and the FIFO removed afterwards, also when the body fails).
func withPipe<R>(_ kind: PipeKind, _ body: (_ reader: PipeEnd, _ writer: PipeEnd) async throws -> R)
  async throws -> R
{
  switch kind {
  case .anonymous:
    let (reader, writer) = try AnonymousPipe.make()
    return try await body(reader, writer)
  case .duplex:
    let (reader, writer) = try AnonymousPipe.duplex()
    return try await body(reader, writer)
  case .fifo:
    return try await withFIFO { fifo in
      let reader = try await fifo.openForReading(nonBlocking: true)
      let writer = try await fifo.openForWriting(nonBlocking: true)
      return try await body(reader, writer)
    }
  }
}

/// Runs `body` in a task that is cancelled before `body` starts.
func inCancelledTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async -> Result<
  T, any Error
> {
  await Task { () async -> Result<T, any Error> in
    withUnsafeCurrentTask { $0?.cancel() }
    return await outcome(body)
  }.value
}

/// The code of the IPCError a task ended with, nil if it returned.
func errorCode<T>(_ result: Result<T, any Error>) -> IPCError.Code? {
  if case .failure(let error) = result { return (error as? IPCError)?.code ?? IPCError.Code(rawValue: -1) }
  return nil
}

/// Whether bytes wait in the pipe behind `end` (poll for POLLIN, not waiting).
func hasBytesWaiting(_ end: PipeEnd) -> Bool {
  var entry = pollfd(fd: end.fileDescriptor, events: Int16(POLLIN), revents: 0)
  return poll(&entry, 1, 0) == 1 && entry.revents & Int16(POLLIN) != 0
}

/// Whether `end`'s open file description has O_NONBLOCK set.
func isNonBlocking(_ end: PipeEnd) -> Bool { fcntl(end.fileDescriptor, F_GETFL) & O_NONBLOCK != 0 }

/// How many descriptors of this process refer to the file at `path`: counted
/// by target, so descriptors that tests running in parallel open elsewhere
/// do not count.
func descriptorsOpen(to path: String) -> Int {
  let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
  return entries.filter {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == target
  }.count
}

/// How many descriptors of this process refer to the same file as `end`
/// (a pipe has no path: /proc/self/fd shows `pipe:[inode]`).
func descriptorsSharing(_ end: PipeEnd) -> Int {
  guard
    let target = try? FileManager.default.destinationOfSymbolicLink(
      atPath: "/proc/self/fd/\(end.fileDescriptor)")
  else { return 0 }
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
  return entries.filter {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == target
  }.count
}

/// Waits (off the cooperative pool) until a library waiting thread sleeps in
/// the kernel function `function` (`wait_for_partner`: a FIFO open).
func waitingThreadBlocked(in function: String) async throws -> Bool {
  try await onOwnThread {
    // Up to 60 s: in a full parallel run other suites can keep the task off the pool that long.
    eventually(within: .seconds(60), every: .milliseconds(1)) {
      let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
      return threads.contains { thread in
        let base = "/proc/self/task/\(thread)"
        let name = try? String(contentsOfFile: base + "/comm", encoding: .utf8)
        let wchan = try? String(contentsOfFile: base + "/wchan", encoding: .utf8)
        return name?.hasPrefix("ipc-wait") == true && wchan == function
      }
    }
  }
}

/// Waits (off the cooperative pool) until `condition` holds; false after 10 s.
func eventuallyOffPool(_ condition: @escaping @Sendable () -> Bool) async throws -> Bool {
  try await onOwnThread { eventually(within: .seconds(60), condition) }
}

/// Child programs that write frames: `/bin/sh` scripts whose `printf` calls
/// are one `write` each (no Python needed).
enum FramePeer {
  /// Writes `count` (at most 100) frames "frame 00", "frame 01", ... to
  /// standard output, the header and payload of every third in three writes
  /// 20 ms apart (a frame that arrives split), then exits.
  static func writer(count: Int) -> String {
    """
    i=0
    while [ $i -lt \(count) ]; do
      if [ $((i % 3)) -eq 2 ]; then
        printf '\\010\\000'; sleep 0.02; printf '\\000\\000fra'; sleep 0.02; printf 'me %02d' $i
      else
        printf '\\010\\000\\000\\000frame %02d' $i
      fi
      i=$((i + 1))
    done
    """
  }

  /// Opens the FIFO at `path` for writing (waiting for a reader) and writes
  /// `count` (at most 10) JSON frames {"id":i,"command":"build"}.
  static func fifoWriter(path: String, count: Int) -> String {
    """
    i=0
    while [ $i -lt \(count) ]; do
      printf '\\032\\000\\000\\000{"id":%d,"command":"build"}' $i
      i=$((i + 1))
    done > '\(path)'
    """
  }

  /// Starts `script` with /bin/sh.
  static func start(_ script: String, standardOutput: ChildProcess.Descriptor = .inherit) throws
    -> ChildProcess
  {
    try ChildProcess.start(
      executable: "/bin/sh", arguments: ["-c", script], standardInput: .null, standardOutput: standardOutput)
  }
}

/// A message the typed tests send.
struct AsyncJob: Codable, Equatable, Sendable {
  var id: Int
  var command: String
}
