import Glibc

/// A named pipe (FIFO): a pipe with a path in the file system, so unrelated
/// processes can open it by name.
///
/// The FIFO is a file-system object: it exists from ``create(at:permissions:)``
/// until ``remove()``, whatever happens to the processes that use it, but the
/// bytes in it live only while some process has it open. This value is just
/// its path; copying it copies nothing in the kernel. Bytes flow through the
/// ``PipeEnd``s that `openForReading(nonBlocking:)` and
/// `openForWriting(nonBlocking:)` return.
///
///     let fifo = try NamedPipe.create(at: "/tmp/jobs")          // mode 0600
///     defer { try? fifo.remove() }
///     // In the reading process:
///     let reader = try fifo.openForReading()   // waits until a writer opens it
///     while let job = try reader.receive() { print(job.count) }
///     // In each writing process:
///     let writer = try NamedPipe.open(at: "/tmp/jobs").openForWriting()
///     try writer.send(Array("job 1".utf8))
///
/// Opening one side blocks until the other side is opened too, as `open(2)`
/// does for FIFOs; the non-blocking forms never wait, and the async forms
/// wait on one of the library's waiting threads.
public struct NamedPipe: Hashable, Sendable, CustomStringConvertible {
  /// The FIFO's path, as given.
  public let path: String

  init(checkedPath path: String) { self.path = path }

  /// `pipe <path>`, as errors name it.
  public var description: String { "pipe \(path)" }

  // MARK: Creating and opening

  /// Creates a FIFO at `path` with exactly `permissions`.
  ///
  /// `mkfifo` applies the process's umask, so the mode is then set again with
  /// `chmod`: a FIFO created with 0660 has mode 0660 whatever the umask. If
  /// that fails, the FIFO is removed again.
  ///
  /// The corresponding C functions are `mkfifo` and `chmod`.
  ///
  /// - Throws: `.exists` if anything already exists at `path` (it is left as
  ///   it was); `.notFound` if the directory does not exist; `.permissionDenied`
  ///   if the directory does not allow this process to create files.
  public static func create(
    at path: String, permissions: Permissions = .ownerReadWrite
  ) throws(IPCError) -> NamedPipe {
    try checkPath(path, operation: "mkfifo")
    let mode = mode_t(permissions.rawValue)
    if case .failure(let code) = once({ mkfifo(path, mode) }) {
      throw IPCError(
        code: code, operation: "mkfifo", object: "pipe \(path)",
        reason: createFailureReason(code, path: path))
    }
    if case .failure(let code) = once({ chmod(path, mode) }) {
      _ = unlink(path)
      throw IPCError(
        code: code, operation: "chmod", object: "pipe \(path)",
        reason: "the FIFO was made but its mode could not be set to \(permissions.octal)"
          + " (\(code.explanation)); it was removed again")
    }
    return NamedPipe(checkedPath: path)
  }

  /// The FIFO that already exists at `path`.
  ///
  /// Nothing is opened yet: this only checks that `path` is a FIFO. The
  /// corresponding C function is `stat`.
  ///
  /// - Throws: `.notFound` if nothing exists at `path`; `.invalidArgument` if
  ///   it is not a FIFO.
  public static func open(at path: String) throws(IPCError) -> NamedPipe {
    try checkPath(path, operation: "stat")
    try checkIsFIFO(path, operation: "stat")
    return NamedPipe(checkedPath: path)
  }

  /// Opens the FIFO's read end.
  ///
  /// A blocking open waits until some process opens the FIFO for writing
  /// (retried when a signal interrupts it). A non-blocking open returns at
  /// once; the end then does blocking I/O all the same (`O_NONBLOCK` is
  /// cleared after the open). Note that a read end opened before any writer
  /// sees the end of the stream (a read returns 0, `PipeEnd/receive()`
  /// returns nil) as long as no writer has the FIFO open.
  ///
  /// The descriptor is close-on-exec. The corresponding C call is
  /// `open(path, O_RDONLY | O_CLOEXEC)`, with `O_NONBLOCK` if asked.
  public func openForReading(nonBlocking: Bool = false) throws(IPCError) -> PipeEnd {
    try openEnd(.reading, flags: O_RDONLY, nonBlocking: nonBlocking)
  }

  /// Opens the FIFO's write end.
  ///
  /// A blocking open waits until some process opens the FIFO for reading
  /// (retried when a signal interrupts it). A non-blocking open returns at
  /// once, or fails if no process has the FIFO open for reading; the end then
  /// does blocking I/O all the same (`O_NONBLOCK` is cleared after the open).
  ///
  /// The descriptor is close-on-exec. The corresponding C call is
  /// `open(path, O_WRONLY | O_CLOEXEC)`, with `O_NONBLOCK` if asked.
  ///
  /// - Throws: for a non-blocking open, an error with code `ENXIO` ("no process
  ///   has PATH open for reading").
  public func openForWriting(nonBlocking: Bool = false) throws(IPCError) -> PipeEnd {
    try openEnd(.writing, flags: O_WRONLY, nonBlocking: nonBlocking)
  }

  /// Removes the FIFO's name. Processes that have it open keep their ends and
  /// can go on using them; new processes can no longer open it.
  ///
  /// The corresponding C functions are `stat` (to make sure `path` is still a
  /// FIFO, so a file that replaced it is never deleted) and `unlink`.
  ///
  /// - Throws: `.notFound` if nothing exists at the path; `.invalidArgument`
  ///   if it is no longer a FIFO.
  public func remove() throws(IPCError) {
    try Self.checkIsFIFO(path, operation: "unlink")
    if case .failure(let code) = once({ unlink(path) }) {
      let reason: String? =
        switch code {
        case .notFound: "nothing exists at \(path) any more"
        case .permissionDenied, .notPermitted:
          "the directory does not allow this process to remove \(path)"
        default: nil
        }
      throw IPCError(code: code, operation: "unlink", object: description, reason: reason)
    }
  }

  // MARK: Internals

  func openEnd(_ direction: PipeEnd.Direction, flags: Int32, nonBlocking: Bool)
    throws(IPCError) -> PipeEnd
  {
    let allFlags = flags | O_CLOEXEC | (nonBlocking ? O_NONBLOCK : 0)
    let fd: Int32
    switch retryingInterrupts(.open, { Glibc.open(path, allFlags) }) {
    case .success(let opened):
      fd = opened
    case .failure(let code):
      throw IPCError(
        code: code, operation: "open", object: "\(description) (\(direction))",
        reason: openFailureReason(code, direction: direction))
    }
    let end = PipeEnd(adopting: fd, direction: direction, kind: .named(path))
    var status = stat()
    if case .failure(let code) = once({ fstat(fd, &status) }) {
      throw IPCError(code: code, operation: "fstat", object: end.description)
    }
    guard status.st_mode & S_IFMT == S_IFIFO else {
      // Replaced by another kind of file since open(at:) looked.
      throw IPCError(
        code: .invalidArgument, operation: "open", object: end.description,
        reason: "\(path) is no longer a FIFO (it is \(Self.kind(of: status.st_mode)))")
    }
    if nonBlocking {
      // Blocking I/O from here on: O_NONBLOCK only served to not wait in open.
      let current = fcntl(fd, F_GETFL)
      if case .failure(let code) = once({ fcntl(fd, F_SETFL, current & ~O_NONBLOCK) }) {
        throw IPCError(code: code, operation: "fcntl(F_SETFL)", object: end.description)
      }
    }
    return end
  }

  private func openFailureReason(_ code: IPCError.Code, direction: PipeEnd.Direction) -> String? {
    switch code.rawValue {
    case ENXIO:
      "no process has \(path) open for reading; start the reader first, or open without nonBlocking"
        + " to wait for one"
    case ENOENT: "nothing exists at \(path) any more (the FIFO was removed)"
    case EACCES:
      "the FIFO's permissions do not allow this process to open it for \(direction == .reading ? "reading" : "writing")"
    default: nil
    }
  }

  private static func checkPath(_ path: String, operation: String) throws(IPCError) {
    guard !path.isEmpty, !path.utf8.contains(0) else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: "pipe \(path)",
        reason: path.isEmpty ? "the path is empty" : "the path contains a NUL byte")
    }
  }

  private static func checkIsFIFO(_ path: String, operation: String) throws(IPCError) {
    var status = stat()
    if case .failure(let code) = once({ stat(path, &status) }) {
      let reason: String? =
        switch code {
        case .notFound:
          "nothing exists at \(path); create the FIFO first (NamedPipe.create(at:) or mkfifo)"
        case .permissionDenied: "a directory on the way to \(path) does not allow this process in"
        default: nil
        }
      throw IPCError(code: code, operation: "stat", object: "pipe \(path)", reason: reason)
    }
    guard status.st_mode & S_IFMT == S_IFIFO else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: "pipe \(path)",
        reason: "\(path) is not a FIFO (it is \(kind(of: status.st_mode)))")
    }
  }

  private static func createFailureReason(_ code: IPCError.Code, path: String) -> String? {
    switch code {
    case .exists:
      var status = stat()
      let what =
        stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO
        ? "a FIFO already exists at \(path); open it with NamedPipe.open(at:), or remove it first"
        : "a file that is not a FIFO already exists at \(path); it was left alone"
      return what
    case .notFound: return "a directory in \(path) does not exist"
    case .permissionDenied: return "the directory does not allow this process to create \(path)"
    default: return nil
    }
  }

  /// What kind of file a mode describes, for error messages.
  private static func kind(of mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFREG: "a regular file"
    case S_IFDIR: "a directory"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFSOCK: "a socket"
    case S_IFLNK: "a symbolic link"
    default: "not a FIFO"
    }
  }
}
