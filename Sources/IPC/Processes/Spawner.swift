import CIPCShims
import Glibc

/// The one place the library starts a process: `posix_spawn`, never `fork`.
enum Spawner {
  /// What one of the child's descriptors becomes.
  enum Source {
    /// A copy of this descriptor of this process (which keeps its own).
    case copy(Int32)
    /// The file at this path, opened in the child with these flags (mode
    /// 0600 if created), as a shell's redirection does. Never a FIFO: its
    /// open would wait, and `posix_spawn` (`CLONE_VFORK`) waits with it.
    case open(String, flags: Int32)
  }

  /// Everything about one child but what it is for.
  struct Request {
    /// The file to run (already resolved).
    var path: String
    /// The whole argv, program name first.
    var argv: [String]
    /// `NAME=value` entries as bytes, or nil for this process's environment as it is.
    var environment: [[UInt8]]?
    var workingDirectory: String?
    /// The child's descriptor numbers and what each becomes. Nothing else is
    /// inherited but standard input, output and error not named here.
    var descriptors: [Int32: Source]
    var newProcessGroup: Bool
    /// How errors name the child.
    var name: String
  }

  /// The highest descriptor number a child can be given.
  static let maxDescriptorNumber: Int32 = 1023

  /// Checks what can be checked before anything is opened or made, so a
  /// refused start changes nothing: arguments, descriptor numbers, the
  /// working directory.
  static func validate(
    argv: [String], descriptorNumbers: some Sequence<Int32>, workingDirectory: String?, name: String
  )
    throws(IPCError)
  {
    func refuse(_ code: IPCError.Code, _ operation: String, _ reason: String) -> IPCError {
      IPCError(code: code, operation: operation, object: name, reason: reason)
    }
    if let bad = argv.firstIndex(where: { $0.utf8.contains(0) }) {
      throw refuse(
        .invalidArgument, "posix_spawn",
        "argument \(bad) ('\(argv[bad].replacingZeroBytes())') holds a zero byte, which a C string cannot carry"
      )
    }
    for number in descriptorNumbers where !(3...maxDescriptorNumber).contains(number) {
      throw refuse(
        .invalidArgument, "posix_spawn",
        (0...2).contains(number)
          ? "descriptor \(number) is a standard stream: set it with standardInput, standardOutput or standardError"
          : "descriptor number \(number) is out of range: 3 to \(maxDescriptorNumber)")
    }
    if let directory = workingDirectory {
      var info = stat()
      guard stat(directory, &info) == 0 else {
        let code = IPCError.Code(rawValue: errno)
        throw refuse(code, "chdir", "the working directory \(directory) cannot be used: \(code.explanation)")
      }
      guard info.st_mode & S_IFMT == S_IFDIR else {
        throw refuse(
          .init(rawValue: ENOTDIR), "chdir", "the working directory \(directory) is not a directory")
      }
      guard access(directory, X_OK) == 0 else {
        throw refuse(
          .permissionDenied, "chdir", "the working directory \(directory) cannot be entered by this user")
      }
    }
  }

  /// Starts the child and returns its pid. ``validate(argv:descriptorNumbers:workingDirectory:name:)``
  /// has been called.
  ///
  /// The child starts with an empty signal mask and every signal at its
  /// default disposition (`POSIX_SPAWN_SETSIGMASK`, `POSIX_SPAWN_SETSIGDEF`),
  /// so a mask or an ignored signal of this process (or of a thread of Swift's
  /// pool) never leaks into it. The corresponding C call is `posix_spawn`.
  static func spawn(_ request: Request) throws(IPCError) -> pid_t {
    func failure(_ code: IPCError.Code, _ operation: String, _ reason: String? = nil) -> IPCError {
      IPCError(code: code, operation: operation, object: request.name, reason: reason)
    }
    let targets = request.descriptors.keys.sorted()
    let given = Set(targets)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // The actions run one after another in the child: a copy that sat on
    // another action's target number would be overwritten before its turn.
    // So copies never take a target number: one that lands on one is held
    // (it keeps the number busy) and the copy is made again.
    var copies: [Int32] = []
    defer { copies.forEach { _ = Glibc.close($0) } }
    for target in targets {
      switch request.descriptors[target] {
      case .copy(let source):
        var copy: Int32
        repeat {
          copy = fcntl(source, F_DUPFD_CLOEXEC, 3)
          guard copy >= 0 else {
            let code = IPCError.Code(rawValue: errno)
            throw failure(
              code, "fcntl(F_DUPFD_CLOEXEC)",
              code == .tooManyOpen
                ? limitReason : "descriptor \(source) cannot be handed to the child: \(code.explanation)")
          }
          copies.append(copy)
        } while given.contains(copy)
        let status = posix_spawn_file_actions_adddup2(&actions, copy, target)
        guard status == 0 else {
          throw failure(IPCError.Code(rawValue: status), "posix_spawn_file_actions_adddup2")
        }
      case .open(let path, let flags):
        let status = posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o600)
        guard status == 0 else {
          throw failure(IPCError.Code(rawValue: status), "posix_spawn_file_actions_addopen")
        }
      case nil: continue
      }
    }
    // Then every other descriptor is closed in the child, close-on-exec or not.
    let above = (targets.last ?? 2) + 1
    for number in stride(from: Int32(3), to: above, by: 1) where !given.contains(number) {
      posix_spawn_file_actions_addclose(&actions, number)
    }
    // ENOSYS on a glibc before 2.34: close-on-exec still keeps the library's own.
    _ = cipc_spawn_add_closefrom(&actions, max(3, above))
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
    let environment = request.environment?.map(cString)
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
      throw failure(code, "posix_spawn", reason(for: code, request))
    }
    return pid
  }

  /// A C string (malloc'd, freed by the caller) of `bytes`, which hold no zero byte.
  private static func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar>? {
    guard let copy = malloc(bytes.count + 1)?.assumingMemoryBound(to: CChar.self) else { return nil }
    bytes.withUnsafeBytes { raw in
      if let base = raw.baseAddress { memcpy(copy, base, bytes.count) }
    }
    copy[bytes.count] = 0
    return copy
  }

  static let limitReason = "this process has as many descriptors open as RLIMIT_NOFILE allows (ulimit -n)"

  /// What a `posix_spawn` error means for a user. A missing or forbidden
  /// file may be a redirection's, the working directory's or the program's:
  /// looked at in that order, only now, so a start that works pays for none.
  private static func reason(for code: IPCError.Code, _ request: Request) -> String? {
    let path = request.path
    switch code {
    case .wouldBlock:
      var limit = rlimit()
      getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit)
      let value = limit.rlim_cur == rlim_t.max ? "unlimited" : "\(limit.rlim_cur)"
      return "no more processes can be started: this user's process limit RLIMIT_NPROC (ulimit -u: \(value))"
        + " or the system's (/proc/sys/kernel/threads-max, pid_max) is reached"
    case .noMemory: return "not enough memory to start a process"
    case .notFound, .permissionDenied, .init(rawValue: EISDIR), .init(rawValue: ENOTDIR):
      for case (let number, .open(let file, let flags)) in request.descriptors.sorted(by: { $0.key < $1.key })
      {
        let wanted = flags & O_ACCMODE == O_RDONLY ? R_OK : W_OK
        var usable = access(file, wanted) == 0
        if !usable && errno == ENOENT && flags & O_CREAT != 0 {
          // Missing is fine if it can be made: the directory must allow it.
          let directory = file.lastIndex(of: "/").map { String(file[..<$0]) } ?? "."
          usable = access(directory.isEmpty ? "/" : directory, W_OK | X_OK) == 0
        }
        if !usable {
          return "the file \(file) for the child's descriptor \(number) cannot be opened: \(code.explanation)"
        }
      }
      if let directory = request.workingDirectory, access(directory, X_OK) != 0 {
        return "the working directory \(directory) cannot be entered"
      }
      if let problem = ExecutableLookup.problem(with: path), problem.code == code { return problem.reason }
      return code == .notFound
        ? "there is no file at \(path) (or its interpreter is missing)"
        : "\(path) cannot be run: \(code.explanation)"
    case .notExecutable: return "\(path) is not a program the kernel can run (a script needs a #! line)"
    case .tooBig:
      return "the arguments and environment are larger than the kernel allows: 128 KiB per string"
        + " (MAX_ARG_STRLEN), and ARG_MAX in all (getconf ARG_MAX)"
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
