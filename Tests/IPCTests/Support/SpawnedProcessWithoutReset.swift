import Glibc
import IPC

/// posix_spawn without resetting signal dispositions, as an ordinary program
/// starts another: to see what a child inherits.
enum SpawnedProcessWithoutReset {
  /// Runs `executable` with its standard output in `stdout`; returns its exit status.
  static func run(_ executable: String, _ arguments: [String], stdout: PipeEnd) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    try stdout.addDuplication(to: &actions, as: 1)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, executable, &actions, nil, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return status
  }
}
