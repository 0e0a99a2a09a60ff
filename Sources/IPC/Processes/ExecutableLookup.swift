import Glibc

/// Finds the file a child should run, as a shell would, so that a missing or
/// unusable program is a clear error before anything is started.
enum ExecutableLookup {
  /// The search path when PATH is unset: glibc's `execvp` default.
  static let defaultSearchPath = "/bin:/usr/bin"

  /// `executable` itself if it holds a '/' (`posix_spawn` reports what is
  /// wrong with it, and ``problem(with:)`` explains it then), else the first
  /// executable file of that name in the directories of `searchPath` (PATH).
  ///
  /// - Throws: `.notFound` if there is no such file in PATH;
  ///   `.permissionDenied` if the one found is a directory or not executable.
  static func resolve(_ executable: String, searchPath: @autoclosure () -> String?) throws(IPCError) -> String
  {
    guard !executable.isEmpty, !executable.utf8.contains(0) else {
      throw IPCError(
        code: .invalidArgument, operation: "posix_spawn",
        object: "executable '\(executable.replacingZeroBytes())'",
        reason: executable.isEmpty ? "the executable's name is empty" : "the name holds a zero byte")
    }
    if executable.utf8.contains(UInt8(ascii: "/")) { return executable }
    let path = searchPath() ?? defaultSearchPath
    var unusable: (path: String, problem: (code: IPCError.Code, reason: String))?
    for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
      let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + executable
      guard let problem = problem(with: candidate) else { return candidate }
      if problem.code != .notFound && unusable == nil { unusable = (candidate, problem) }
    }
    if let unusable {
      throw IPCError(
        code: unusable.problem.code, operation: "posix_spawn", object: executable,
        reason: "found \(unusable.path) in PATH, but \(unusable.problem.reason)")
    }
    throw IPCError(
      code: .notFound, operation: "posix_spawn", object: executable,
      reason: "no executable named '\(executable)' in PATH (\(path))")
  }

  /// Why `path` cannot be run, or nil if it can.
  static func problem(with path: String) -> (code: IPCError.Code, reason: String)? {
    var info = stat()
    guard stat(path, &info) == 0 else {
      let code = IPCError.Code(rawValue: errno)
      return (code, code == .notFound ? "there is no file at \(path)" : "\(path): \(code.explanation)")
    }
    if info.st_mode & S_IFMT == S_IFDIR { return (.permissionDenied, "\(path) is a directory") }
    guard access(path, X_OK) == 0 else {
      let mode = String(info.st_mode & 0o777, radix: 8)
      return (.permissionDenied, "\(path) is not executable by this user (mode \(mode))")
    }
    return nil
  }
}
