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
    /// Unsigned: shmmax and shmall are unsigned longs, above `Int.max` by default.
    var value: UInt64?
    var file: String
    var meaning: String
  }

  static let command = Command(
    "ipc limits", abstract: "show every System V and POSIX IPC limit in force and the file that tunes it",
    options: [CommonOptions.json],
    discussion: """
      Files under /proc/sys are changed by root with sysctl or by writing to them (echo 16384 > /proc/sys/kernel/msgmax); 'fixed' limits are compiled into the kernel or the C library. With --json the output is an array of objects with family, name, value (a number, null when unlimited), file and meaning.
      Exit status: 0 success, 2 usage error.
      """, body: run)

  /// The limits now, read through the library.
  static func current() -> [Limit] {
    let message = SystemV.MessageQueue.Limits.current()
    let semaphore = SystemV.SemaphoreSet.Limits.current()
    let shared = SystemV.SharedMemory.Limits.current()
    let queue = POSIX.MessageQueue.Limits.current()
    let sem = SystemV.SemaphoreSet.Limits.path
    let mq = "/proc/sys/fs/mqueue/"
    let page = sysconf(Int32(_SC_PAGESIZE))
    // (name, value, the file that tunes it, what it bounds), in the order `ipcs -l` shows them.
    let systemV: [(String, Int?, String, String)] = [
      ("msgmax", message.maxMessageSize, "/proc/sys/kernel/msgmax", "largest message, in bytes"),
      (
        "msgmnb", message.defaultMaxBytes, "/proc/sys/kernel/msgmnb",
        "bytes a new queue may hold (msg_qbytes; raising one queue's needs CAP_SYS_RESOURCE)"
      ),
      ("msgmni", message.maxQueues, "/proc/sys/kernel/msgmni", "most message queues on the system"),
      ("semmsl", semaphore.maxPerSet, "\(sem) (field 1)", "most semaphores in one set"),
      ("semmns", semaphore.maxSystemWide, "\(sem) (field 2)", "most semaphores in all sets"),
      ("semopm", semaphore.maxOperationsPerCall, "\(sem) (field 3)", "most operations in one semop"),
      ("semmni", semaphore.maxSets, "\(sem) (field 4)", "most semaphore sets on the system"),
      ("semvmx", SystemV.SemaphoreSet.Limits.maxValue, "fixed", "largest value of a semaphore"),
      (
        "shmmax", shared.maxSegmentSize, SystemV.SharedMemory.Limits.maxSegmentSizePath,
        "largest segment, in bytes"
      ),
      (
        "shmall", shared.maxTotalPages, SystemV.SharedMemory.Limits.maxTotalPagesPath,
        "most pages of all segments together (a page is \(page) bytes)"
      ),
      (
        "shmmni", shared.maxSegments, SystemV.SharedMemory.Limits.maxSegmentsPath,
        "most segments on the system"
      ),
      ("shmmin", 1, "fixed", "smallest segment, in bytes"),
    ]
    let posix: [(String, Int?, String, String)] = [
      (
        "msg_max", queue.maxMessages, mq + "msg_max", "most messages an unprivileged process may give a queue"
      ),
      (
        "msgsize_max", queue.maxMessageSize, mq + "msgsize_max",
        "largest message size an unprivileged process may give a queue"
      ),
      (
        "msg_default", queue.defaultMaxMessages, mq + "msg_default",
        "messages a queue holds when created without --max-messages"
      ),
      (
        "msgsize_default", queue.defaultMessageSize, mq + "msgsize_default",
        "message size of a queue created without --message-size"
      ),
      (
        "queues_max", queue.maxQueues, mq + "queues_max",
        "most message queues on the system for unprivileged creators"
      ),
      (
        "rlimit_msgqueue", queue.bytesPerUser, "ulimit -q (RLIMIT_MSGQUEUE)",
        "bytes of queue memory this user may hold (unlimited: no limit)"
      ),
      ("mq_prio_max", queue.priorityLimit, "fixed", "priorities run from 0 up to, not including, this"),
      ("sem_value_max", POSIX.Semaphore.maxValue, "fixed", "largest value of a named semaphore"),
      (
        "dev_shm_bytes", devShmBytes(), "/dev/shm (tmpfs size= mount option)",
        "room for POSIX shared memory and named semaphores, in bytes"
      ),
    ]
    // The library's Int API clamps shmmax and shmall at Int.max; shown here as the kernel holds them.
    let unsigned = [
      "shmmax": SystemV.SharedMemory.Limits.maxSegmentSizePath,
      "shmall": SystemV.SharedMemory.Limits.maxTotalPagesPath,
    ]
    return [("System V", systemV), ("POSIX", posix)].flatMap { family, rows in
      rows.map { row in
        let value = unsigned[row.0].flatMap(readUnsigned) ?? row.1.map { UInt64(clamping: $0) }
        return Limit(family: family, name: row.0, value: value, file: row.2, meaning: row.3)
      }
    }
  }

  /// The unsigned number in the file at `path`, nil if it cannot be read.
  private static func readUnsigned(_ path: String) -> UInt64? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 64)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return UInt64(text.trimmingPrefix(" ").prefix { $0.isNumber })
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
          ("value", limit.value.map(JSONValue.unsigned) ?? .null), ("file", .string(limit.file)),
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
