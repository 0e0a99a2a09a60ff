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
      ])
    for row in report.rows {
      for figure in [row.c, row.swift, row.ratio] {
        #expect(figure.min > 0 && figure.min <= figure.median && figure.median <= figure.max, "\(row.name)")
      }
      #expect(row.iterations > 0)
      // Two warm-up runs, then a C and a Swift run per repetition, each with a child.
      #expect(row.childExitStatuses == [0, 0, 0, 0], "\(row.name)")
      if row.name.contains("throughput") {
        #expect((row.cMessagesPerSecond ?? 0) > 0 && (row.swiftMessagesPerSecond ?? 0) > 0)
      }
    }
    #expect(bench.standardError.contains("[4/4] sysv-msg typed Codable round trip"))
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
