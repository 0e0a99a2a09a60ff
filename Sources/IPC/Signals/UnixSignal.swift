import CIPCShims
import Glibc

/// A signal: one of Linux's standard signals, or a real-time signal
/// `SIGRTMIN + n`.
///
/// Signals are the oldest way processes talk: a number, and for real-time
/// signals sent with ``send(to:value:)`` an integer value too. Make one by
/// name (``user1``, ``terminate``), from text as `kill -s` takes it
/// (``init(parsing:)``: `"USR1"`, `"SIGUSR1"`, `"RTMIN+3"`, `"10"`), or as a
/// real-time signal by its offset (``realTime(_:)``):
///
///     try UnixSignal.user1.send(to: worker)
///     try UnixSignal.realTime(3).send(to: worker, value: 42)
///
/// The two kinds behave differently when several are pending: a standard
/// signal sent twice before it is received is received once (the kernel
/// keeps one bit per signal), while real-time signals queue, each with its
/// value, and are received in the order they were sent (lowest number first
/// across numbers). ``SignalReceiver`` receives them without handlers.
public struct UnixSignal: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// The signal's number, such as 10 for `SIGUSR1` on Linux x86-64.
  public let rawValue: Int32

  /// A number known to be a signal.
  init(unchecked rawValue: Int32) { self.rawValue = rawValue }

  /// The signal numbered `number`.
  ///
  /// - Throws: `.invalidArgument` if no signal has that number (they run
  ///   from 1 to `SIGRTMAX`, 64 on Linux).
  public init(_ number: Int32) throws(IPCError) {
    guard SignalNames.isValid(number) else {
      throw IPCError(
        code: .invalidArgument, operation: "signal", object: "signal \(number)",
        reason: "\(number) is not a signal number (1 to \(SignalNames.realTime.upperBound), see kill -l)")
    }
    self.rawValue = number
  }

  /// The signal named by `text` as `kill -s` and `kill -l` spell it: a name
  /// with or without `SIG` in any case (`USR1`, `sigusr1`, also `IOT`,
  /// `CLD`, `POLL`), a real-time signal relative to either end of the range
  /// (`RTMIN`, `RTMIN+3`, `SIGRTMAX-1`), or a number (`10`).
  ///
  /// - Throws: `.invalidArgument` naming the text and what is accepted.
  public init(parsing text: String) throws(IPCError) {
    let shown = text.count > 40 ? String(text.prefix(40)) + "..." : text
    func invalid(_ why: String) -> IPCError {
      IPCError(code: .invalidArgument, operation: "signal", object: "'\(shown)'", reason: why)
    }
    if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
      guard let number = Int32(text) else { throw invalid("\(shown) is not a signal number") }
      try self.init(number)
      return
    }
    var name = Substring(text.uppercased())
    if name.hasPrefix("SIG") { name = name.dropFirst(3) }
    if let number = SignalNames.numbers[String(name)] {
      self.init(unchecked: number)
      return
    }
    let range = SignalNames.realTime
    for (prefix, base, sign) in [("RTMIN", range.lowerBound, Int32(1)), ("RTMAX", range.upperBound, -1)]
    where name.hasPrefix(prefix) {
      let rest = name.dropFirst(prefix.count)
      let offset: Int32
      if rest.isEmpty {
        offset = 0
      } else if rest.first == (sign > 0 ? "+" : "-"), rest.count > 1,
        rest.dropFirst().allSatisfy({ $0 >= "0" && $0 <= "9" }), let parsed = Int32(rest.dropFirst()),
        parsed >= 0
      {
        offset = parsed
      } else {
        throw invalid("write \(prefix)\(sign > 0 ? "+" : "-")N with a number N")
      }
      let span = range.upperBound - range.lowerBound
      guard offset <= span else {
        throw invalid(
          "\(prefix)\(sign > 0 ? "+" : "-")\(offset) is outside the real-time signals: N runs from 0 to \(span)"
            + " (SIGRTMIN is \(range.lowerBound), SIGRTMAX \(range.upperBound) here)")
      }
      self.init(unchecked: base + sign * offset)
      return
    }
    throw invalid("no signal has this name (names as kill -l lists them, RTMIN+N, or a number)")
  }

  /// The real-time signal `SIGRTMIN + offset`.
  ///
  /// `SIGRTMIN` is not a constant: glibc keeps the first real-time signals
  /// for its threads, so it is 34 on Linux with glibc and the range runs to
  /// `SIGRTMAX` (64). ``realTimeRange`` gives the range in force.
  ///
  /// - Throws: `.invalidArgument` if `SIGRTMIN + offset` is past `SIGRTMAX`
  ///   or `offset` is negative; the error names the range.
  public static func realTime(_ offset: Int) throws(IPCError) -> UnixSignal {
    let range = realTimeRange
    let span = Int(range.upperBound - range.lowerBound)
    guard offset >= 0, offset <= span else {
      throw IPCError(
        code: .invalidArgument, operation: "signal", object: "SIGRTMIN+\(offset)",
        reason: "real-time signals are SIGRTMIN+0 to SIGRTMIN+\(span) here"
          + " (SIGRTMIN is \(range.lowerBound), SIGRTMAX \(range.upperBound))")
    }
    return UnixSignal(unchecked: range.lowerBound + Int32(offset))
  }

  /// The real-time signals of this system, `SIGRTMIN...SIGRTMAX`.
  public static var realTimeRange: ClosedRange<Int32> { SignalNames.realTime }

  /// The signal's name: `SIGUSR1`, `SIGRTMIN+3`.
  public var name: String { SignalNames.name(rawValue) }

  /// The name, as ``name``.
  public var description: String { name }

  /// What the C library says the signal is, such as "User defined signal 1"
  /// (`sigdescr_np`, or `strsignal`).
  public var summary: String { String(cString: cipc_signal_description(rawValue)) }

  /// Whether this is a real-time signal, which queues with its value instead
  /// of coalescing.
  public var isRealTime: Bool { SignalNames.realTime.contains(rawValue) }

  /// False for `SIGKILL` and `SIGSTOP`, which no process can catch, block or
  /// ignore (so none can receive them).
  public var canBeCaught: Bool { rawValue != SIGKILL && rawValue != SIGSTOP }

  /// Orders signals by number, the order in which pending real-time signals
  /// are delivered.
  public static func < (lhs: UnixSignal, rhs: UnixSignal) -> Bool { lhs.rawValue < rhs.rawValue }

  /// Every standard (non-real-time) signal of Linux, in number order.
  public static var standard: [UnixSignal] {
    SignalNames.standard.keys.sorted().map(UnixSignal.init(unchecked:))
  }
}
