import Glibc
import IPC
import IPCToolSupport

/// `ipc shm ...`: System V shared memory segments and POSIX shared memory objects.
enum SharedMemoryCommand {
  private typealias Options = CommonOptions

  /// A whole number, 0 or more; the library checks the rest (it names the
  /// limit a size or offset breaks).
  private static func number(_ name: String, valueName: String = "N", help: String) -> Option<Int> {
    Option(name, valueName: valueName, expecting: "a whole number, 0 or more", help: help) { text in
      wholeNumber(text, as: Int.self).flatMap { $0 >= 0 ? $0 : nil }
    }
  }

  static let size = number(
    "--size", help: "the size in bytes (checked against shmmax, or the room in /dev/shm)"
  )
  .required(unless: CommonOptions.openExisting)
  static let offset = number("--offset", valueName: "O", help: "where to start, in bytes from 0 (default 0)")
  static let length = number(
    "--length", valueName: "L",
    help: "how many bytes; by default up to the first zero byte or the end (with --hex: to the end)")
  static let readHex = Flag(
    "--hex",
    help:
      "print offset, hex and ASCII columns, 16 bytes a line (a run of identical lines is shown once, then '*')"
  )
  static let writeHex = Flag(
    "--hex", help: "TEXT is hex digits (such as 00ff10 or \"de ad\"): write exactly those bytes")
  static let noNul = Flag(
    "--no-nul", aliases: ["--raw"], help: "leave out the terminating zero byte")
  static let name = Positional(
    "NAME",
    help: "a POSIX object: '/' and 1 to 255 bytes without '/', such as /frames (the file /dev/shm/NAME)",
    optional: true)

  static let discussion = """
    SHM is --key K, --id I or --path P --project N (ftok) for a System V segment, or NAME for a POSIX object. K is decimal or 0x-hex. Objects made by other programs (ipcmk -M, C, Python's sysv_ipc and posix_ipc) work too.
    Exit status: 0 success, 1 failure (no such object, offset or length outside it, no permission, ...), 2 usage error.
    """

  static let group = CommandGroup(
    path: "ipc shm", abstract: "Shared memory: System V segments (by key or id) and POSIX objects (by NAME).",
    discussion: discussion,
    commands: [
      Command(
        "ipc shm create",
        abstract: "make a segment (with a key, or IPC_PRIVATE) and print its id, or the POSIX object NAME, of"
          + " N zero bytes; fails if it exists",
        options: Options.keyName + [size, Options.mode, Options.openExisting], positionals: [name],
        discussion:
          "With --open-existing an existing object is opened as it is: its size and mode must match --size"
          + " and --mode if they are given.",
        groupDiscussion: discussion.replacing(
          "SHM is --key K, --id I or --path P --project N (ftok) for a System V segment,",
          with: "A new segment is named by --key K or --path P --project N (ftok) (private without them),"),
        body: create),
      Command(
        "ipc shm read",
        abstract: "print L bytes from offset O and a newline; to a terminal, binary is shown as hex",
        options: Options.systemVName + [offset, length, readHex, Options.raw], positionals: [name],
        exclusive: [[readHex, Options.raw]], body: read),
      Command(
        "ipc shm write",
        abstract: "copy TEXT's bytes and a terminating zero byte (as strcpy does) to offset O; writes nothing"
          + " unless all fit",
        options: Options.systemVName + [offset, noNul, writeHex],
        positionals: [name, Positional("TEXT", help: "what to write")], exclusive: [[noNul, writeHex]],
        body: write),
      Command(
        "ipc shm stat",
        abstract: "print size, owner, mode, and for a segment its attach count, pids and times",
        options: Options.systemVName, positionals: [name], body: stat),
      Command(
        "ipc shm remove",
        abstract: "remove the segment (it lives on until its last detach) or the object's name",
        options: Options.systemVName, positionals: [name], aliases: ["unlink"], body: remove),
    ])

  /// A shared memory object as given on the command line.
  private enum Target {
    case systemV(SystemVName)
    case posix(String)

    /// The object: System V options if given, else the first positional
    /// word; the words after it (`more` of them) are returned too.
    static func parse(_ parsed: ParsedArguments, more: [String] = []) throws(UsageError) -> (Target, [String])
    {
      let words = parsed.positionals
      if let name = try SystemVName.parseIfGiven(parsed) {
        guard words.count <= more.count else {
          throw UsageError("unexpected argument '\(UsageError.shown(words[more.count]))'")
        }
        guard words.count == more.count else { throw UsageError("missing \(more[words.count])") }
        return (.systemV(name), words)
      }
      let missingName = "missing SHM (--key K, --id I, or a POSIX NAME such as /frames)"
      // Name only what is missing: a first word starting with '/' is the NAME.
      guard let first = words.first, first.hasPrefix("/") || words.count > more.count else {
        throw UsageError(
          missingName + (words.count < more.count ? " and \(more.joined(separator: " and "))" : ""))
      }
      guard words.count <= more.count + 1 else {
        throw UsageError("unexpected argument '\(UsageError.shown(words[more.count + 1]))'")
      }
      guard words.count == more.count + 1 else { throw UsageError("missing \(more[words.count - 1])") }
      return (.posix(first), Array(words.dropFirst()))
    }

    /// Maps the whole object, read-only unless `writing`.
    func map(writing: Bool) throws(IPCError) -> SharedRegion {
      switch self {
      case .systemV(let name): try name.openSharedMemory().attach(readOnly: !writing)
      case .posix(let name): try POSIX.SharedMemory.open(name, readOnly: !writing).map(readOnly: !writing)
      }
    }

    /// Where `shm read` takes bytes from. A segment is read through its
    /// mapping: it never shrinks. A POSIX object is read with `pread`: another
    /// process may shrink it, and a mapped page past its new end would kill
    /// this process with SIGBUS, where `pread` returns fewer bytes.
    func byteSource() throws(IPCError) -> ByteSource {
      switch self {
      case .systemV(let name):
        let segment = try name.openSharedMemory()
        let region = try segment.attach(readOnly: true)
        return ByteSource(object: "\(segment)", region: region) { offset, buffer throws(IPCError) in
          try region.bytes(at: offset, into: buffer)
          return buffer.count
        }
      case .posix(let name):
        let memory = try POSIX.SharedMemory.open(name, readOnly: true)
        // Mapped only for its size and the library's range errors; never read through.
        return ByteSource(object: memory.description, region: try memory.map(readOnly: true)) {
          offset, buffer throws(IPCError) in
          try memory.read(at: offset, into: buffer)
        }
      }
    }
  }

  /// Bytes of a shared-memory object, read without ever touching a page
  /// another process may have cut off.
  struct ByteSource {
    /// As errors name it: `shared memory /frames`.
    let object: String
    let region: SharedRegion
    /// Reads into the buffer at an offset; fewer bytes only if the object shrank.
    let read: (Int, UnsafeMutableRawBufferPointer) throws(IPCError) -> Int

    /// The `count` bytes at `offset` (at most ``SharedMemoryCommand/readChunk``).
    func bytes(at offset: Int, count: Int) throws -> [UInt8] {
      var bytes = [UInt8](repeating: 0, count: count)
      let got = try bytes.withUnsafeMutableBytes { buffer throws(IPCError) in try read(offset, buffer) }
      guard got == count else {
        throw CommandFailure(
          "\(object) shrank while it was read: \(count) bytes at offset \(offset) asked,"
            + " \(got) there")
      }
      return bytes
    }

    /// Bytes from `offset` to the first zero byte (or the end), found a piece at a time.
    func textLength(from offset: Int) throws -> Int {
      var position = offset
      while position < region.count {
        let piece = try bytes(
          at: position, count: min(SharedMemoryCommand.readChunk, region.count - position))
        if let zero = piece.firstIndex(of: 0) { return position + zero - offset }
        position += piece.count
      }
      return region.count - offset
    }
  }

  private static func create(_ parsed: ParsedArguments) throws {
    let keyName = try KeyName.parse(parsed)
    let permissions = parsed[Options.mode] ?? .ownerReadWrite
    // Nil only with --open-existing (the parser checks): then the object must exist.
    let size = parsed[Self.size]
    let openExisting = parsed[Options.openExisting]
    // The library checks the size (0, shmmax, the tmpfs), to name the limit.
    switch (keyName, parsed.positionals.first) {
    case (let keyName, nil):
      guard size != nil || keyName != nil else {
        throw UsageError(
          "missing --size N (required unless --open-existing is given with a key: a private segment is always new)"
        )
      }
      let key = try keyName?.resolve() ?? .private
      func openAsItIs() throws -> SystemV.SharedMemory {
        let memory = try SystemV.SharedMemory.open(key: key)
        let existing = ExistingObject(what: "\(memory)")
        try existing.check("--size", given: size, actual: memory.size, unit: " bytes")
        try existing.checkMode(parsed[Options.mode], actual: try memory.stat().permissions)
        return memory
      }
      let memory: SystemV.SharedMemory
      var created = false
      if let size {
        switch Result(catching: { () throws(IPCError) in
          try SystemV.SharedMemory.create(key: key, size: size, permissions: permissions)
        }) {
        case .success(let made):
          memory = made
          created = true
        case .failure(let error) where error.code == .exists && openExisting: memory = try openAsItIs()
        case .failure(let error): throw error
        }
      } else {
        memory = try openAsItIs()
      }
      try Output.newID(memory.id, of: "segment", remove: created ? { try memory.remove() } : nil)
    case (nil, let name?):
      func openAsItIs() throws {
        let memory = try POSIX.SharedMemory.open(name)
        let existing = ExistingObject(what: "\(memory)")
        try existing.check("--size", given: size, actual: try memory.size, unit: " bytes")
        try existing.checkMode(parsed[Options.mode], ofFileAt: "/dev/shm" + name)
      }
      guard let size else { return try openAsItIs() }
      switch Result(catching: { () throws(IPCError) in
        try POSIX.SharedMemory.create(name, size: size, permissions: permissions)
      }) {
      case .success: break
      case .failure(let error) where error.code == .exists && openExisting: try openAsItIs()
      case .failure(let error): throw error
      }
    case (_?, _?):
      throw UsageError("--key: give either a key (System V) or a NAME (POSIX), not both")
    }
  }

  /// Bytes one piece of `shm read` takes at a time: a large object is never
  /// copied whole.
  static let readChunk = 1 << 20

  private static func read(_ parsed: ParsedArguments) throws {
    let offset = parsed[Self.offset] ?? 0
    let hex = parsed[Self.readHex]
    let (target, _) = try Target.parse(parsed)
    let source = try target.byteSource()
    let size = source.region.count
    let count: Int
    if let length = parsed[Self.length] {
      count = length
    } else if hex {
      count = max(size - offset, 0)
    } else {
      // Up to the first zero byte: the text may be short in a large object.
      count = (0...size).contains(offset) ? try source.textLength(from: offset) : 0
    }
    guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
      // Outside the region: the library's own error, raised before it allocates.
      _ = try source.region.bytes(at: offset, count: count)
      return
    }
    if count <= readChunk {
      let bytes = try source.bytes(at: offset, count: count)
      if hex || Output.showsAsHex(bytes, raw: parsed[Options.raw]) {
        // --hex asked for hex; otherwise say why binary shows as hex, as msg and mq do.
        let note = hex ? [] : [Output.hexNote(bytes.count)]
        (note + HexDump.lines(bytes, startingAt: offset)).forEach(Output.line)
      } else if !Output.bytes(bytes + [UInt8(ascii: "\n")]) {
        throw CommandFailure("cannot write to standard output: \(String(cString: strerror(errno)))")
      }
      return
    }
    // Larger: a piece at a time. Bound for a terminal it is shown as hex
    // unless --raw (it cannot be checked for text without reading it twice).
    let asHex = hex || (Output.isTerminal && !parsed[Options.raw])
    if asHex && !hex { Output.line(Output.hexNote(count)) }
    var stream = HexDump.Stream(startingAt: offset)
    var done = 0
    while done < count {
      let bytes = try source.bytes(at: offset + done, count: min(readChunk, count - done))
      done += bytes.count
      if asHex {
        stream.lines(bytes).forEach(Output.line)
      } else if !Output.bytes(bytes) {
        throw CommandFailure("cannot write to standard output: \(String(cString: strerror(errno)))")
      }
    }
    if asHex {
      Output.line(stream.end)
    } else if !Output.bytes([UInt8(ascii: "\n")]) {
      throw CommandFailure("cannot write to standard output: \(String(cString: strerror(errno)))")
    }
  }

  private static func write(_ parsed: ParsedArguments) throws {
    let offset = parsed[Self.offset] ?? 0
    let (target, words) = try Target.parse(parsed, more: ["TEXT"])
    let bytes: [UInt8]
    if parsed[Self.writeHex] {
      guard let parsedBytes = HexDump.parse(words[0]) else {
        throw UsageError(
          "--hex: expected pairs of hex digits such as 00ff10 or \"de ad\", got '\(UsageError.shown(words[0]))'"
        )
      }
      bytes = parsedBytes
    } else {
      bytes = Array(words[0].utf8) + (parsed[Self.noNul] ? [] : [0])
    }
    // One bounds check for all of them: nothing is written unless all fit.
    guard case .posix(let name) = target else {
      return try target.map(writing: true).write(bytes, at: offset)
    }
    // A POSIX object is written with pwrite, never through a mapping another
    // process may have cut short (SIGBUS); the mapping only checks the range,
    // with the library's words.
    let memory = try POSIX.SharedMemory.open(name)
    let region = try memory.map()
    guard offset >= 0, offset <= region.count, bytes.count <= region.count - offset else {
      return try region.write(bytes, at: offset)
    }
    let written = bytes.withUnsafeBytes { buffer in
      Result { () throws(IPCError) in try memory.write(buffer, at: offset) }
    }
    try written.get()
  }

  private static func stat(_ parsed: ParsedArguments) throws {
    let (target, _) = try Target.parse(parsed)
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
        ("name", UsageError.shown(name)),
        ("file", UsageError.shown(ShmFiles.path(of: name))),
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

  private static func remove(_ parsed: ParsedArguments) throws {
    let (target, _) = try Target.parse(parsed)
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
