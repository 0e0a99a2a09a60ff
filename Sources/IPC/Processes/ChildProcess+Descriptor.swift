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
    /// The file at this path, opened for reading by the child, as a shell's
    /// `< path`. A relative path is relative to this process's directory. A
    /// FIFO is refused: open it with ``NamedPipe`` and pass the end as `.pipe`.
    case read(from: String)
    /// The file at this path, opened for writing by the child, as a shell's
    /// `> path` or `>> path`: created (mode 0600, less the umask) if missing,
    /// emptied first unless `appending`. As in a shell, it is emptied even if
    /// the program then fails to start; a start refused earlier (a bad
    /// argument, a missing working directory) leaves it alone. A FIFO is
    /// refused, as for `read(from:)`.
    case write(to: String, appending: Bool = false)

    /// What the child's descriptor `target` becomes: a copy of one of this
    /// process's, or a file the child opens itself (so a FIFO blocks the
    /// child, not this process, and a refused start truncates nothing); nil
    /// for a standard stream left as it is.
    func source(for target: Int32) throws(IPCError) -> Spawner.Source? {
      // Named only when something fails: every start asks for three streams.
      let object = { "descriptor \(target) of the child" }
      switch self {
      case .inherit:
        guard target > 2 else { return nil }
        return .copy(try Self.checkedOpen(target, object: object()))
      case .null: return .open("/dev/null", flags: O_RDWR)
      case .pipe(let end): return .copy(try Self.checkedOpen(end.fileDescriptor, object: end.description))
      case .queue(let queue):
        return .copy(try Self.checkedOpen(queue.fileDescriptor, object: queue.description))
      case .fileDescriptor(let fd): return .copy(try Self.checkedOpen(fd, object: object()))
      case .read(let path):
        try Self.refuseFIFO(path, target: target)
        return .open(path, flags: O_RDONLY)
      case .write(let path, let appending):
        try Self.refuseFIFO(path, target: target)
        return .open(path, flags: O_WRONLY | O_CREAT | (appending ? O_APPEND : O_TRUNC))
      }
    }

    /// `posix_spawn` suspends this process until the child has run its file
    /// actions (glibc uses `CLONE_VFORK`), and opening a FIFO waits for the
    /// other side: this process would hang inside `start`.
    private static func refuseFIFO(_ path: String, target: Int32) throws(IPCError) {
      var info = stat()
      guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFIFO else { return }
      throw IPCError(
        code: .invalidArgument, operation: "posix_spawn", object: "file \(path)",
        reason: "\(path) is a FIFO: opening it for the child's descriptor \(target) would wait for the other"
          + " side while this process waits for the child to start; open it with NamedPipe and hand the"
          + " end with .pipe(end)")
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
  }
}
