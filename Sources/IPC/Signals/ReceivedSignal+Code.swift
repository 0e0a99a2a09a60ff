import Glibc

extension ReceivedSignal {
  /// How a signal was sent: the `si_code` of its `siginfo_t`.
  ///
  /// Negative codes and 0 say who sent it (`kill`, `sigqueue`, a timer...);
  /// positive ones are the kernel's and mean something per signal (for
  /// `SIGCHLD`, how the child changed), shown as their number.
  public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The `si_code` value.
    public let rawValue: Int32

    /// Wraps an `si_code` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `SI_USER`: sent by `kill` (or `raise`, `killpg`, the shell's `kill`).
    public static let user = Code(rawValue: Int32(SI_USER))
    /// `SI_KERNEL`: sent by the kernel.
    public static let kernel = Code(rawValue: Int32(SI_KERNEL))
    /// `SI_QUEUE`: sent by `sigqueue` with a value.
    public static let queue = Code(rawValue: Int32(SI_QUEUE))
    /// `SI_TIMER`: a POSIX timer (`timer_create`) expired; carries its value.
    public static let timer = Code(rawValue: Int32(SI_TIMER))
    /// `SI_MESGQ`: a message arrived on an empty POSIX queue (`mq_notify`); carries its value.
    public static let messageQueue = Code(rawValue: Int32(SI_MESGQ))
    /// `SI_ASYNCIO`: an asynchronous I/O request completed.
    public static let asyncIO = Code(rawValue: Int32(SI_ASYNCIO))
    /// `SI_TKILL`: sent to one thread by `tgkill` or `pthread_kill`.
    public static let threadKill = Code(rawValue: Int32(SI_TKILL))

    /// Whether a signal with this code carries a `sigval`.
    var carriesValue: Bool { self == .queue || self == .timer || self == .messageQueue || self == .asyncIO }

    /// `kill`, `sigqueue`, `kernel`, `timer`, `mq_notify`, `aio`, `tgkill`,
    /// or `code N` for the kernel's per-signal codes.
    public var description: String {
      switch self {
      case .user: "kill"
      case .kernel: "kernel"
      case .queue: "sigqueue"
      case .timer: "timer"
      case .messageQueue: "mq_notify"
      case .asyncIO: "aio"
      case .threadKill: "tgkill"
      default: "code \(rawValue)"
      }
    }
  }
}
