import CIPCShims
import Glibc

extension ChildProcess {
  /// Starts an entry point of this program (or of `executable`) in a new
  /// process, handing it IPC objects by name: Python's
  /// `Process(target=f, args=(queue,)).start()`.
  ///
  ///     let child = try ChildProcess.start(entryPoint: "sender", handing: ["queue": queue])
  ///     print(try child.wait())                      // exited with status 0
  ///
  /// The child is a fresh copy of the running executable (`/proc/self/exe`,
  /// started by its path while that path still names the same file),
  /// whose `main` hands over to the entry point at ``EntryPoints/runIfChild()``;
  /// there, ``ChildContext/open(_:as:)`` gives back each handed object as its
  /// own type. System V objects cross by id, POSIX objects by name, named
  /// pipes by path; pipe ends and ``Inheritance/descriptor(of:)`` cross as
  /// descriptors the child inherits (at the lowest numbers from 3 up not
  /// chosen in `descriptors`). Every other descriptor is closed in the child.
  ///
  /// By default the child dies with this process, however it dies (SIGKILL
  /// included): it watches a socket only this process holds (see
  /// ``Supervisor`` for the objects it then removes).
  ///
  /// The corresponding C calls are `posix_spawn` and `pidfd_open`.
  ///
  /// - Parameters:
  ///   - entryPoint: the name given to ``EntryPoints``.
  ///   - objects: what the child can ``ChildContext/open(_:as:)``, by name.
  ///   - arguments: the child's `CommandLine.arguments` after the program name.
  ///   - environment: the child's environment variables.
  ///   - workingDirectory: the child's current directory; this process's if nil.
  ///   - standardInput: the child's descriptor 0.
  ///   - standardOutput: the child's descriptor 1.
  ///   - standardError: the child's descriptor 2.
  ///   - descriptors: more descriptors at numbers of your choice (3 to 1023).
  ///   - diesWithParent: end the child when this process ends.
  ///   - newProcessGroup: put the child in a process group of its own, so a
  ///     terminal's Ctrl-C (sent to the foreground group) does not reach it.
  ///   - executable: another program that calls ``EntryPoints/runIfChild()``
  ///     with this entry point; nil for this one.
  ///   - supervisor: the ``Supervisor`` that watches the child, if any.
  /// - Throws: `.invalidArgument` for an entry point this program does not
  ///   have (or a program that never called ``EntryPoints/runIfChild()``,
  ///   whose children would start children of their own); `.badDescriptor`
  ///   for a closed pipe end; `.wouldBlock` at the process limit
  ///   (RLIMIT_NPROC); `.tooManyOpen` at the descriptor limit. Nothing is
  ///   left running or open after an error.
  @discardableResult
  public static func start(
    entryPoint: String, handing objects: [String: any Inheritable] = [:], arguments: [String] = [],
    environment: Environment = .inherit, workingDirectory: String? = nil,
    standardInput: Descriptor = .inherit, standardOutput: Descriptor = .inherit,
    standardError: Descriptor = .inherit, descriptors: [Int32: Descriptor] = [:],
    diesWithParent: Bool = true, newProcessGroup: Bool = false, executable: String? = nil,
    in supervisor: Supervisor? = nil
  ) throws(IPCError) -> ChildProcess {
    try checkEntryPoint(entryPoint, inOtherProgram: executable != nil)
    var handed: [(name: String, inheritance: Inheritance)] = []
    for (name, object) in objects.sorted(by: { $0.key < $1.key }) {
      guard !name.isEmpty, !name.utf8.contains(0) else {
        throw IPCError(
          code: .invalidArgument, operation: "posix_spawn", object: "entry point '\(entryPoint)'",
          reason: "'\(name)' cannot name a handed object: a name is non-empty, without zero bytes")
      }
      handed.append((name, try object.inheritance()))
    }
    let path: String
    let argv0: String
    if let executable {
      path = try ExecutableLookup.resolve(executable, searchPath: environment.value(of: "PATH"))
      argv0 = executable
    } else {
      path = runningExecutable()
      argv0 = CommandLine.arguments.first ?? path
    }
    return try launch(
      path: path, argv: [argv0] + arguments, name: entryPoint, environment: environment,
      workingDirectory: workingDirectory, standard: [standardInput, standardOutput, standardError],
      descriptors: descriptors, entryPoint: (entryPoint, handed, diesWithParent),
      newProcessGroup: newProcessGroup, supervisor: supervisor)
  }

  /// Starts a program: a path, or a name looked up in the directories of
  /// the child's `PATH` (as a shell does).
  ///
  ///     let (reader, writer) = try AnonymousPipe.make()
  ///     let sort = try ChildProcess.start(executable: "sort", arguments: ["-n"], standardInput: .pipe(reader))
  ///     try reader.close()                           // the child has its copy
  ///     try writer.write(Array("3\n1\n2\n".utf8))
  ///     try writer.close()                           // end of input for sort
  ///     try sort.wait()
  ///
  /// The corresponding C calls are `posix_spawn` and `pidfd_open`.
  ///
  /// - Parameters:
  ///   - executable: a path (with a '/'), or a name to find in `PATH`.
  ///   - arguments: the arguments after the program name (`argv[1...]`).
  ///   - environment: the child's environment variables.
  ///   - workingDirectory: the child's current directory; this process's if nil.
  ///   - standardInput: the child's descriptor 0.
  ///   - standardOutput: the child's descriptor 1.
  ///   - standardError: the child's descriptor 2.
  ///   - descriptors: more descriptors at numbers of your choice (3 to 1023);
  ///     every other descriptor is closed in the child.
  ///   - newProcessGroup: put the child in a process group of its own.
  ///   - supervisor: the ``Supervisor`` that watches the child, if any.
  /// - Throws: `.notFound` for a program that does not exist (or is not in
  ///   `PATH`); `.permissionDenied` for one that is not executable; the
  ///   limits of the entry point form. Nothing is left running or open.
  @discardableResult
  public static func start(
    executable: String, arguments: [String] = [], environment: Environment = .inherit,
    workingDirectory: String? = nil, standardInput: Descriptor = .inherit,
    standardOutput: Descriptor = .inherit, standardError: Descriptor = .inherit,
    descriptors: [Int32: Descriptor] = [:], newProcessGroup: Bool = false, in supervisor: Supervisor? = nil
  ) throws(IPCError) -> ChildProcess {
    let path = try ExecutableLookup.resolve(executable, searchPath: environment.value(of: "PATH"))
    let name =
      executable.lastIndex(of: "/").map { String(executable[executable.index(after: $0)...]) } ?? executable
    return try launch(
      path: path, argv: [executable] + arguments, name: name, environment: environment,
      workingDirectory: workingDirectory, standard: [standardInput, standardOutput, standardError],
      descriptors: descriptors, entryPoint: nil, newProcessGroup: newProcessGroup, supervisor: supervisor)
  }

  /// The file this process runs: its path, so `ps` and `top` show the
  /// program's name, while that path still holds this very file; otherwise
  /// (deleted, or replaced by a newer build) `/proc/self/exe`, which always does.
  private static func runningExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "/proc/self/exe" }
    let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var running = stat()
    var named = stat()
    guard stat("/proc/self/exe", &running) == 0, stat(path, &named) == 0,
      running.st_dev == named.st_dev, running.st_ino == named.st_ino
    else { return "/proc/self/exe" }
    return path
  }

  /// Throws unless this program can start `name` in a child.
  private static func checkEntryPoint(_ name: String, inOtherProgram: Bool) throws(IPCError) {
    guard !name.isEmpty, !name.utf8.contains(0) else {
      throw IPCError(
        code: .invalidArgument, operation: "posix_spawn", object: "entry point '\(name)'",
        reason: "an entry point's name is non-empty, without zero bytes")
    }
    guard !inOtherProgram else { return }
    guard let known = EntryPoints.registered.withLock({ $0 }) else {
      throw IPCError(
        code: .invalidArgument, operation: "posix_spawn", object: "entry point '\(name)'",
        reason: "this program has not called EntryPoints.runIfChild(), so a child would run main"
          + " as a parent again instead of '\(name)'; call it at the top of main")
    }
    guard known.contains(name) else {
      throw IPCError(
        code: .invalidArgument, operation: "posix_spawn", object: "entry point '\(name)'",
        reason:
          "this program has no entry point named '\(name)' (it has: \(known.sorted().joined(separator: ", ")))"
      )
    }
  }

  #if DEBUG
    /// Debug builds only: start children as if the kernel had no pidfds
    /// (before Linux 5.3), to test the fallback.
    @TaskLocal static var simulatesMissingPidfd = false
  #endif

  /// Starts the child. Everything that can be refused is checked before
  /// anything is made, opened or changed; what is made is undone if a later
  /// step fails.
  private static func launch(
    path: String, argv: [String], name: String, environment: Environment, workingDirectory: String?,
    standard: [Descriptor], descriptors: [Int32: Descriptor],
    entryPoint: (name: String, handed: [(name: String, inheritance: Inheritance)], diesWithParent: Bool)?,
    newProcessGroup: Bool, supervisor: Supervisor?
  ) throws(IPCError) -> ChildProcess {
    try Spawner.validate(
      argv: argv, descriptorNumbers: descriptors.keys, workingDirectory: workingDirectory, name: name)
    var sources: [Int32: Spawner.Source] = [:]
    for (target, descriptor) in Array(zip(Int32(0)..., standard)) + descriptors.map({ ($0.key, $0.value) }) {
      sources[target] = try descriptor.source(for: target)
    }
    var variables: [String: String] = [:]
    var lifelineNumber: Int32?
    if let entryPoint {
      // The lowest numbers the caller did not choose, so none runs past the limit.
      var free = (Int32(3)...).lazy.filter { descriptors[$0] == nil }.makeIterator()
      if entryPoint.diesWithParent { lifelineNumber = free.next() }
      var handed = entryPoint.handed
      for index in handed.indices where handed[index].inheritance.kind.carriesDescriptor {
        guard let number = free.next() else { break }
        sources[number] = .copy(handed[index].inheritance.number)
        handed[index].inheritance.number = number
      }
      let encoded = Handover.encode(handed)
      guard encoded.utf8.count <= Handover.maxEncodedLength else {
        throw IPCError(
          code: .tooBig, operation: "posix_spawn", object: name,
          reason:
            "the handed objects take \(encoded.utf8.count) bytes, more than the \(Handover.maxEncodedLength)"
            + " an environment variable can carry")
      }
      variables[Handover.entryPointVariable] = entryPoint.name
      variables[Handover.objectsVariable] = encoded
      if let lifelineNumber { variables[Handover.lifelineVariable] = "\(lifelineNumber)" }
    }
    // Handover variables this process was started with (it never called
    // runIfChild) must not reach the child; usually there are none.
    let stale = Handover.variables.filter { variables[$0] == nil && getenv($0) != nil }
    let inherited = stale.isEmpty ? environment : environment.removing(Set(stale))
    let environmentEntries = try inherited.entries(adding: variables)

    // From here on, things are made. The supervisor counts the start as under way.
    let toRemove = try supervisor?.core.admit() ?? []
    var lifeline: (parent: Int32, child: Int32) = (-1, -1)
    func undo() {
      if lifeline.parent >= 0 { _ = Glibc.close(lifeline.parent) }
      supervisor?.core.startFailed()
    }
    let pid: pid_t
    do throws(IPCError) {
      if let lifelineNumber {
        lifeline = try Lifeline.make()
        sources[lifelineNumber] = .copy(lifeline.child)
        // Before the child exists: a parent killed right after the spawn has
        // already told it what to remove.
        try Lifeline.register(toRemove, on: lifeline.parent)
      }
      defer { if lifeline.child >= 0 { _ = Glibc.close(lifeline.child) } }
      pid = try Spawner.spawn(
        Spawner.Request(
          path: path, argv: argv, environment: environmentEntries, workingDirectory: workingDirectory,
          descriptors: sources, newProcessGroup: newProcessGroup, name: name))
    } catch {
      undo()
      throw error
    }
    let child: ChildProcess
    switch openPidfd(pid, name: name) {
    case .success(let pidfd):
      child = ChildProcess(
        pid: pid, pidfd: pidfd, name: name, lifeline: lifeline.parent, leadsGroup: newProcessGroup)
    case .failure(let error) where error.code == .noSuchProcess:
      // Reaped by the kernel already: SIGCHLD is ignored in this process.
      child = ChildProcess(
        pid: pid, pidfd: -1, name: name, lifeline: lifeline.parent, leadsGroup: false, reapedElsewhere: true)
    case .failure(let error):
      // Without a handle the child could be neither waited for nor signalled
      // safely: stop it, unless the kernel may have reaped it already (then
      // its pid may be another process's).
      if !childrenAreReapedByTheKernel() {
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
      }
      undo()
      throw error
    }
    supervisor?.core.watch(child)
    return child
  }

  /// Whether `SIGCHLD` is ignored (or `SA_NOCLDWAIT` set): the kernel then
  /// reaps children the moment they end, and their statuses are lost.
  static func childrenAreReapedByTheKernel() -> Bool {
    var current = sigaction()
    guard sigaction(SIGCHLD, nil, &current) == 0 else { return false }
    let handler = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self)
    return handler == 1 || current.sa_flags & SA_NOCLDWAIT != 0  // 1 is SIG_IGN
  }

  /// The child's pidfd, or -1 where the kernel has none (ENOSYS).
  private static func openPidfd(_ pid: pid_t, name: String) -> Result<Int32, IPCError> {
    #if DEBUG
      if simulatesMissingPidfd { return .success(-1) }
    #endif
    switch once({ cipc_pidfd_open(pid) }) {
    case .success(let fd): return .success(fd)
    case .failure(.unsupported): return .success(-1)
    case .failure(let code):
      return .failure(
        IPCError(
          code: code, operation: "pidfd_open", object: "\(name) (pid \(pid))",
          reason: code == .tooManyOpen
            ? Spawner.limitReason + "; the child was stopped, as it could not be watched" : nil))
    }
  }
}
