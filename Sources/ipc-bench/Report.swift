import FoundationEssentials
import Glibc
import IPCToolSupport

/// A median with the spread around it.
struct Figure: Codable {
  var median: Double
  var min: Double
  var max: Double

  init(_ values: [Double]) {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    min = sorted.first ?? 0
    max = sorted.last ?? 0
  }
}

/// The results of one row.
struct RowResult: Codable {
  var name: String
  /// The kernel mechanism: sysv-msg, posix-mq, named-pipe, anon-pipe, socketpair, sysv-sem, posix-sem,
  /// shm+sem, shm-ring, process.
  var mechanism: String
  var kind: String
  var messageBytes: Int
  var iterations: Int
  /// What the C and Swift figures measure.
  var unit: String
  /// The Swift side uses typed Codable messages against the raw C loop.
  var typed: Bool
  /// What the C column measures when it is another protocol than the Swift
  /// one ("Swift channel vs C spin ring"); absent when it is the same loop.
  var baseline: String?
  /// Child processes per measurement when more than one (the 2-producer rows).
  var peers: Int?
  var c: Figure
  var swift: Figure
  /// Swift time / C time, taken pair by pair over the repetitions.
  var ratio: Figure
  /// For throughput rows: messages per second from the medians.
  var cMessagesPerSecond: Double?
  var swiftMessagesPerSecond: Double?
  /// For throughput rows: megabytes (10^6) of message text per second.
  var cMegabytesPerSecond: Double?
  var swiftMegabytesPerSecond: Double?
  /// Async rows only (absent elsewhere): true; `swift` and `ratio` are then
  /// the async form's, awaited in a task, against the same C loop.
  var async: Bool?
  /// Async rows: the blocking Swift form, measured in the same repetitions.
  var blockingSwift: Figure?
  /// Async rows: async time / blocking Swift time, taken pair by pair.
  var asyncToBlocking: Figure?
  /// Async throughput rows: messages per second of the blocking Swift form.
  var blockingSwiftMessagesPerSecond: Double?
  /// Exit status of every child process of the row (0 = it finished its part);
  /// for `process spawn+wait`, one per measurement: that of the first of its
  /// children that failed, 0 if none did.
  var childExitStatuses: [Int32]
}

/// Everything one run measured.
struct BenchReport: Codable {
  var tool = "ipc-bench"
  var build: String
  var kernel: String
  var cpus: Int
  var pin: String
  var repetitions: Int
  var quick: Bool
  var rows: [RowResult]
}

enum Report {
  /// A line of progress on stderr.
  static func progress(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
  }

  static func json(_ report: BenchReport) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
  }

  static func table(_ report: BenchReport) -> String {
    var lines = [
      "ipc-bench: \(report.cpus) CPUs, --pin \(report.pin), \(report.repetitions) repetitions,"
        + " \(report.build) build, Linux \(report.kernel)\(report.quick ? ", quick" : "")",
      "figures: median [min-max]; Swift/C is taken pair by pair (goal ≤ 1.10 for raw bytes)",
    ]
    if report.rows.contains(where: { $0.async == true }) {
      lines.append(
        "async rows: Swift is the async form awaited in a task (the child blocks, as in the blocking row);"
          + " async/blocking, pair by pair, against the blocking Swift form measured beside it"
          + " (goal for throughput ≤ 1.25: ≥ 0.8× its rate)")
    }
    lines.append("")
    var table = [["row", "unit", "C", "Swift", "Swift/C"]]
    for row in report.rows {
      let (unit, scale) = (Row.Kind(rawValue: row.kind) ?? .throughput).tableUnit
      table.append([
        row.name + (row.typed ? " (Swift typed vs C raw)" : "") + (row.baseline.map { " (\($0))" } ?? ""),
        unit, format(row.c, scale: scale), format(row.swift, scale: scale), ratio(row.ratio),
      ])
      if let c = row.cMessagesPerSecond, let cMB = row.cMegabytesPerSecond,
        let swift = row.swiftMessagesPerSecond, let swiftMB = row.swiftMegabytesPerSecond
      {
        table.append([
          "", "rate", "\(millions(c)) M msg/s, \(number(cMB, 0)) MB/s",
          "\(millions(swift)) M msg/s, \(number(swiftMB, 0)) MB/s", "",
        ])
      }
      if let blocking = row.blockingSwift, let relative = row.asyncToBlocking {
        table.append([
          "", "blocking Swift", "", format(blocking, scale: scale), "async/blocking " + ratio(relative),
        ])
      }
    }
    lines += TextTable.lines(table, gap: 2)
    return lines.joined(separator: "\n")
  }

  private static func format(_ figure: Figure, scale: Double) -> String {
    // Idle rows are percentages of a CPU, well under 1: three decimals.
    let digits = figure.median * scale >= 100 ? 0 : figure.median * scale < 1 ? 3 : 1
    return "\(number(figure.median * scale, digits)) [\(number(figure.min * scale, digits))-"
      + "\(number(figure.max * scale, digits))]"
  }

  private static func ratio(_ figure: Figure) -> String {
    "\(number(figure.median, 2)) [\(number(figure.min, 2))-\(number(figure.max, 2))]"
  }

  private static func millions(_ value: Double) -> String { number(value / 1e6, 2) }

  /// `value` with `digits` decimals, without Foundation's formatters.
  static func number(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    guard digits > 0 else { return String(Int(rounded)) }
    let whole = Int(rounded)
    let fraction = Int(((rounded - Double(whole)) * scale).rounded())
    let fractionText = String(fraction)
    return "\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
  }
}
