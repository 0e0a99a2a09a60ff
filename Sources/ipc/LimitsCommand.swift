import Glibc
import IPC
import IPCToolSupport

/// `ipc limits`: every System V and POSIX IPC limit in force (as `ipcs -l`,
/// and the POSIX ones it does not show), each with the file that tunes it.
enum LimitsCommand {
  /// One limit: its kernel name, value (nil: unlimited), where it is set, and what it bounds.
  struct Limit {
    var family: String
    var name: String
    var value: Int?
    var file: String
    var meaning: String
  }

  static let command = Command(
    spec: CommandSpec(
      "ipc limits", abstract: "show every System V and POSIX IPC limit in force and the file that tunes it",
      options: [CommonOptions.json],
      discussion: """
        Files under /proc/sys are changed by root with sysctl or by writing to them (echo 16384 > /proc/sys/kernel/msgmax); 'fixed' limits are compiled into the kernel or the C library. With --json the output is an array of objects with family, name, value (a number, null when unlimited), file and meaning.
        Exit status: 0 success, 2 usage error.
        """),
    body: run)

  /// The limits now, read through the library.
  static func current() -> [Limit] {
    let message = SystemV.MessageQueue.Limits.current()
    let semaphore = SystemV.SemaphoreSet.Limits.current()
    let shared = SystemV.SharedMemory.Limits.current()
    let queue = POSIX.MessageQueue.Limits.current()
    let sem = SystemV.SemaphoreSet.Limits.path
    let mq = "/proc/sys/fs/mqueue/"
    let systemV = "System V"
    let posix = "POSIX"
    return [
      Limit(
        family: systemV, name: "msgmax", value: message.maxMessageSize, file: "/proc/sys/kernel/msgmax",
        meaning: "largest message, in bytes"),
      Limit(
        family: systemV, name: "msgmnb", value: message.defaultMaxBytes, file: "/proc/sys/kernel/msgmnb",
        meaning: "bytes a new queue may hold (msg_qbytes; raising one queue's needs CAP_SYS_RESOURCE)"),
      Limit(
        family: systemV, name: "msgmni", value: message.maxQueues, file: "/proc/sys/kernel/msgmni",
        meaning: "most message queues on the system"),
      Limit(
        family: systemV, name: "semmsl", value: semaphore.maxPerSet, file: "\(sem) (field 1)",
        meaning: "most semaphores in one set"),
      Limit(
        family: systemV, name: "semmns", value: semaphore.maxSystemWide, file: "\(sem) (field 2)",
        meaning: "most semaphores in all sets"),
      Limit(
        family: systemV, name: "semopm", value: semaphore.maxOperationsPerCall, file: "\(sem) (field 3)",
        meaning: "most operations in one semop"),
      Limit(
        family: systemV, name: "semmni", value: semaphore.maxSets, file: "\(sem) (field 4)",
        meaning: "most semaphore sets on the system"),
      Limit(
        family: systemV, name: "semvmx", value: SystemV.SemaphoreSet.Limits.maxValue, file: "fixed",
        meaning: "largest value of a semaphore"),
      Limit(
        family: systemV, name: "shmmax", value: shared.maxSegmentSize,
        file: SystemV.SharedMemory.Limits.maxSegmentSizePath,
        meaning: "largest segment, in bytes"),
      Limit(
        family: systemV, name: "shmall", value: shared.maxTotalPages,
        file: SystemV.SharedMemory.Limits.maxTotalPagesPath,
        meaning: "most pages of all segments together (a page is \(sysconf(Int32(_SC_PAGESIZE))) bytes)"),
      Limit(
        family: systemV, name: "shmmni", value: shared.maxSegments,
        file: SystemV.SharedMemory.Limits.maxSegmentsPath,
        meaning: "most segments on the system"),
      Limit(family: systemV, name: "shmmin", value: 1, file: "fixed", meaning: "smallest segment, in bytes"),
      Limit(
        family: posix, name: "msg_max", value: queue.maxMessages, file: mq + "msg_max",
        meaning: "most messages an unprivileged process may give a queue"),
      Limit(
        family: posix, name: "msgsize_max", value: queue.maxMessageSize, file: mq + "msgsize_max",
        meaning: "largest message size an unprivileged process may give a queue"),
      Limit(
        family: posix, name: "msg_default", value: queue.defaultMaxMessages, file: mq + "msg_default",
        meaning: "messages a queue holds when created without --max-messages"),
      Limit(
        family: posix, name: "msgsize_default", value: queue.defaultMessageSize, file: mq + "msgsize_default",
        meaning: "message size of a queue created without --message-size"),
      Limit(
        family: posix, name: "queues_max", value: queue.maxQueues, file: mq + "queues_max",
        meaning: "most message queues on the system for unprivileged creators"),
      Limit(
        family: posix, name: "rlimit_msgqueue", value: queue.bytesPerUser,
        file: "ulimit -q (RLIMIT_MSGQUEUE)",
        meaning: "bytes of queue memory this user may hold (unlimited: no limit)"),
      Limit(
        family: posix, name: "mq_prio_max", value: queue.priorityLimit, file: "fixed",
        meaning: "priorities run from 0 up to, not including, this"),
      Limit(
        family: posix, name: "sem_value_max", value: POSIX.Semaphore.maxValue, file: "fixed",
        meaning: "largest value of a named semaphore"),
      Limit(
        family: posix, name: "dev_shm_bytes", value: devShmBytes(),
        file: "/dev/shm (tmpfs size= mount option)",
        meaning: "room for POSIX shared memory and named semaphores, in bytes"),
    ]
  }

  /// The size of the filesystem at /dev/shm, nil if it cannot be read.
  private static func devShmBytes() -> Int? {
    var info = statvfs()
    guard statvfs("/dev/shm", &info) == 0 else { return nil }
    let (bytes, overflow) = Int(clamping: info.f_blocks).multipliedReportingOverflow(
      by: Int(clamping: info.f_frsize))
    return overflow ? Int.max : bytes
  }

  private static func run(_ parsed: ParsedArguments) throws {
    let limits = current()
    if parsed[CommonOptions.json] {
      let objects = limits.map { limit in
        JSONValue.object([
          ("family", .string(limit.family)), ("name", .string(limit.name)),
          ("value", limit.value.map(JSONValue.number) ?? .null), ("file", .string(limit.file)),
          ("meaning", .string(limit.meaning)),
        ])
      }
      Output.line(JSONValue.array(objects).rendered())
      return
    }
    for family in ["System V", "POSIX"] {
      Output.line("------ \(family) limits ------")
      let rows = limits.filter { $0.family == family }.map { limit in
        [limit.name, limit.value.map { "\($0)" } ?? "unlimited", limit.file, limit.meaning]
      }
      TextTable.lines([["NAME", "VALUE", "SET IN", "MEANING"]] + rows).forEach(Output.line)
    }
  }
}
