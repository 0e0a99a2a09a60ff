import Glibc

/// Starting copies of the running executable as child processes, for the
/// package's own tools (`ipc demo`, `ipc-bench`): posix_spawn, never fork.
public enum SelfProcess {
  /// The path of the running executable (/proc/self/exe), so children run the same binary.
  public static let path: String = {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return count > 0
      ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      : CommandLine.arguments[0]
  }()

  /// Starts this executable with `arguments`, sharing stdin, stdout and stderr.
  ///
  /// - Parameter descriptors: descriptors of this process the child inherits,
  ///   each at a fixed number in the child (`posix_spawn_file_actions_adddup2`).
  ///   Nothing else is inherited that was opened close-on-exec. The caller
  ///   keeps its own copies and closes them when it no longer needs them.
  /// - Returns: the child's pid, or the `posix_spawn` error number.
  public static func spawn(
    _ arguments: [String], inheriting descriptors: [(child: Int32, parent: Int32)] = []
  ) -> Result<pid_t, SpawnError> {
    let argv = ([path] + arguments).map { strdup($0) }
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard !descriptors.isEmpty else {
      let result = posix_spawn(&pid, path, nil, nil, argv + [nil], environ)
      return result == 0 ? .success(pid) : .failure(SpawnError(code: result))
    }
    // The dup2 actions run one after another in the child: a source that is
    // also another action's target would be overwritten first. Copies above
    // every target number (close-on-exec, closed again here) cannot collide.
    let lowest = max(64, (descriptors.map(\.child).max() ?? 0) + 1)
    var sources: [Int32] = []
    defer { sources.forEach { _ = Glibc.close($0) } }
    for descriptor in descriptors {
      let copy = fcntl(descriptor.parent, F_DUPFD_CLOEXEC, lowest)
      guard copy >= 0 else { return .failure(SpawnError(code: errno)) }
      sources.append(copy)
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (source, descriptor) in zip(sources, descriptors) {
      let result = posix_spawn_file_actions_adddup2(&actions, source, descriptor.child)
      guard result == 0 else { return .failure(SpawnError(code: result)) }
    }
    let result = posix_spawn(&pid, path, &actions, nil, argv + [nil], environ)
    return result == 0 ? .success(pid) : .failure(SpawnError(code: result))
  }
}
