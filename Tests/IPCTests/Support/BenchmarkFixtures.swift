import CIPCShims
import Foundation
import IPC
import Testing

extension BenchmarkSmokeTests {
  struct Report: Decodable {
    struct Figure: Decodable {
      var median: Double
      var min: Double
      var max: Double
    }
    struct Row: Decodable {
      var name: String
      var mechanism: String
      var iterations: Int
      var c: Figure
      var swift: Figure
      var ratio: Figure
      var childExitStatuses: [Int32]
      var unit: String
      var baseline: String?
      var peers: Int?
      var cMessagesPerSecond: Double?
      var swiftMessagesPerSecond: Double?
      // Async rows only.
      var async: Bool?
      var blockingSwift: Figure?
      var asyncToBlocking: Figure?
      var blockingSwiftMessagesPerSecond: Double?
    }
    var cpus: Int
    var repetitions: Int
    var rows: [Row]
  }

  /// What a run of ipc-bench with this pid left behind: POSIX queues, named
  /// semaphores and FIFOs carry its pid in their names; a System V queue it
  /// used names it as the last sender or receiver, a semaphore set as the
  /// last process to operate on semaphore 1 (the parent's P), a shared
  /// memory segment as its creator.
  static func leftovers(of pid: pid_t) -> [String] {
    let prefix = "ipc-bench-\(pid)-"
    let files = FileManager.default
    var found = ((try? files.contentsOfDirectory(atPath: "/dev/mqueue")) ?? [])
      .filter { $0.hasPrefix(prefix) }.map { "/dev/mqueue/" + $0 }
    found += ((try? files.contentsOfDirectory(atPath: "/dev/shm")) ?? [])
      .filter { $0.hasPrefix("sem." + prefix) }.map { "/dev/shm/" + $0 }
    found += ((try? files.contentsOfDirectory(atPath: "/tmp")) ?? [])
      .filter { $0.hasPrefix(prefix) }.map { "/tmp/" + $0 }
    let queues = (try? procText("/proc/sysvipc/msg")) ?? ""
    for line in queues.split(separator: "\n").dropFirst() {
      let fields = line.split(separator: " ")
      // key msqid perms cbytes qnum lspid lrpid ...
      if fields.count > 6 && (fields[5] == "\(pid)" || fields[6] == "\(pid)") {
        found.append("System V queue \(fields[1])")
      }
    }
    let sets = (try? procText("/proc/sysvipc/sem")) ?? ""
    for line in sets.split(separator: "\n").dropFirst() {
      // key semid perms nsems ... (no pids: semctl GETPID has them)
      let fields = line.split(separator: " ")
      if fields.count > 3, let id = Int32(fields[1]), fields[3] == "2", cipc_semctl(id, 1, GETPID) == pid {
        found.append("System V semaphore set \(id)")
      }
    }
    let segments = (try? procText("/proc/sysvipc/shm")) ?? ""
    for line in segments.split(separator: "\n").dropFirst() {
      // key shmid perms size cpid lpid ...: ipc-bench makes every segment itself.
      let fields = line.split(separator: " ")
      if fields.count > 4 && fields[4] == "\(pid)" { found.append("System V segment \(fields[1])") }
    }
    return found
  }
}
