import Glibc
import IPC
import IPCToolSupport

/// `ipc sem ...`: System V semaphore sets.
enum SemaphoreCommand {
  private typealias Options = CommonOptions

  static let count = Option<Int>.integer(
    "--count", 1...max(1, SystemV.SemaphoreSet.Limits.current().maxPerSet),
    what: "a number of semaphores (SEMMSL)",
    help: "the number of semaphores (all 0 unless --values)")
  static let values = Option<[Int]>(
    "--values", valueName: "V,V,...",
    expecting: "whole numbers from 0 to \(valueRange.upperBound) (SEMVMX) separated by commas, such as 1,0,0",
    help:
      "the values they start with (their number gives --count), each 0 to \(valueRange.upperBound) (SEMVMX)"
  ) { text in
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
    return parts.contains { $0.map { !valueRange.contains($0) } ?? true } ? nil : parts.compactMap { $0 }
  }
  /// What a semaphore of a set holds: 0 to SEMVMX.
  static let valueRange = 0...SystemV.SemaphoreSet.Limits.maxValue
  static let undo = Flag(
    "--undo",
    help: "the kernel reverses the operations when this command exits, even killed; it exits right after"
      + " them unless --hold is given, so --undo alone only waits until they can be done")
  static let hold = Option<Duration>.seconds(
    "--hold",
    help: "stay SECONDS after the operations before exiting: with --undo, a lock held by this command"
      + " comes back when it ends or is killed; without, it stays taken")

  static let discussion = """
    A set is named by --key K, --id I, or --path P --project N (ftok). K is decimal or 0x-hex. Sets made by other programs (ipcmk -S, C, Python's sysv_ipc) work too.
    Exit status: 0 success, 1 failure (not possible with --nowait or within --timeout, set removed, index or value out of range, ...), 2 usage error.
    """

  static let group = CommandGroup(
    path: "ipc sem", abstract: "System V semaphore sets: atomic P/V on several semaphores at once.",
    discussion: discussion,
    commands: [
      Command(
        "ipc sem create",
        abstract:
          "make a set of N semaphores and print its id (IPC_PRIVATE without a key); fails if the key has one",
        options: Options.keyName + [count, values, Options.mode, Options.openExisting],
        discussion:
          "--count or --values is required unless --open-existing is given with a key. With --open-existing an"
          + " existing set is opened as it is: its values are left alone, and its count and mode must match"
          + " --count (or --values) and --mode if they are given.",
        groupDiscussion: discussion.replacing(
          "A set is named by --key K, --id I, or --path P --project N (ftok).",
          with: "A new set is named by --key K or --path P --project N (ftok), or is private without them."),
        body: create),
      Command(
        "ipc sem op", abstract: "run every OP in one atomic semop: all of them or none",
        options: Options.systemVName + [undo, Options.nowait, Options.timeout, hold],
        positionals: [
          Positional(
            "OP",
            help: "INDEX:DELTA: 0:-1 waits until semaphore 0 is at least 1 and takes 1 (P), 1:+1 adds 1 to"
              + " semaphore 1 (V), 2:0 waits until 2 is zero", repeating: true)
        ], exclusive: [[Options.nowait, Options.timeout]],
        discussion: "With --nowait or --timeout, fails with nothing changed if they cannot all be done now or"
          + " in SECONDS.", body: operate),
      Command(
        "ipc sem get",
        abstract: "print semaphore INDEX's value, or every one as INDEX, a tab, VALUE (read at one instant)",
        options: Options.systemVName,
        positionals: [Positional("INDEX", help: "the semaphore, from 0", optional: true)], body: get),
      Command(
        "ipc sem set",
        abstract: "set semaphore INDEX to VALUE (0 to 32767); clears every process's undo for it",
        options: Options.systemVName,
        positionals: [
          Positional("INDEX", help: "the semaphore, from 0"),
          Positional("VALUE", help: "0 to 32767 (SEMVMX)"),
        ], body: set),
      Command(
        "ipc sem stat",
        abstract: "print the set's owner, mode, times, and per semaphore its value, waiters and last pid",
        options: Options.systemVName, body: stat),
      Command(
        "ipc sem remove", abstract: "remove the set; processes waiting on it fail (EIDRM)",
        options: Options.systemVName, aliases: ["unlink"], body: remove),
    ])

  private static func create(_ parsed: ParsedArguments) throws {
    let keyName = try KeyName.parse(parsed)
    let key = try keyName?.resolve() ?? .private
    let permissions = parsed[Options.mode] ?? .ownerReadWrite
    let openExisting = parsed[Options.openExisting]
    // Nil only with --open-existing and a key: then the set must exist.
    let values: [Int]?
    switch (parsed[Self.count], parsed[Self.values]) {
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
    case (let count, let given?):
      if let count, count != given.count {
        throw UsageError("--values: has \(given.count) entries, --count says \(count)")
      }
      values = given
    case (nil, nil) where openExisting && keyName != nil:
      values = nil
    case (nil, nil):
      throw UsageError(
        "missing --count N or --values V,V,... (the number of semaphores or their values; required unless"
          + (keyName == nil ? " a key and --open-existing are given)" : " --open-existing is given)"))
    }
    func openAsItIs() throws -> SystemV.SemaphoreSet {
      // Without waiting for initialisation: sets made by ipcmk -S never see a semop.
      let set = try SystemV.SemaphoreSet.open(key: key)
      let existing = ExistingObject(what: "\(set)")
      let option = parsed[Self.values] == nil ? "--count" : "--values (count)"
      try existing.check(option, given: values?.count, actual: set.count, unit: " semaphores")
      try existing.checkMode(parsed[Options.mode], actual: try set.stat().permissions)
      return set
    }
    // Exclusive: opening an existing set would silently ignore --values,
    // so only --open-existing opens one, as it is.
    let set: SystemV.SemaphoreSet
    var created = false
    if let values {
      switch Result(catching: { () throws(IPCError) in
        try SystemV.SemaphoreSet.create(key: key, values: values, permissions: permissions)
      }) {
      case .success(let made):
        set = made
        created = true
      case .failure(let error) where error.code == .exists && openExisting: set = try openAsItIs()
      case .failure(let error): throw error
      }
    } else {
      set = try openAsItIs()
    }
    try Output.newID(set.id, of: "set", remove: created ? { try set.remove() } : nil)
  }

  private static func operate(_ parsed: ParsedArguments) throws {
    let name = try SystemVName.parse(parsed, kind: "semaphore set")
    let wait = Wait(parsed)
    let hold = parsed[Self.hold]
    let words = parsed.positionals
    let operations = try words.map { word in try parseOperation(word, undo: parsed[Self.undo]) }
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
      throw UsageError(
        "OP: an operation is INDEX:DELTA, such as 0:-1, 1:+1 or 2:0, not '\(UsageError.shown(word))'")
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

  private static func get(_ parsed: ParsedArguments) throws {
    let name = try SystemVName.parse(parsed, kind: "semaphore set")
    let index = try parsed.positionals.first.map { word in try number(word, "INDEX") }
    let set = try name.openSemaphoreSet()
    if let index {
      Output.line("\(try set.value(at: index))")
    } else {
      // One GETALL: every value from the same instant.
      for (index, value) in try set.values().enumerated() { Output.line("\(index)\t\(value)") }
    }
  }

  private static func set(_ parsed: ParsedArguments) throws {
    let name = try SystemVName.parse(parsed, kind: "semaphore set")
    let words = parsed.positionals
    let index = try number(words[0], "INDEX")
    let value = try number(words[1], "VALUE")
    guard valueRange.contains(value) else {
      throw UsageError(
        "VALUE: expected a value from 0 to \(valueRange.upperBound) (SEMVMX), got '\(UsageError.shown(words[1]))'"
      )
    }
    let set = try name.openSemaphoreSet()
    try set.setValue(value, at: index)
  }

  private static func number(_ word: String, _ role: String) throws -> Int {
    guard let value = Int(word) else {
      throw UsageError("\(role): expected a whole number, got '\(UsageError.shown(word))'")
    }
    return value
  }

  private static func stat(_ parsed: ParsedArguments) throws {
    let name = try SystemVName.parse(parsed, kind: "semaphore set")
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

  private static func remove(_ parsed: ParsedArguments) throws {
    let name = try SystemVName.parse(parsed, kind: "semaphore set")
    try name.openSemaphoreSet().remove()
  }
}
