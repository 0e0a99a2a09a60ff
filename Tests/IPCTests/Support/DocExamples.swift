import Foundation
import IPC

/// The `doc-examples` program: every ```swift block of README.md and Docs/*.md,
/// generated into one executable by Tests/DocExamplesPlugin.
enum DocExamples {
  static let program = Tools.productsDirectory + "/doc-examples"

  /// One ```swift block as the generator saw it (a line of `doc-examples --blocks`).
  struct Block: Sendable {
    /// The page, relative to the package root ("Docs/Pipes.md").
    var page: String
    /// The line of the opening fence.
    var line: Int
    /// `run`, `compile`, `part-of`, `manifest`.
    var kind: String
    /// The id of the example that runs it (for `run`), or the program's path (for `part-of`).
    var detail: String
  }

  /// The ids of the runnable examples (`doc-examples --list`), empty if the program cannot run.
  static let runnable: [String] = lines("--list")

  /// Every block (`doc-examples --blocks`), empty if the program cannot run.
  static let blocks: [Block] = lines("--blocks").compactMap { line in
    let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    guard fields.count == 4, let number = Int(fields[1]) else { return nil }
    return Block(page: fields[0], line: number, kind: fields[2], detail: fields[3])
  }

  /// The pages whose blocks the harness checks: README.md and Docs/*.md.
  static var pages: [String] {
    let guides = (try? FileManager.default.contentsOfDirectory(atPath: Tools.packageRoot + "/Docs")) ?? []
    return ["README.md"] + guides.filter { $0.hasSuffix(".md") }.sorted().map { "Docs/" + $0 }
  }

  private static func lines(_ option: String) -> [String] {
    guard let run = try? runToEnd(program, [option]), run.status == .exited(0) else { return [] }
    return run.output.split(separator: "\n").map(String.init)
  }

  /// How one run of an example ended.
  struct Run {
    /// nil if it was killed after the time limit.
    var status: ChildProcess.ExitStatus?
    var output: String
    var errors: String
  }

  /// Runs example `id` in a process group of its own; after `limit`, stops
  /// the group (the example and any child it started) as Ctrl-C would, with
  /// SIGTERM, so that an example under a `Supervisor` removes its objects,
  /// and with SIGKILL what is left 2 s later.
  static func run(_ id: String, limit: Duration = .seconds(60)) throws -> Run {
    let output = OutputFile()
    let errors = OutputFile()
    let example = try ChildProcess.start(
      executable: program, arguments: [id], standardInput: .null, standardOutput: .write(to: output.path),
      standardError: .write(to: errors.path), newProcessGroup: true)
    let status = try example.wait(timeout: limit)
    if status == nil {
      // Not yet reaped: the group still has its leader's id.
      kill(-example.pid, SIGTERM)
      if try example.wait(timeout: .seconds(2)) == nil { kill(-example.pid, SIGKILL) }
      _ = try example.wait()
      kill(-example.pid, SIGKILL)  // children that outlived the leader
    }
    return Run(status: status, output: output.text, errors: errors.text)
  }

  static let generator = Tools.productsDirectory + "/doc-examples-generator"

  /// Runs the generator on one page holding `text` (named page.md, in a folder
  /// of its own), returning its status, what it printed on error, and the
  /// Swift file it wrote for the page.
  static func generate(page text: String) throws -> (
    status: ChildProcess.ExitStatus, errors: String, swift: String
  ) {
    let folder = NSTemporaryDirectory() + "/ipc-doc-page-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try text.write(toFile: folder + "/page.md", atomically: true, encoding: .utf8)
    let errors = OutputFile()
    let run = try ChildProcess.start(
      executable: generator,
      arguments: [folder, folder + "/tables.swift", folder + "/page.md", folder + "/page.swift"],
      standardInput: .null, standardOutput: .null, standardError: .write(to: errors.path))
    let status = try run.wait()
    let swift = (try? String(contentsOfFile: folder + "/page.swift", encoding: .utf8)) ?? ""
    // Paths as the page's name, so callers need not know the folder.
    let relative = { (text: String) in text.replacingOccurrences(of: folder + "/", with: "") }
    return (status, relative(errors.text), relative(swift))
  }

  /// Evaluates `manifest` as the Package.swift of a package of its own
  /// (`swift package dump-package`), returning its status and what it printed
  /// on error.
  static func evaluate(manifest: String) throws -> (status: ChildProcess.ExitStatus, errors: String) {
    let folder = NSTemporaryDirectory() + "/ipc-doc-manifest-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try manifest.write(toFile: folder + "/Package.swift", atomically: true, encoding: .utf8)
    // SwiftPM leaves a lock file in TMPDIR: in the folder, it goes with it.
    try FileManager.default.createDirectory(atPath: folder + "/tmp", withIntermediateDirectories: true)
    let errors = OutputFile()
    let swift = try ChildProcess.start(
      executable: "swift", arguments: ["package", "dump-package", "--package-path", folder],
      environment: .inherit(updating: ["TMPDIR": folder + "/tmp"]), standardInput: .null,
      standardOutput: .null,
      standardError: .write(to: errors.path))
    return (try swift.wait(), errors.text)
  }
}
