import IPC

/// The values the CLI fuzz test gives to options and positional words, by
/// the placeholder the help names them with (`K`, `NAME`, `SECONDS`, ...).
///
/// Values that name an object (`K`, `I`, `P`, `NAME`, `PATH`) come only from
/// the sandbox, or are malformed so they can name nothing: the fuzz never
/// touches an object of another test or user. Everything else mixes values
/// made for the placeholder with edge numbers, odd words and long strings.
struct CLIFuzzValues {
  let sandbox: CLIFuzzSandbox
  /// Made once: some are 128 KiB.
  private let ftokMisses: [String]
  private let oddNames: [String]
  private let oddPaths: [String]
  private let oddSockets: [String]

  init(sandbox: CLIFuzzSandbox) {
    self.sandbox = sandbox
    ftokMisses = Self.ftokMisses(sandbox)
    oddNames = Self.oddNames(sandbox)
    oddPaths = Self.oddPaths(sandbox)
    oddSockets = Self.oddSockets(sandbox)
  }

  /// The longest argument argv takes is 128 KiB with its NUL (MAX_ARG_STRLEN).
  static let longest = 128 * 1024 - 1

  /// Long strings: errors must never repeat them back whole.
  static let long: [String] = [
    String(repeating: "x", count: longest),
    String(repeating: "é", count: longest / 2),
    String(repeating: "9", count: 4096),
    String(repeating: "-", count: 70_000),
  ]

  /// Edge numbers: type boundaries and one past them, signs, bases, floats, non-ASCII digits.
  static let numbers: [String] = [
    "0", "1", "-1", "+1", "--1", "-0", "+0", "2", "3", "7", "255", "256", "4095", "4096", "8192", "8193",
    "32767", "32768", "-32768", "-32769", "65535", "65536", "2147483647", "2147483648", "-2147483648",
    "-2147483649", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
    String(repeating: "9", count: 400), "-" + String(repeating: "9", count: 400), "0x10", "0X7FFFFFFF",
    "0xffffffffffffffff", "0x", "0x-1", "017", "0017", "08", "0o17", "0b1", "1_000", "1e3", "1.5", "-1.5",
    "1e-9", "1e400", "-1e400", "nan", "-nan", "inf", "-inf", "infinity", ".5", "5.", "1,5", " 1", "1 ", "１",
    "٣",
  ]

  /// Durations in seconds: tiny, negative, past the limit, not numbers. Values
  /// above half a second may make a command wait (the fuzz allows that).
  static let durations: [String] = [
    "0", "0.1", "0.05", "1e-9", "1e-10", "0.0000000001", "-0", "-1", "-1e-9", "1e400", "nan", "inf", "-inf",
    "1000000000", "1000000000.5", "1000000001", "9223372036.854775807", "9223372037", "1e9", "1e19",
    "0x1p-3", "2", " 0.1",
  ]

  /// Modes and choices (`--mode 0600`, `--mechanism pipe`).
  static let modes: [String] = [
    "0600", "0000", "0777", "7777", "1777", "4755", "0o600", "600", "777", "0x180", "8", "-0600", "06000",
    "00600", "+0600", "sysv", "posix", "pipe", "SYSV", "",
  ]

  /// Socket kinds (`--kind seqpacket`), right and wrong.
  static let kinds: [String] = [
    "stream", "seqpacket", "datagram", "STREAM", "dgram", "raw", "seq-packet", "", " stream", "stream ",
  ]

  /// Semaphore operations `INDEX:DELTA`.
  static let operations: [String] = [
    "0:-1", "0:+1", "0:1", "0:0", "1:-1", "2:-2", "1:+1", "0:-32768", "0:32767", "0:32768", "0:-32769",
    "0:-9223372036854775808", "0:9223372036854775807", "0:-9223372036854775809", "0:+9223372036854775807",
    "65535:1", "65536:1", "-1:1", "2147483648:1", "9223372036854775807:-1", ":", "0:", ":1", "0:1:2", "0:+-1",
    "0:--1", "0:+", "x:1", "0:1e3", " 0:1", "0 :1", "0:0x1",
  ]

  /// Lists of semaphore values `V,V,...`.
  static let lists: [String] = [
    "1,0,0", "0", "1", "32767", "32768", "1,,2", ",", "1,", "-1,0", "1;2", "9223372036854775808", "+1,0",
    String(repeating: "1,", count: 300) + "1", String(repeating: "0,", count: 40_000) + "0",
  ]

  /// Message bodies and other free text.
  static let texts: [String] = [
    "hello", "", " ", "é", "\u{7f}", "a\nb", "\t", "\r", "\u{1b}[31mred", "\u{202e}", "\u{2028}", "00ff",
    "de ad", "zz", "0", "-x", "--", "-", "🙂", String(repeating: "a", count: 8193),
    String(repeating: "b", count: 4097),
  ]

  /// Words that are neither options nor values the commands expect.
  static let odd: [String] = [
    "", " ", "-", "--", "-x", "--x", "--=", "=", "-h2", "---", "--bogus", "--bogus=1", "é", "\u{7f}", "\n",
    "x\ny", "\u{1b}[2J", "/", "//", "-qq", "-qsmz", "help",
  ]

  /// A value for an option or positional word named `placeholder` of `command`;
  /// if `tame`, one the command most likely accepts, so the round gets past
  /// the parser to the library and the kernel.
  func value(
    for placeholder: String, in command: CLIGrammar.Command, tame: Bool = false,
    using generator: inout some RandomNumberGenerator
  ) -> String {
    func pick(_ pool: [String]) -> String { pool.randomElement(using: &generator) ?? "" }
    func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < probability }
    let usual = tame ? 0.95 : 0.7
    switch placeholder {
    case "K": return pick(chance(usual) ? keys(for: command) : Self.badKeys)
    case "I": return pick(chance(usual) ? ids(for: command) : Self.badIDs)
    case "P": return pick(chance(usual) ? ["key", sandbox.keyFile] : ftokMisses)
    case "NAME": return pick(chance(usual) ? names(for: command) : oddNames)
    case "PATH": return pick(chance(usual) ? [sandbox.fifo, "fifo"] : oddPaths)
    // `ipc socket`: the sandbox's socket file or abstract name (a relative
    // path lands in the sandbox too: it is the working directory).
    case "PATH|@NAME":
      return pick(chance(usual) ? [sandbox.socketPath, sandbox.abstractName, "sock"] : oddSockets)
    // `ipc signal send PID`: a number that names a process would signal a
    // real one (this test runner, a helper, init). Only pids no process has
    // (above pid_max, at most 2^22) and words the parser refuses.
    case "PID": return pick(Self.noProcesses)
    default: break
    }
    if tame {
      return switch placeholder {
      case "SECONDS": pick(["0", "0.1", "0.01"])
      case "MODE": pick(["0600", "0640", "0400", "sysv", "posix", "pipe", "socket"])
      case "KIND": pick(["stream", "seqpacket", "datagram"])
      case "OP": pick(["0:-1", "0:+1", "0:0", "1:+1", "2:-1", "1:-1"])
      case "V,V,...": pick(["1,0,0", "0", "3,2,1"])
      case "TEXT": pick(["hello", "00ff", "é", "-x", String(repeating: "a", count: 200)])
      default: pick(["0", "1", "2", "3", "7", "8", "16", "100", "4096"])
      }
    }
    if chance(0.03) { return pick(Self.long) }
    let own: [String]? =
      switch placeholder {
      case "SECONDS": Self.durations
      case "MODE": Self.modes
      case "KIND": Self.kinds
      case "OP": Self.operations
      case "V,V,...": Self.lists
      case "TEXT": Self.texts
      default: nil
      }
    if let own, chance(0.75) { return pick(own) }
    return pick(chance(0.7) ? Self.numbers : Self.texts + Self.odd)
  }

  /// Process ids that name no process, and words that are no process id.
  static let noProcesses = [
    "2147483647", "4194305", "99999999", "0", "-1", "-4194305", "abc", "", "+1", "1e3", "0x10", "2147483648",
    "-2147483649", String(repeating: "9", count: 400),
  ]

  /// The System V kind a command works on, from its group (`msg`, `sem`, `shm`).
  static func kind(of command: CLIGrammar.Command) -> CLIFuzzSandbox.SystemVKind? {
    command.path.first.flatMap(CLIFuzzSandbox.SystemVKind.init(rawValue:))
  }

  /// Sandbox keys, spelled every way a key is accepted.
  private func keys(for command: CLIGrammar.Command) -> [String] {
    let own = Self.kind(of: command).flatMap { sandbox.keys[$0] }
    let others = Array(sandbox.keys.values) + [sandbox.spareKey]
    var spelled: [String] = []
    for key in (own.map { [$0, $0, $0] } ?? []) + others {
      let value = UInt32(bitPattern: key.rawValue)
      let hex = String(value, radix: 16)
      spelled += [
        "\(key.rawValue)", "0x" + hex, "0X" + hex.uppercased(), "0x000" + hex, String(describing: key),
        "+\(key.rawValue)",
      ]
    }
    return spelled + ["0", "0x0", "private", "IPC_PRIVATE"]
  }

  /// Keys that do not parse (nothing can be named by them).
  static let badKeys = [
    "4294967296", "-2147483649", "0x100000000", "9223372036854775808", "", "x", "1e3", "0x", " 1", "nan",
    "0x-1", "--1", String(repeating: "9", count: 400), "private1", "-",
  ]

  /// Ids of the sandbox's own object of the command's kind, spelled several ways.
  private func ids(for command: CLIGrammar.Command) -> [String] {
    guard let kind = Self.kind(of: command), let id = sandbox.fixtureIDs[kind] else { return Self.badIDs }
    return ["\(id)", "\(id)", "+\(id)", "00\(id)"]
  }

  /// Ids out of range or malformed ("2147483647" is in range but no id reaches it).
  static let badIDs = [
    "-1", "2147483648", "-2147483649", "9223372036854775808", "0x10", "", "x", "1e3", " 5", "2147483647",
    "--1", "4294967295", String(repeating: "9", count: 400),
  ]

  /// `ftok` paths that do not exist (relative ones are in the sandbox directory).
  private static func ftokMisses(_ sandbox: CLIFuzzSandbox) -> [String] {
    [
      "", "none", sandbox.directory + "/none", sandbox.directory + "/\u{1}",
      String(repeating: "a", count: 300),
    ]
  }

  /// POSIX names of the sandbox, the command's own kind first.
  private func names(for command: CLIGrammar.Command) -> [String] {
    let own: String? =
      switch command.path.first {
      case "mq": sandbox.queueName
      case "psem": sandbox.semaphoreName
      case "shm": sandbox.sharedMemoryName
      default: nil
      }
    let all = [sandbox.queueName, sandbox.semaphoreName, sandbox.sharedMemoryName]
    return (own.map { [$0, $0, $0, $0] } ?? []) + all + ["/\(sandbox.namePrefix)new"]
  }

  /// Odd POSIX names: in the sandbox, or invalid (no leading '/', a second '/', too long).
  private static func oddNames(_ sandbox: CLIFuzzSandbox) -> [String] {
    let base = "/" + sandbox.namePrefix
    func sized(_ count: Int) -> String {
      base + String(repeating: "a", count: max(1, count - base.count + 1))
    }
    return [
      base + "\u{1}x", base + " space", base + "-", base + "é", base + "\u{1b}[31m", base + "a/b", base + ".",
      base + "\n", sized(251), sized(252), sized(255), sized(256), "", "/", "//", "/.", "/..",
      String(base.dropFirst()) + "noslash", "-" + base,
      base + String(repeating: "x", count: Self.longest - 40),
    ]
  }

  /// Odd FIFO paths, all in the sandbox directory (relative ones too: it is the working directory).
  private static func oddPaths(_ sandbox: CLIFuzzSandbox) -> [String] {
    let folder = sandbox.directory
    return [
      folder + "/new", folder + "/\u{1}x", folder + "/ sp", folder + "/-x", folder + "/none/x",
      folder + "/" + String(repeating: "a", count: 255), folder + "/" + String(repeating: "a", count: 256),
      sandbox.keyFile, folder, "rel", "-rel", "", "/", "//", ".", "..", "key", "é\n",
      folder + "/" + String(repeating: "y", count: Self.longest - folder.count - 1),
    ]
  }

  /// Odd socket addresses, all in the sandbox (its directory, its prefix) or
  /// invalid: a missing directory, past the 107 bytes of sun_path, a regular
  /// file and a FIFO (never to be removed), an empty abstract name.
  private static func oddSockets(_ sandbox: CLIFuzzSandbox) -> [String] {
    let folder = sandbox.directory
    func sized(_ count: Int) -> String {
      folder + "/" + String(repeating: "s", count: max(1, count - folder.count - 1))
    }
    return [
      folder + "/none/sock", sized(107), sized(108), sized(300), sandbox.keyFile, sandbox.fifo, folder, "",
      "@",
      "@@", sandbox.abstractName + "\u{1}x", sandbox.abstractName + String(repeating: "n", count: 120),
      sandbox.abstractName + "é", "-" + sandbox.abstractName, "rel sock", "é\n",
      folder + "/" + String(repeating: "y", count: Self.longest - folder.count - 1),
    ]
  }

  /// Whether `text` is a name POSIX objects can have: '/' then 1 to 255
  /// bytes with no '/' (and not . or ..).
  static func isPOSIXName(_ text: String) -> Bool {
    let rest = text.utf8.dropFirst()
    return text.hasPrefix("/") && !rest.isEmpty && rest.count <= 255 && !rest.contains(UInt8(ascii: "/"))
      && text != "/." && text != "/.."
  }
}
