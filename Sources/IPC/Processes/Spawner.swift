import CIPCShims
import Glibc

/// The one place the library starts a process: `posix_spawn`, never `fork`.
enum Spawner {
  /// Everything about one child but what it is for.
  struct Request {
    /// The file to run (already resolved).
    var path: String
    /// The whole argv, program name first.
    var argv: [String]
    /// `NAME=value` strings, or nil for this process's environment as it is.
    var environment: [String]?
    var workingDirectory: String?
    /// The child's descriptor numbers and the descriptors of this process
    /// they copy. Nothing else is inherited but standard input, output and
    /// error not named here.
    var descriptors: [Int32: Int32]
    var newProcessGroup: Bool
    /// How errors name the child.
    var name: String
  }

  /// The highest descriptor number a child can be given.
  static let maxDescriptorNumber: Int32 = 1023

  /// Starts the child and returns its pid.
  ///
  /// The child starts with an empty signal mask and every signal at its
  /// default disposition (`POSIX_SPAWN_SETSIGMASK`, `POSIX_SPAWN_SETSIGDEF`),
  /// so a mask or an ignored signal of this process (or of a thread of Swift's
  /// pool) never leaks into it. The corresponding C call is `posix_spawn`.
  static func spawn(_ request: Request) throws(IPCError) -> pid_t {
    let object = request.name
    func failure(_ code: IPCError.Code, _ operation: String, _ reason: String? = nil) -> IPCError {
      IPCError(code: code, operation: operation, object: object, reason: reason)
    }
    if let bad = request.argv.firstIndex(where: { $0.utf8.contains(0) }) {
      let shown = request.argv[bad].replacingZeroBytes()
      throw failure(
        .invalidArgument, "posix_spawn",
        "argument \(bad) ('\(shown)') holds a zero byte, which a C string cannot carry")
    }
    if let directory = request.workingDirectory {
      var info = stat()
      guard stat(directory, &info) == 0 else {
        let code = IPCError.Code(rawValue: errno)
        throw failure(code, "chdir", "the working directory \(directory) cannot be used: \(code.explanation)")
      }
      guard info.st_mode & S_IFMT == S_IFDIR else {
        throw failure(
          .init(rawValue: ENOTDIR), "chdir", "the working directory \(directory) is not a directory")
      }
    }
    let targets = request.descriptors.keys.sorted()
    if let bad = targets.first(where: { !(0...maxDescriptorNumber).contains($0) }) {
      throw failure(
        .invalidArgument, "posix_spawn",
        "descriptor number \(bad) is out of range: 0 to \(maxDescriptorNumber)")
    }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // The copies run one after another in the child: a source that is also a
    // later target would be overwritten first. Copies above every target
    // (close-on-exec, closed again here) cannot collide.
    let lowest = max(3, (targets.last ?? 0) + 1)
    var copies: [Int32] = []
    defer { copies.forEach { _ = Glibc.close($0) } }
    for target in targets {
      guard let source = request.descriptors[target] else { continue }
      let copy = fcntl(source, F_DUPFD_CLOEXEC, lowest)
      guard copy >= 0 else {
        let code = IPCError.Code(rawValue: errno)
        let reason =
          switch code {
          case .tooManyOpen: limitReason
          case .invalidArgument:
            "descriptor number \(target) for the child is not below this process's RLIMIT_NOFILE (ulimit -n)"
          default: "descriptor \(source) cannot be handed to the child as \(target): \(code.explanation)"
          }
        throw failure(code, "fcntl(F_DUPFD_CLOEXEC)", reason)
      }
      copies.append(copy)
      let status = posix_spawn_file_actions_adddup2(&actions, copy, target)
      guard status == 0 else {
        throw failure(IPCError.Code(rawValue: status), "posix_spawn_file_actions_adddup2")
      }
    }
    // Every other descriptor is closed in the child, close-on-exec or not.
    let given = Set(targets)
    for number in stride(from: Int32(3), to: lowest, by: 1) where !given.contains(number) {
      posix_spawn_file_actions_addclose(&actions, number)
    }
    // ENOSYS on a glibc before 2.34: close-on-exec still keeps the library's own.
    _ = cipc_spawn_add_closefrom(&actions, lowest)
    if let directory = request.workingDirectory {
      let status = cipc_spawn_add_chdir(&actions, directory)
      guard status == 0 else {
        throw failure(IPCError.Code(rawValue: status), "posix_spawn_file_actions_addchdir_np")
      }
    }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
    if request.newProcessGroup {
      flags |= POSIX_SPAWN_SETPGROUP
      posix_spawnattr_setpgroup(&attributes, 0)
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))

    let argv = request.argv.map { strdup($0) }
    defer { argv.forEach { free($0) } }
    let environment = request.environment?.map { strdup($0) }
    defer { environment?.forEach { free($0) } }
    var pid: pid_t = 0
    let status: Int32 =
      if let environment {
        posix_spawn(&pid, request.path, &actions, &attributes, argv + [nil], environment + [nil])
      } else {
        posix_spawn(&pid, request.path, &actions, &attributes, argv + [nil], environ)
      }
    guard status == 0 else {
      let code = IPCError.Code(rawValue: status)
      throw failure(code, "posix_spawn", reason(for: code, path: request.path))
    }
    return pid
  }

  static let limitReason = "this process has as many descriptors open as RLIMIT_NOFILE allows (ulimit -n)"

  /// What a `posix_spawn` error means for a user.
  private static func reason(for code: IPCError.Code, path: String) -> String? {
    switch code {
    case .wouldBlock:
      var limit = rlimit()
      getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit)
      let value = limit.rlim_cur == rlim_t.max ? "unlimited" : "\(limit.rlim_cur)"
      return "no more processes can be started: this user's process limit RLIMIT_NPROC (ulimit -u: \(value))"
        + " or the system's (/proc/sys/kernel/threads-max, pid_max) is reached"
    case .noMemory: return "not enough memory to start a process"
    case .notFound, .permissionDenied:
      // Looked at only now: a start that works pays for no stat.
      if let problem = ExecutableLookup.problem(with: path), problem.code == code { return problem.reason }
      return code == .notFound
        ? "there is no file at \(path) (or its interpreter is missing)"
        : "\(path) is not executable, or a directory on the way cannot be searched"
    case .notExecutable: return "\(path) is not a program the kernel can run (a script needs a #! line)"
    case .tooBig:
      return "the arguments and environment are larger than the kernel allows (ARG_MAX, see getconf ARG_MAX)"
    case .tooManyOpen: return limitReason
    default: return nil
    }
  }
}

extension String {
  /// The text with each zero byte shown as `\0`, for messages.
  func replacingZeroBytes() -> String {
    String(decoding: utf8.flatMap { $0 == 0 ? Array("\\0".utf8) : [$0] }, as: UTF8.self)
  }
}
