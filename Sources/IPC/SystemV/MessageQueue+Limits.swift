import Synchronization

extension SystemV.MessageQueue {
  /// The system's message queue limits, read from /proc/sys/kernel at run time.
  ///
  /// Linux lets an administrator change them while programs run, so they are
  /// never frozen at build time.
  public struct Limits: Hashable, Sendable {
    /// The largest message text, in bytes (`msgmax`, /proc/sys/kernel/msgmax).
    public var maxMessageSize: Int
    /// The byte limit new queues get (`msgmnb`, /proc/sys/kernel/msgmnb).
    public var defaultMaxBytes: Int
    /// The most queues the system holds (`msgmni`, /proc/sys/kernel/msgmni).
    public var maxQueues: Int

    /// Reads the limits now. Falls back to Linux's defaults (8192, 16384,
    /// 32000) where /proc is not mounted.
    public static func current() -> Limits {
      let limits = Limits(
        maxMessageSize: ProcFile.integer("/proc/sys/kernel/msgmax") ?? 8192,
        defaultMaxBytes: ProcFile.integer("/proc/sys/kernel/msgmnb") ?? 16384,
        maxQueues: ProcFile.integer("/proc/sys/kernel/msgmni") ?? 32000)
      cachedMaxMessageSize.store(limits.maxMessageSize, ordering: .relaxed)
      return limits
    }

    /// `msgmax` as last read, so a receive does not open a file per message.
    ///
    /// A receive that finds a longer message re-reads the limit and retries.
    static var maxMessageSize: Int {
      let cached = cachedMaxMessageSize.load(ordering: .relaxed)
      return cached > 0 ? cached : current().maxMessageSize
    }
  }
}

private let cachedMaxMessageSize = Atomic<Int>(0)
