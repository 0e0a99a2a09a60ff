import IPC
import IPCToolSupport

/// `ipc psem ...`: POSIX named semaphores.
enum POSIXSemaphoreCommand {
  private typealias Options = CommonOptions

  static let value = Option<Int>.integer(
    "--value", 0...POSIX.Semaphore.maxValue, what: "a value (SEM_VALUE_MAX)",
    help: "the value it starts with, up to \(POSIX.Semaphore.maxValue) (default 0)")
  static let name = Positional(
    "NAME", help: "the semaphore's name: '/' and 1 to 251 bytes without '/', such as /tickets")

  static let discussion = """
    The semaphore is the file /dev/shm/sem.NAME, shared with C's sem_open and Python's posix_ipc.Semaphore. It has no undo: a process killed after a wait does not give it back (ipc sem op --undo does).
    Exit status: 0 success, 1 failure (0 with --nowait or after --timeout, no such semaphore, bad name, ...), 2 usage error.
    """

  static let group = CommandGroup(
    path: "ipc psem", abstract: "POSIX named semaphores: P (wait) and V (post) on one counter.",
    discussion: discussion,
    commands: [
      Command(
        "ipc psem create",
        abstract: "make a semaphore holding V, with exactly the mode given; fails if the name is taken",
        options: [value, Options.mode, Options.openExisting], positionals: [name],
        discussion: "With --open-existing an existing semaphore keeps its value.", body: create),
      Command(
        "ipc psem wait", abstract: "P: take one, waiting while the value is 0",
        options: [Options.nowait, Options.timeout], positionals: [name],
        exclusive: [[Options.nowait, Options.timeout]], body: wait),
      Command(
        "ipc psem post", abstract: "V: add one, waking one waiting process", positionals: [name], body: post),
      Command("ipc psem value", abstract: "print the value", positionals: [name], body: showValue),
      Command(
        "ipc psem remove", abstract: "remove the name (sem_unlink); processes that have it open keep it",
        positionals: [name], aliases: ["unlink"], body: remove),
    ])

  private static func create(_ parsed: ParsedArguments) throws {
    let (name, value) = (parsed.positionals[0], parsed[Self.value] ?? 0)
    let permissions = parsed[Options.mode] ?? .ownerReadWrite
    // Without --open-existing: exclusive, as opening an existing semaphore would silently ignore --value.
    if parsed[Options.openExisting] {
      let semaphore = try POSIX.Semaphore.openOrCreate(name, value: value, permissions: permissions)
      // glibc keeps a named semaphore in /dev/shm as sem.NAME.
      try ExistingObject(what: "\(semaphore)").checkMode(
        parsed[Options.mode], ofFileAt: "/dev/shm/sem." + name.dropFirst())
    } else {
      _ = try POSIX.Semaphore.create(name, value: value, permissions: permissions)
    }
  }

  private static func wait(_ parsed: ParsedArguments) throws {
    let semaphore = try POSIX.Semaphore.open(parsed.positionals[0])
    switch Wait(parsed) {
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

  private static func post(_ parsed: ParsedArguments) throws {
    try POSIX.Semaphore.open(parsed.positionals[0]).post()
  }

  private static func showValue(_ parsed: ParsedArguments) throws {
    Output.line("\(try POSIX.Semaphore.open(parsed.positionals[0]).value())")
  }

  private static func remove(_ parsed: ParsedArguments) throws {
    try POSIX.Semaphore.unlink(parsed.positionals[0])
  }
}
