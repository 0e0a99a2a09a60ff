import CIPCBench
import Glibc
import IPC
import IPCToolSupport

/// ipc-bench: every mechanism through the Swift layer and through plain C, in one run.
// The signal row's two real-time signals are blocked first, before any thread
// starts, in the parent and in every child (which starts with none blocked).
do {
  try SignalFixture.blockSignals()
} catch {
  Report.progress("ipc-bench: cannot block the signal row's signals: \(error)")
  exit(1)
}
// No owner records: every object is registered with cleanup.c, which removes
// it with the raw calls (also from a signal handler) and would leave its record.
OwnerRecords.isEnabled = false
// A peer started by `Runner.measure` runs its part here and exits.
EntryPoints([Runner.childEntryPoint: Runner.runChild]).runIfChild()

let arguments = Array(CommandLine.arguments.dropFirst())
if CommandSpec.wantsHelp(arguments) {
  print(Options.spec.help)
  exit(0)
}
let options: Options
do {
  options = try Options.parse(arguments)
} catch {
  Report.progress(error.line(in: "ipc-bench"))
  exit(2)
}

let cpuCount = Runner.cpuCount  // before any pinning
let rows = Rows.all.filter { row in options.filter.map { row.name.contains($0) } ?? !row.onRequest }
guard !rows.isEmpty else {
  Report.progress("ipc-bench: no row matches --filter \(options.filter ?? "")")
  exit(2)
}

// Objects of an interrupted measurement are removed, its child killed.
guard cipcb_cleanup_install() == 0 else {
  Report.progress("ipc-bench: cannot install the signal handlers")
  exit(1)
}

var results: [RowResult] = []
do {
  for (index, row) in rows.enumerated() {
    let iterations = options.quick ? row.quickIterations : row.iterations
    let label = "[\(index + 1)/\(rows.count)] \(row.name)"
    let columns = row.columns
    Report.progress("\(label): warm-up")
    var statuses: [Int32] = []
    for column in columns {
      let warm = try Runner.measure(
        row, column, iterations: max(iterations / 10, 100), pinning: options.pinning)
      statuses += warm.childStatuses
    }
    var figures: [Column: [Double]] = [:]
    for repetition in 0..<options.repetitions {
      Report.progress("\(label): repetition \(repetition + 1) of \(options.repetitions)")
      // Rotate which goes first, so a drift in the machine hits every column alike.
      let first = repetition % columns.count
      for column in columns[first...] + columns[..<first] {
        let run = try Runner.measure(row, column, iterations: iterations, pinning: options.pinning)
        statuses += run.childStatuses
        figures[column, default: []].append(run.nanoseconds)
      }
    }
    let c = figures[.c] ?? []
    // An async row's Swift figure is its async form; the blocking one is beside it.
    let swift = figures[row.pattern.isAsync ? .async : .swift] ?? []
    // An idle row's C figure may be close to 0 ns of CPU: at least 1, so a ratio stays finite.
    let ratios = zip(swift, c).map { $0 / max($1, 1) }
    var result = RowResult(
      name: row.name, mechanism: row.mechanism.rawValue, kind: row.kind.rawValue, messageBytes: row.size,
      iterations: iterations, unit: row.kind.unit,
      typed: row.typed, c: Figure(c), swift: Figure(swift), ratio: Figure(ratios),
      childExitStatuses: statuses)
    result.baseline = row.baseline
    result.peers = row.peers > 1 ? row.peers : nil
    if row.kind == .throughput {
      result.cMessagesPerSecond = 1e9 / result.c.median
      result.cMegabytesPerSecond = Double(row.size) * 1e3 / result.c.median
      result.swiftMessagesPerSecond = 1e9 / result.swift.median
      result.swiftMegabytesPerSecond = Double(row.size) * 1e3 / result.swift.median
    }
    if row.pattern.isAsync, let blocking = figures[.swift] {
      result.async = true
      result.blockingSwift = Figure(blocking)
      result.asyncToBlocking = Figure(zip(swift, blocking).map { $0 / $1 })
      if row.kind == .throughput { result.blockingSwiftMessagesPerSecond = 1e9 / Figure(blocking).median }
    }
    results.append(result)
    Report.progress(
      "\(label): Swift/C \(Report.number(result.ratio.median, 2))"
        + (result.asyncToBlocking.map { ", async/blocking \(Report.number($0.median, 2))" } ?? ""))
  }
} catch {
  Report.progress("ipc-bench: \(error)")
  exit(1)
}

var system = utsname()
uname(&system)
let kernel = withUnsafeBytes(of: system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
#if DEBUG
  let build = "debug"
#else
  let build = "release"
#endif
let report = BenchReport(
  build: build, kernel: kernel, cpus: cpuCount, pin: options.pinning.rawValue,
  repetitions: options.repetitions, quick: options.quick, rows: results)
print(options.json ? Report.json(report) : Report.table(report))
let failedChildren = results.flatMap(\.childExitStatuses).filter { $0 != 0 }
exit(failedChildren.isEmpty ? 0 : 1)
