import Glibc

extension PipeEnd {
  /// Hands this end to a child process: adds to `actions` a step that makes
  /// the child's descriptor `childDescriptor` a copy of this end.
  ///
  /// The child's copy is not close-on-exec (`dup2` clears the flag, and glibc
  /// clears it too when both numbers are equal), so the program the child runs
  /// can use it, for example as its standard input (0) or output (1). Every
  /// other descriptor the toolkit made stays close-on-exec.
  ///
  ///     var actions = posix_spawn_file_actions_t()
  ///     posix_spawn_file_actions_init(&actions)
  ///     defer { posix_spawn_file_actions_destroy(&actions) }
  ///     try input.reader.addDuplication(to: &actions, as: 0)      // cat reads our pipe
  ///     posix_spawn(&pid, "/bin/cat", &actions, nil, argv, environ)
  ///     try input.reader.close()  // the child has its copy; keep ours open and the
  ///                               // writer's end of stream would never reach cat
  ///
  /// The actions run in order in the child: do not make a child descriptor that
  /// a later step copies from. The corresponding C function is
  /// `posix_spawn_file_actions_adddup2`.
  ///
  /// - Throws: `.badDescriptor` if the end is closed; `.invalidArgument` for a
  ///   negative `childDescriptor`.
  public func addDuplication(
    to actions: inout posix_spawn_file_actions_t, as childDescriptor: Int32
  ) throws(IPCError) {
    let operation = "posix_spawn_file_actions_adddup2"
    let fd = fileDescriptor
    guard fd >= 0 else {
      throw IPCError(
        code: .badDescriptor, operation: operation, object: description,
        reason: "this end was closed; there is nothing left to hand to a child")
    }
    guard childDescriptor >= 0 else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: description,
        reason: "child descriptor \(childDescriptor) is invalid: it must be 0 or more")
    }
    let status = posix_spawn_file_actions_adddup2(&actions, fd, childDescriptor)
    guard status == 0 else {
      throw IPCError(code: IPCError.Code(rawValue: status), operation: operation, object: description)
    }
  }
}

extension PipeEnd {
  /// Takes ownership of a pipe or socket descriptor this process was handed,
  /// such as the one a parent placed at a fixed number with
  /// ``addDuplication(to:as:)``: the child's side of the hand-off.
  ///
  /// The end closes `descriptor` when released. It becomes close-on-exec, as
  /// every descriptor the toolkit owns; a socket is written with
  /// `MSG_NOSIGNAL`, a pipe under the toolkit's `SIGPIPE` policy.
  ///
  /// The corresponding C calls are `fstat` (to tell a socket from a pipe)
  /// and `fcntl(F_SETFD, FD_CLOEXEC)`.
  ///
  /// - Throws: `.badDescriptor` if `descriptor` is not open;
  ///   `.invalidArgument` if it is neither a pipe nor a socket.
  public convenience init(adopting descriptor: Int32, direction: Direction) throws(IPCError) {
    var info = stat()
    if case .failure(let code) = once({ fstat(descriptor, &info) }) {
      throw IPCError(
        code: code, operation: "fstat", object: "descriptor \(descriptor)",
        reason: code == .badDescriptor ? "descriptor \(descriptor) is not open in this process" : nil)
    }
    let type = info.st_mode & S_IFMT
    guard type == S_IFIFO || type == S_IFSOCK else {
      throw IPCError(
        code: .invalidArgument, operation: "fstat", object: "descriptor \(descriptor)",
        reason: "descriptor \(descriptor) is neither a pipe nor a socket")
    }
    _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    self.init(adopting: descriptor, direction: direction, kind: type == S_IFSOCK ? .socket : .anonymous)
  }
}
