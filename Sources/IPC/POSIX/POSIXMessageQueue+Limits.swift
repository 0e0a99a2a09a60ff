import Glibc

extension POSIX.MessageQueue {
  /// The system's POSIX queue limits, read from /proc/sys/fs/mqueue and the
  /// process's resource limits at run time, never frozen at build time.
  public struct Limits: Hashable, Sendable {
    /// The most messages an unprivileged process may give a queue (`msg_max`).
    public var maxMessages: Int
    /// The largest message size an unprivileged process may give a queue (`msgsize_max`).
    public var maxMessageSize: Int
    /// `mq_maxmsg` of a queue created without attributes (`msg_default`).
    public var defaultMaxMessages: Int
    /// `mq_msgsize` of a queue created without attributes (`msgsize_default`).
    public var defaultMessageSize: Int
    /// The most queues on the system for unprivileged creators (`queues_max`).
    public var maxQueues: Int
    /// Bytes of queue memory this user may hold (`RLIMIT_MSGQUEUE`, `ulimit -q`);
    /// nil when unlimited.
    public var bytesPerUser: Int?
    /// Priorities run from 0 up to, not including, this (`MQ_PRIO_MAX`, 32768 on Linux).
    public var priorityLimit: Int

    /// Reads the limits now. Falls back to Linux's defaults where /proc is not mounted.
    public static func current() -> Limits {
      var limit = rlimit()
      let bytes: Int? =
        getrlimit(__rlimit_resource_t(__RLIMIT_MSGQUEUE.rawValue), &limit) == 0
          && limit.rlim_cur != rlim_t.max ? Int(limit.rlim_cur) : nil
      return Limits(
        maxMessages: ProcFile.integer(Self.path("msg_max")) ?? 10,
        maxMessageSize: ProcFile.integer(Self.path("msgsize_max")) ?? 8192,
        defaultMaxMessages: ProcFile.integer(Self.path("msg_default")) ?? 10,
        defaultMessageSize: ProcFile.integer(Self.path("msgsize_default")) ?? 8192,
        maxQueues: ProcFile.integer(Self.path("queues_max")) ?? 256,
        bytesPerUser: bytes,
        priorityLimit: POSIX.MessageQueue.priorityLimit)
    }

    /// The file under /proc/sys/fs/mqueue that holds `setting`.
    static func path(_ setting: String) -> String { "/proc/sys/fs/mqueue/\(setting)" }
  }

  /// `sysconf(_SC_MQ_PRIO_MAX)`: a property of the running system that cannot
  /// change while it runs, so it is read once.
  static let priorityLimit: Int = {
    let value = sysconf(Int32(_SC_MQ_PRIO_MAX))
    return value > 0 ? value : 32768
  }()
}
