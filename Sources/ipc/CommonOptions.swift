import IPC
import IPCToolSupport

/// The options several commands share, declared once: the same name, help
/// and check wherever they appear.
enum CommonOptions {
  static let key = Option<SystemV.Key>(
    "--key", valueName: "K", expecting: "a key, a decimal or 0x-hex number such as 0x1234",
    help: "the System V key, decimal or 0x-hex", convert: SystemV.Key.init(parsing:))
  static let id = Option<Int32>(
    "--id", valueName: "I", expecting: "an id from 0 to \(Int32.max)",
    help: "the System V id, as ipc list shows it"
  ) { text in wholeNumber(text, as: Int32.self).flatMap { $0 >= 0 ? $0 : nil } }
  static let path = Option<String>.text(
    "--path", valueName: "P", what: "a file path", help: "with --project: the key ftok(P, N) makes")
  static let project = Option<Int>.integer(
    "--project", 1...255, what: "a project id", help: "with --path: the project id of ftok(P, N)")
  static let mode = Option<Permissions>(
    "--mode", valueName: "MODE", expecting: "octal permissions such as 0600",
    help: "the permissions, exactly as given whatever the umask (default 0600)",
    convert: Permissions.init(octal:))
  static let openExisting = Flag(
    "--open-existing",
    help:
      "if the object exists already, open it as it is; options that describe it (size, count, limits, mode)"
      + " must match it (without --open-existing: an error)")
  static let nowait = Flag("--nowait", help: "fail at once, changing nothing, if it cannot be done now")
  static let timeout = Option<Duration>.seconds(
    "--timeout", help: "fail, changing nothing, if it cannot be done within SECONDS (decimals allowed)")
  static let raw = Flag(
    "--raw", help: "write the bytes as they are even to a terminal (where binary is otherwise shown as hex)")
  static let json = Flag("--json", help: "print JSON instead of tables")

  /// The options that name a System V object.
  static let systemVName: [any DeclaredOption] = [key, id, path, project]
  /// The options that name a key (for create).
  static let keyName: [any DeclaredOption] = [key, path, project]
}

/// How long a send or receive may wait, from `--nowait` and `--timeout`.
enum Wait {
  /// Neither option: block until it can be done.
  case asLongAsNeeded
  /// `--nowait`: only if it can be done now.
  case no
  /// `--timeout SECONDS`.
  case upTo(Duration)

  /// The wait the options ask for (the spec keeps them exclusive).
  init(_ parsed: ParsedArguments) {
    if parsed[CommonOptions.nowait] {
      self = .no
    } else if let timeout = parsed[CommonOptions.timeout] {
      self = .upTo(timeout)
    } else {
      self = .asLongAsNeeded
    }
  }

  /// Does an act in the form asked for: `blocking` as long as needed, `now` only if it
  /// can be done at once, `within` up to the timeout; whether it was done.
  func attempt(
    blocking: () throws -> Void, now: () throws -> Bool, within: (Duration) throws -> Bool
  ) throws -> Bool {
    switch self {
    case .asLongAsNeeded:
      try blocking()
      return true
    case .no: return try now()
    case .upTo(let timeout): return try within(timeout)
    }
  }
}
