import Glibc
import IPC
import IPCToolSupport

/// `ipc shm ...`: System V shared memory segments and POSIX shared memory objects.
enum SharedMemoryCommand {
  static let usage = """
    usage: ipc shm <subcommand> [options]

      create  [--key K | --path P --project N] --size N [--mode 0600]
              make a System V segment of N zero bytes and print its id;
              IPC_PRIVATE without a key; fails if a segment exists for the key
      create  NAME --size N [--mode 0600]
              make the POSIX object NAME of N zero bytes, with exactly that
              mode whatever the umask; fails if the name is taken
      read    SHM [--offset O] [--length L] [--hex]
              print L bytes from offset O (default 0) and a newline; without
              --length, the bytes up to the first zero byte or the end, so
              text put there by write reads back as written. --hex prints
              offset, hex and ASCII columns instead, 16 bytes a line (a run
              of identical lines is shown once, then '*'), to the end
              without --length
      write   SHM [--offset O] [--raw | --hex] TEXT
              copy TEXT's UTF-8 bytes and a terminating zero byte (as C's
              strcpy does) to offset O (default 0); --raw leaves the zero out,
              --hex takes TEXT as hex digits (such as 00ff10 or "de ad") and
              writes exactly those bytes. Fails, writing nothing, if they do
              not all fit
      stat    SHM    print size, owner, mode, and for a segment its attach count,
                     pids and times
      remove  SHM    remove the segment or unlink the object. A System V segment
                     still attached lives on until its last detach; a POSIX
                     object stays mapped where it is mapped

    SHM is --key K, --id I or --path P --project N (ftok) for a System V
    segment, or NAME for a POSIX object: '/' followed by 1 to 255 bytes without
    '/', such as /frames, the file /dev/shm/NAME. K is decimal or 0x-hex. Objects
    made by other programs (ipcmk -M, C, Python's sysv_ipc and posix_ipc) work too.
    Exit status: 0 success, 1 failure (no such object, offset or length outside
    it, no permission, ...), 2 usage error.
    """

  static func main(_ arguments: Arguments) -> Int32 {
    runSubcommand(
      "shm", usage: usage, arguments,
      [
        "create": create,
        "read": read,
        "write": write,
        "stat": stat,
        "remove": remove,
      ])
  }

  /// A shared memory object as given on the command line.
  private enum Target {
    case systemV(SystemVName)
    case posix(String)

    /// Takes the object from `arguments`: System V options if given, else the
    /// first positional word; `positionals` more words follow it.
    static func parse(_ arguments: inout Arguments, then names: String = "", count: Int = 0)
      throws -> (Target, [String])
    {
      if let name = try SystemVName.parseIfGiven(&arguments, kind: "segment") {
        return (.systemV(name), try arguments.positionals(min: count, max: count, names: names))
      }
      let words = try arguments.positionals(
        min: count + 1, max: count + 1,
        names: "SHM (--key K, --id I, or a POSIX NAME such as /frames)" + (count > 0 ? " and \(names)" : ""))
      return (.posix(words[0]), Array(words.dropFirst()))
    }

    /// Maps the whole object, read-only unless `writing`; `object` names it in messages.
    func map(writing: Bool) throws(IPCError) -> SharedRegion {
      switch self {
      case .systemV(let name): try name.openSharedMemory().attach(readOnly: !writing)
      case .posix(let name): try POSIX.SharedMemory.open(name, readOnly: !writing).map(readOnly: !writing)
      }
    }
  }

  private static func create(_ arguments: inout Arguments) throws {
    let keyName = try MessageCommand.keyOption(&arguments)
    let permissions = try MessageCommand.permissionsOption(&arguments)
    guard let size = try arguments.integer("--size") else {
      throw UsageError("give the size in bytes with --size N")
    }
    let words = try arguments.positionals(min: 0, max: 1, names: "NAME")
    // The library checks the size (0, shmmax, the tmpfs), to name the limit.
    switch (keyName, words.first) {
    case (let keyName, nil):
      let memory = try SystemV.SharedMemory.create(
        key: try keyName?.resolve() ?? .private, size: size, permissions: permissions)
      Output.line("\(memory.id)")
    case (nil, let name?):
      _ = try POSIX.SharedMemory.create(name, size: size, permissions: permissions)
    case (_?, _?):
      throw UsageError("give either a key (System V) or a NAME (POSIX), not both")
    }
  }

  private static func read(_ arguments: inout Arguments) throws {
    let offset = try arguments.integer("--offset") ?? 0
    let length = try arguments.integer("--length")
    let hex = arguments.flag("--hex")
    let (target, _) = try Target.parse(&arguments)
    let region = try target.map(writing: false)
    // Checked by the library, which names the region and its size; only the
    // default length is worked out here.
    let count: Int
    if let length {
      count = length
    } else if hex {
      count = max(region.count - offset, 0)
    } else {
      // Found in place: the text may be short in a large segment. A bad
      // offset is left for bytes(at:count:) to report.
      count = try region.withUnsafeBytes { all in
        guard (0...all.count).contains(offset) else { return 0 }
        return (all[offset...].firstIndex(of: 0) ?? all.count) - offset
      }
    }
    let bytes = try region.bytes(at: offset, count: count)
    if hex {
      HexDump.lines(bytes, startingAt: offset).forEach(Output.line)
    } else if !Output.bytes(bytes + [UInt8(ascii: "\n")]) {
      throw CommandFailure("cannot write to standard output: \(String(cString: strerror(errno)))")
    }
  }

  private static func write(_ arguments: inout Arguments) throws {
    let offset = try arguments.integer("--offset") ?? 0
    let raw = arguments.flag("--raw")
    let hex = arguments.flag("--hex")
    guard !(raw && hex) else { throw UsageError("--raw and --hex exclude each other") }
    let (target, words) = try Target.parse(&arguments, then: "TEXT", count: 1)
    let bytes: [UInt8]
    if hex {
      guard let parsed = HexDump.parse(words[0]) else {
        throw UsageError("--hex needs pairs of hex digits such as 00ff10 or \"de ad\", not '\(words[0])'")
      }
      bytes = parsed
    } else {
      bytes = Array(words[0].utf8) + (raw ? [] : [0])
    }
    // One bounds check for all of them: nothing is written unless all fit.
    try target.map(writing: true).write(bytes, at: offset)
  }

  private static func stat(_ arguments: inout Arguments) throws {
    let (target, _) = try Target.parse(&arguments)
    switch target {
    case .systemV(let name):
      let memory = try name.openSharedMemory()
      let status = try memory.stat()
      let rows: [(String, String)] = [
        ("id", "\(memory.id)"),
        ("key", status.isMarkedForRemoval ? "\(status.key) (marked for removal)" : "\(status.key)"),
        ("permissions", "\(status.permissions)"),
        ("owner", user(status.ownerUID, status.ownerGID)),
        ("creator", "\(user(status.creatorUID, status.creatorGID)), pid \(status.creatorPID)"),
        ("size", "\(status.size) bytes"),
        ("attached", "\(status.attachCount)"),
        ("last attach", status.lastAttachTime.map(Clock.format) ?? "never"),
        ("last detach", status.lastDetachTime.map(Clock.format) ?? "never"),
        // The kernel keeps one pid for both.
        ("last pid", status.lastPID.map { "\($0) (attached or detached last)" } ?? "none"),
        ("changed", Clock.format(status.lastChangeTime)),
      ]
      TextTable.lines(rows.map { [$0.0, $0.1] }).forEach(Output.line)
    case .posix(let name):
      // Read access is enough to stat; the owner and mode are the file's.
      let memory = try POSIX.SharedMemory.open(name, readOnly: true)
      let size = try memory.size
      guard let file = ShmFiles.entry(name) else {
        throw CommandFailure("cannot stat \(ShmFiles.path(of: name)): \(String(cString: strerror(errno)))")
      }
      let rows: [(String, String)] = [
        ("name", name),
        ("file", ShmFiles.path(of: name)),
        ("permissions", "\(Permissions(rawValue: file.info.st_mode & 0o777))"),
        ("owner", user(file.info.st_uid, file.info.st_gid)),
        ("size", "\(size) bytes"),
        ("changed", Clock.format(file.info.st_mtim.tv_sec)),
      ]
      TextTable.lines(rows.map { [$0.0, $0.1] }).forEach(Output.line)
    }
  }

  private static func user(_ uid: UInt32, _ gid: UInt32) -> String {
    "\(MessageCommand.userName(uid)) (uid \(uid), gid \(gid))"
  }

  private static func remove(_ arguments: inout Arguments) throws {
    let (target, _) = try Target.parse(&arguments)
    switch target {
    case .systemV(let name):
      let memory = try name.openSharedMemory()
      try memory.remove()
      // IPC_RMID only marks an attached segment: say so rather than look done.
      if let attached = try? memory.stat().attachCount, attached > 0 {
        Output.line(
          "\(memory) is marked for removal; it goes away when its \(attached) attachment"
            + (attached == 1 ? "" : "s") + " detach")
      }
    case .posix(let name):
      try POSIX.SharedMemory.unlink(name)
    }
  }
}
