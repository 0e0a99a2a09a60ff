import IPC

/// `ipc psem ...`: POSIX named semaphores.
enum POSIXSemaphoreCommand {
  static let usage = """
    usage: ipc psem <subcommand> NAME [options]

      create  NAME [--value V] [--mode 0600]
              make a semaphore holding V (0 to 2147483647, default 0) with
              exactly that mode, whatever the umask; fails if the name is taken
      wait    NAME [--nowait | --timeout S]
              P: take one, waiting while the value is 0; with --nowait or
              --timeout, fail with nothing taken if it stays 0
      post    NAME       V: add one, waking one waiting process
      value   NAME       print the value
      unlink  NAME       remove the name; processes that have it open keep it

    NAME is '/' followed by 1 to 251 bytes without '/', such as /tickets; the
    semaphore is the file /dev/shm/sem.NAME, shared with C's sem_open and
    Python's posix_ipc.Semaphore. It has no undo: a process killed after a wait
    does not give it back (ipc sem op --undo does).
    Exit status: 0 success, 1 failure (0 with --nowait or after --timeout, no
    such semaphore, bad name, ...), 2 usage error.
    """

  static func main(_ arguments: Arguments) -> Int32 {
    runSubcommand(
      "psem", usage: usage, arguments,
      [
        "create": create,
        "wait": wait,
        "post": post,
        "value": value,
        "unlink": unlink,
      ])
  }

  private static func create(_ arguments: inout Arguments) throws {
    let value = try arguments.integer("--value") ?? 0
    let permissions = try MessageCommand.permissionsOption(&arguments)
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    // Exclusive: opening an existing semaphore would silently ignore --value.
    _ = try POSIX.Semaphore.create(name, value: value, permissions: permissions)
  }

  private static func wait(_ arguments: inout Arguments) throws {
    let wait = try arguments.wait()
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    let semaphore = try POSIX.Semaphore.open(name)
    switch wait {
    case .asLongAsNeeded:
      try semaphore.wait()
    case .no:
      guard try semaphore.tryWait() else { throw CommandFailure("\(semaphore) is 0; nothing was taken") }
    case .upTo(let timeout):
      guard try semaphore.wait(timeout: timeout) else {
        throw CommandFailure("\(semaphore) stayed 0 for \(timeout); nothing was taken")
      }
    }
  }

  private static func post(_ arguments: inout Arguments) throws {
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    try POSIX.Semaphore.open(name).post()
  }

  private static func value(_ arguments: inout Arguments) throws {
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    Output.line("\(try POSIX.Semaphore.open(name).value())")
  }

  private static func unlink(_ arguments: inout Arguments) throws {
    let name = try arguments.positionals(min: 1, max: 1, names: "NAME")[0]
    try POSIX.Semaphore.unlink(name)
  }
}
