import CIPCShims
import Foundation
import Testing

/// ipc-bench runs end to end: every row present, every figure positive, every
/// child process finished its part. No thresholds on time: speed is measured
/// by the benchmark itself, never by tests.
@Suite("ipc-bench smoke test")
struct BenchmarkSmokeTests {
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
      var cMessagesPerSecond: Double?
      var swiftMessagesPerSecond: Double?
    }
    var cpus: Int
    var repetitions: Int
    var rows: [Row]
  }

  @Test func quickJSONRunHasEveryRowWithPositiveFiguresAndCleanChildren() throws {
    let bench = try SpawnedProcess.run(
      Tools.productsDirectory + "/ipc-bench", ["--quick", "--json", "--repeat", "1", "--pin", "none"],
      timeout: .seconds(120))
    #expect(bench.exitStatus == 0, "\(bench.standardError)")
    let report = try JSONDecoder().decode(Report.self, from: Data(bench.standardOutput.utf8))
    #expect(report.repetitions == 1)
    #expect(report.cpus >= 1)
    #expect(
      report.rows.map(\.name) == [
        "sysv-msg round trip 64 B", "sysv-msg throughput 64 B", "sysv-msg throughput 4 KiB",
        "sysv-msg typed Codable round trip",
        "posix-mq round trip 64 B", "posix-mq throughput 64 B", "posix-mq throughput 4 KiB",
        "named-pipe round trip 64 B", "named-pipe throughput 64 B",
        "anon-pipe round trip 64 B", "anon-pipe throughput 64 B", "anon-pipe throughput 4 KiB",
        "socketpair round trip 64 B", "socketpair throughput 64 B",
        "sysv-sem round trip", "posix-sem round trip",
        "shm+sem throughput 64 B", "shm+sem throughput 4 KiB", "shm-ring throughput 64 B",
        "process spawn+wait",
      ])
    for row in report.rows {
      #expect(row.name.hasPrefix(row.mechanism + " "))
      for figure in [row.c, row.swift, row.ratio] {
        #expect(figure.min > 0 && figure.min <= figure.median && figure.median <= figure.max, "\(row.name)")
      }
      #expect(row.iterations > 0)
      // A warm-up run per implementation, then one run per implementation and
      // repetition, each with a child (spawn+wait: each with children that
      // all exited with 0).
      #expect(row.childExitStatuses == [0, 0, 0, 0], "\(row.name)")
      if row.name.contains("throughput") {
        #expect((row.cMessagesPerSecond ?? 0) > 0)
        #expect((row.swiftMessagesPerSecond ?? 0) > 0, "\(row.name)")
      }
    }
    #expect(bench.standardError.contains("[20/20] process spawn+wait"))
    #expect(Self.leftovers(of: bench.pid) == [])
  }

  // Kernel queues and semaphores, then shared memory (a segment and a set,
  // or a segment alone for the ring that spins).
  @Test(arguments: ["round trip 64 B", "shm"])
  func interruptedRunRemovesItsObjectsAndEndsItsChild(filter: String) throws {
    // Long enough to be caught in the middle of a measurement.
    let bench = try SpawnedProcess(
      Tools.productsDirectory + "/ipc-bench", ["--filter", filter, "--repeat", "50"])
    _ = eventually(within: .seconds(30)) { bench.standardError.contains("repetition 1 of") }
    let children = Self.children(of: bench.pid)
    kill(bench.pid, SIGTERM)
    bench.wait(timeout: .seconds(10))
    #expect(bench.terminatingSignal == SIGTERM, "\(bench.standardError)")
    #expect(Self.leftovers(of: bench.pid) == [])
    for child in children {
      // Killed by the handler; init reaps it.
      let gone = (0..<1000).contains { _ in
        let state = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)
        if state == nil || state!.contains(") Z ") { return true }
        usleep(5_000)
        return false
      }
      #expect(gone, "child \(child) of ipc-bench outlived it")
    }
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
    let queues = (try? String(contentsOfFile: "/proc/sysvipc/msg", encoding: .utf8)) ?? ""
    for line in queues.split(separator: "\n").dropFirst() {
      let fields = line.split(separator: " ")
      // key msqid perms cbytes qnum lspid lrpid ...
      if fields.count > 6 && (fields[5] == "\(pid)" || fields[6] == "\(pid)") {
        found.append("System V queue \(fields[1])")
      }
    }
    let sets = (try? String(contentsOfFile: "/proc/sysvipc/sem", encoding: .utf8)) ?? ""
    for line in sets.split(separator: "\n").dropFirst() {
      // key semid perms nsems ... (no pids: semctl GETPID has them)
      let fields = line.split(separator: " ")
      if fields.count > 3, let id = Int32(fields[1]), fields[3] == "2", cipc_semctl(id, 1, GETPID) == pid {
        found.append("System V semaphore set \(id)")
      }
    }
    let segments = (try? String(contentsOfFile: "/proc/sysvipc/shm", encoding: .utf8)) ?? ""
    for line in segments.split(separator: "\n").dropFirst() {
      // key shmid perms size cpid lpid ...: ipc-bench makes every segment itself.
      let fields = line.split(separator: " ")
      if fields.count > 4 && fields[4] == "\(pid)" { found.append("System V segment \(fields[1])") }
    }
    return found
  }

  /// The pids of the children of `pid`.
  static func children(of pid: pid_t) -> [pid_t] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.flatMap { task in
      let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
      return text.split(separator: " ").compactMap {
        pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines))
      }
    }
  }

  @Test func usageErrorsExitWith2AndHelpWith0() throws {
    let bench = Tools.productsDirectory + "/ipc-bench"
    #expect(try SpawnedProcess.run(bench, ["--pin", "sideways"]).exitStatus == 2)
    #expect(try SpawnedProcess.run(bench, ["--filter", "no such row"]).exitStatus == 2)
    let help = try SpawnedProcess.run(bench, ["--help"])
    #expect(help.exitStatus == 0)
    #expect(help.standardOutput.contains("usage: ipc-bench"))
  }
}
