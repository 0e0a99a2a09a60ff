import Foundation
import IPC
import Testing

/// `--open-existing` opens the object as it is: an option that describes it
/// must match it, or the command fails (exit 1, one line naming the option and
/// the object's value) and changes nothing.
@Suite("CLI --open-existing")
struct CLIOpenExistingTests {
  /// A kind of object made with `create` options, options that differ from
  /// what it has (with the value the error must name), and options that match.
  struct Case: CustomTestStringConvertible, Sendable {
    var kind: CLIGrammarTests.Kind
    var create: [String]
    var differing: [(options: [String], actual: String)]
    var matching: [String]
    /// What an open needs besides the name (a set's count).
    var required: [String] = []
    var testDescription: String { "\(kind.group) \(create)" }
  }

  static let cases: [Case] = {
    let kinds = CLIGrammarTests.kinds  // msg, sem, shm (System V), shm (POSIX), mq, psem, fifo
    let mode = (["--mode", "0640"], "mode 0600")
    return [
      Case(
        kind: kinds[0], create: ["--max-bytes", "1000"],
        differing: [(["--max-bytes", "100"], "1000 bytes"), mode],
        matching: ["--max-bytes", "1000", "--mode", "0600"]),
      Case(
        kind: kinds[1], create: ["--values", "2,0"], differing: [(["--count", "3"], "2 semaphores"), mode],
        matching: ["--mode", "0600"], required: ["--count", "2"]),
      Case(
        kind: kinds[2], create: ["--size", "64"], differing: [(["--size", "128"], "64 bytes"), mode],
        matching: ["--mode", "0600"], required: ["--size", "64"]),
      Case(
        kind: kinds[3], create: ["--size", "64"], differing: [(["--size", "128"], "64 bytes"), mode],
        matching: ["--mode", "0600"], required: ["--size", "64"]),
      Case(
        kind: kinds[4], create: ["--max-messages", "5", "--message-size", "64"],
        differing: [(["--max-messages", "3"], "5 messages"), (["--message-size", "7"], "64 bytes"), mode],
        matching: ["--max-messages", "5", "--message-size", "64", "--mode", "0600"]),
      Case(kind: kinds[5], create: [], differing: [mode], matching: ["--mode", "0600"]),
      Case(kind: kinds[6], create: [], differing: [mode], matching: ["--mode", "0600"]),
    ]
  }()

  @Test(arguments: cases)
  func anOptionThatDiffersFromTheExistingObjectFailsAndChangesNothing(test: Case) throws {
    let kind = test.kind
    let name = kind.name()
    defer { kind.cleanUp(name) }
    let made = try SpawnedProcess.run(Tools.ipc, [kind.group, "create"] + name + test.create)
    try #require(made.exitStatus == 0, "\(made.standardError)")
    let hasStat = ["msg", "sem", "shm", "mq"].contains(kind.group)
    let before = hasStat ? try SpawnedProcess.run(Tools.ipc, [kind.group, "stat"] + name).standardOutput : ""
    for (options, actual) in test.differing {
      let required = options[0] == test.required.first ? [] : test.required
      let arguments = [kind.group, "create"] + name + ["--open-existing"] + required + options
      let run = try SpawnedProcess.run(Tools.ipc, arguments)
      #expect(run.exitStatus == 1, "\(arguments): \(run.standardError)")
      #expect(run.standardOutput.isEmpty, "\(arguments): \(run.standardOutput)")
      #expect(run.standardError.split(separator: "\n").count == 1, "\(arguments): \(run.standardError)")
      #expect(
        run.standardError.hasPrefix("ipc \(kind.group) create: \(options[0]) "),
        "\(arguments): \(run.standardError)")
      #expect(run.standardError.contains("which has \(actual)"), "\(arguments): \(run.standardError)")
      #expect(kind.exists(name))
    }
    if hasStat {
      let after = try SpawnedProcess.run(Tools.ipc, [kind.group, "stat"] + name).standardOutput
      #expect(after == before, "the object changed")
    }
    if kind.group == "fifo" {
      var status = stat()
      #expect(stat(name[0], &status) == 0 && status.st_mode & 0o777 == 0o600)
    }
    let arguments = [kind.group, "create"] + name + ["--open-existing"] + test.required + test.matching
    let open = try SpawnedProcess.run(Tools.ipc, arguments)
    #expect(open.exitStatus == 0, "\(arguments): \(open.standardError)")
  }
}
