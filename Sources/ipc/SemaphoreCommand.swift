import Glibc
import IPC
import IPCToolSupport

/// `ipc sem ...`: System V semaphore sets.
enum SemaphoreCommand {
  static let usage = """
    usage: ipc sem <subcommand> [options]

      create  [--key K | --path P --project N] (--count N | --values V,V,...) [--mode 0600]
              make a set of N semaphores holding the values (all 0 by default;
              --values alone gives N) and print its id; IPC_PRIVATE without a
              key; fails if a set exists for the key
      op      SET OPS... [--undo] [--nowait | --timeout S] [--hold S]
              run every OP in one atomic semop: all of them or none. An OP is
              INDEX:DELTA: 0:-1 waits until semaphore 0 is at least 1 and takes
              1 (P), 1:+1 adds 1 to semaphore 1 (V), 2:0 waits until 2 is zero.
              With --nowait or --timeout, fails with nothing changed if they
              cannot all be done now or in S seconds.
              --undo   the kernel reverses the operations when this command
                       exits, even killed. It exits right after them unless
                       --hold is given, so --undo alone only waits until they
                       can be done; it is for holding, and for testing crash
                       recovery
              --hold S stay S seconds after the operations before exiting: with
                       --undo, a lock held by this command comes back when it
                       ends or is killed; without, it stays taken
      get     SET [INDEX]
              print semaphore INDEX's value, or every semaphore as INDEX, a
              tab, VALUE, one per line (all read at one instant)
      set     SET INDEX VALUE
              set semaphore INDEX to VALUE (0 to 32767, SEMVMX); clears every
              process's undo adjustment for it
      stat    SET      print the set's owner, mode and times, and per semaphore its
                       value, the processes waiting for it to grow (GETNCNT) or to be
                       zero (GETZCNT), and the last process that changed it
      remove  SET      remove the set; processes waiting on it fail (EIDRM)

    SET is --key K, --id I, or --path P --project N (ftok). K is decimal or
    0x-hex. Sets made by other programs (ipcmk -S, C, Python's sysv_ipc) work
    too. Exit status: 0 success, 1 failure (not possible with --nowait or within
    --timeout, set removed, index or value out of range, ...), 2 usage error.
    """

  static func main(_ arguments: Arguments) -> Int32 {
    runSubcommand(
      "sem", usage: usage, arguments,
      [
        "create": create,
        "op": operate,
        "get": get,
        "set": set,
        "stat": stat,
        "remove": remove,
      ])
  }

  private static func create(_ arguments: inout Arguments) throws {
    let keyName = try MessageCommand.keyOption(&arguments)
    let permissions = try MessageCommand.permissionsOption(&arguments)
    let count = try arguments.integer("--count")
    let valuesText = try arguments.option("--values")
    try arguments.finish()
    if let count, count < 1 { throw UsageError("--count needs a number of semaphores ≥ 1, not \(count)") }
    let key = try keyName?.resolve() ?? .private
    let values: [Int]
    switch (count, valuesText) {
    case (let count?, nil):
      // Checked before the array is made: --count 99999999999 must not exhaust memory.
      let limit = SystemV.SemaphoreSet.Limits.current().maxPerSet
      guard count <= limit else {
        throw IPCError(
          code: .invalidArgument, operation: "semget", object: "key \(key)",
          reason: "\(count) semaphores exceed SEMMSL \(limit), the most in one set, see"
            + " \(SystemV.SemaphoreSet.Limits.path) (first field)")
      }
      values = Array(repeating: 0, count: count)
    case (let count, let text?):
      values = try parseValues(text)
      if let count, count != values.count {
        throw UsageError("--values has \(values.count) entries, --count says \(count)")
      }
    case (nil, nil):
      throw UsageError("give the number of semaphores with --count N, or their values with --values")
    }
    // Exclusive: opening an existing set would silently ignore --values.
    let set = try SystemV.SemaphoreSet.create(key: key, values: values, permissions: permissions)
    Output.line("\(set.id)")
  }

  /// `1,0,5` as numbers; the library checks their range, to name SEMVMX.
  private static func parseValues(_ text: String) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    return try parts.map { part in
      guard let value = Int(part) else {
        throw UsageError("--values needs whole numbers separated by commas, such as 1,0,0, not '\(text)'")
      }
      return value
    }
  }

  private static func operate(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "semaphore set")
    let undo = arguments.flag("--undo")
    let wait = try arguments.wait()
    let hold = try arguments.seconds("--hold")
    let words = try arguments.positionals(min: 1, max: Int.max, names: "OPS (such as 0:-1)")
    let operations = try words.map { word in try parseOperation(word, undo: undo) }
    let set = try name.openSemaphoreSet()
    let done: Bool
    switch wait {
    case .asLongAsNeeded:
      try set.perform(operations)
      done = true
    case .no:
      done = try set.tryPerform(operations)
    case .upTo(let timeout):
      done = try set.perform(operations, timeout: timeout)
    }
    guard done else {
      let when: String
      if case .upTo(let timeout) = wait { when = "within \(timeout)" } else { when = "now" }
      throw CommandFailure(
        "\(set): \(words.joined(separator: " ")) could not all be done \(when); nothing changed"
          + current(set, operations))
    }
    if let hold { sleep(for: hold) }
  }

  /// `INDEX:DELTA`, such as `0:-1`, `1:+1` or `2:0`.
  private static func parseOperation(_ word: String, undo: Bool) throws -> SystemV.SemaphoreSet.Operation {
    let parts = word.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let index = Int(parts[0]), let delta = Int(parts[1]) else {
      throw UsageError("an operation is INDEX:DELTA, such as 0:-1, 1:+1 or 2:0, not '\(word)'")
    }
    return SystemV.SemaphoreSet.Operation(index: index, delta: delta, undo: undo)
  }

  /// ` (now semaphore 0 is 1, semaphore 2 is 0)`: the values that stopped
  /// the operations, or nothing if they cannot be read.
  private static func current(_ set: SystemV.SemaphoreSet, _ operations: [SystemV.SemaphoreSet.Operation])
    -> String
  {
    let indexes = Set(operations.map(\.index)).sorted()
    guard let values = try? indexes.map({ (index) throws(IPCError) in try set.value(at: index) }) else {
      return ""
    }
    let parts = zip(indexes, values).map { "semaphore \($0) is \($1)" }
    return " (now \(parts.joined(separator: ", ")))"
  }

  /// Sleeps for `duration`, going back to sleep for the time left when a
  /// signal that does not end the process interrupts it.
  private static func sleep(for duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var left = timespec()
    while nanosleep(&request, &left) == -1 && errno == EINTR { request = left }
  }

  private static func get(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "semaphore set")
    let words = try arguments.positionals(min: 0, max: 1, names: "INDEX")
    let index = try words.first.map { word in try number(word, "INDEX") }
    let set = try name.openSemaphoreSet()
    if let index {
      Output.line("\(try set.value(at: index))")
    } else {
      // One GETALL: every value from the same instant.
      for (index, value) in try set.values().enumerated() { Output.line("\(index)\t\(value)") }
    }
  }

  private static func set(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "semaphore set")
    let words = try arguments.positionals(min: 2, max: 2, names: "INDEX and VALUE")
    let index = try number(words[0], "INDEX")
    let value = try number(words[1], "VALUE")
    let set = try name.openSemaphoreSet()
    try set.setValue(value, at: index)
  }

  private static func number(_ word: String, _ role: String) throws -> Int {
    guard let value = Int(word) else { throw UsageError("\(role) needs a whole number, not '\(word)'") }
    return value
  }

  private static func stat(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "semaphore set")
    try arguments.finish()
    let set = try name.openSemaphoreSet()
    let status = try set.stat()
    let rows: [(String, String)] = [
      ("id", "\(set.id)"),
      ("key", "\(status.key)"),
      ("permissions", "\(status.permissions)"),
      (
        "owner",
        "\(MessageCommand.userName(status.ownerUID)) (uid \(status.ownerUID), gid \(status.ownerGID))"
      ),
      (
        "creator",
        "\(MessageCommand.userName(status.creatorUID)) (uid \(status.creatorUID), gid \(status.creatorGID))"
      ),
      ("semaphores", "\(status.count)"),
      ("last semop", status.lastOperationTime.map(Clock.format) ?? "never"),
      ("changed", Clock.format(status.lastChangeTime)),
    ]
    TextTable.lines(rows.map { [$0.0, $0.1] }).forEach(Output.line)
    Output.line("")
    var table = [["INDEX", "VALUE", "WAITING-TO-DECREASE", "WAITING-FOR-ZERO", "LAST-PID"]]
    let values = try set.values()
    for (index, value) in values.enumerated() {
      table.append([
        "\(index)", "\(value)", "\(try set.waitingToDecrease(at: index))",
        "\(try set.waitingForZero(at: index))", try set.lastPID(at: index).map { "\($0)" } ?? "-",
      ])
    }
    TextTable.lines(table).forEach(Output.line)
  }

  private static func remove(_ arguments: inout Arguments) throws {
    let name = try SystemVName.parse(&arguments, kind: "semaphore set")
    try arguments.finish()
    try name.openSemaphoreSet().remove()
  }
}
