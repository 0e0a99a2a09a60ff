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
  /// - Returns: the child's pid, or the `posix_spawn` error number.
  public static func spawn(_ arguments: [String]) -> Result<pid_t, SpawnError> {
    let argv = ([path] + arguments).map { strdup($0) }
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, path, nil, nil, argv + [nil], environ)
    return result == 0 ? .success(pid) : .failure(SpawnError(code: result))
  }
}
