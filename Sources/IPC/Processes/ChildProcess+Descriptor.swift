import Glibc

extension ChildProcess {
  /// What one of a child's descriptors is: its standard input, output or
  /// error, or a descriptor at a number of your choice.
  ///
  ///     let (reader, writer) = try AnonymousPipe.make()
  ///     let child = try ChildProcess.start(
  ///       executable: "cat", standardInput: .pipe(reader), standardOutput: .write(to: "/tmp/out.txt"))
  ///
  /// The child gets a copy; this process keeps its own object open, and
  /// should close a pipe end it does not use itself (or the reader never sees
  /// the end of the stream).
  public enum Descriptor: Sendable {
    /// The same as this process's descriptor of that number (for standard
    /// input, output and error: the terminal, or whatever this process has).
    case inherit
    /// `/dev/null`: reads see the end at once, writes vanish.
    case null
    /// A copy of a pipe end (or socket pair end).
    case pipe(PipeEnd)
    /// A copy of a POSIX message queue's descriptor: the child shares the
    /// open queue, even if its name was unlinked.
    case queue(POSIX.MessageQueue)
    /// A copy of any descriptor of this process; it stays yours.
    case fileDescriptor(Int32)
    /// The file at this path, opened for reading.
    case read(from: String)
    /// The file at this path, opened for writing: created (mode 0600) if
    /// missing, emptied first unless `appending`.
    case write(to: String, appending: Bool = false)

    /// This process's descriptor to copy into the child as `target`, and
    /// whether it was opened here for the purpose (and is closed after the spawn).
    func source(for target: Int32) throws(IPCError) -> (descriptor: Int32, opened: Bool)? {
      // Named only when something fails: every start asks for three streams.
      let object = { "descriptor \(target) of the child" }
      switch self {
      case .inherit:
        // Standard streams are simply left in place.
        guard target > 2 else { return nil }
        return (try Self.checkedOpen(target, object: object()), false)
      case .null: return (try Self.open("/dev/null", O_RDWR, object: object()), true)
      case .pipe(let end): return (try Self.checkedOpen(end.fileDescriptor, object: end.description), false)
      case .queue(let queue):
        return (try Self.checkedOpen(queue.fileDescriptor, object: queue.description), false)
      case .fileDescriptor(let fd): return (try Self.checkedOpen(fd, object: object()), false)
      case .read(let path): return (try Self.open(path, O_RDONLY, object: "file \(path)"), true)
      case .write(let path, let appending):
        let flags = O_WRONLY | O_CREAT | (appending ? O_APPEND : O_TRUNC)
        return (try Self.open(path, flags, object: "file \(path)"), true)
      }
    }

    private static func checkedOpen(_ fd: Int32, object: @autoclosure () -> String) throws(IPCError) -> Int32
    {
      guard fd >= 0, fcntl(fd, F_GETFD) != -1 else {
        throw IPCError(
          code: .badDescriptor, operation: "posix_spawn", object: object(),
          reason: fd < 0
            ? "it was closed; there is nothing to hand to the child"
            : "descriptor \(fd) is not open in this process")
      }
      return fd
    }

    private static func open(_ path: String, _ flags: Int32, object: @autoclosure () -> String)
      throws(IPCError) -> Int32
    {
      switch retryingInterrupts(.open, { Glibc.open(path, flags | O_CLOEXEC, 0o600) }) {
      case .success(let fd): return fd
      case .failure(let code):
        throw IPCError(
          code: code, operation: "open", object: object(),
          reason: code == .tooManyOpen ? Spawner.limitReason : nil)
      }
    }
  }
}
