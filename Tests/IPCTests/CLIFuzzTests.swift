import Foundation
import IPC
import Testing

/// A seeded fuzz test of the `ipc` command line: random words from its own
/// vocabulary and hostile values, given to commands that only read, must end
/// in exit status 0, 1 or 2, never in a trap, and a usage error is one line.
@Suite("ipc command-line fuzzing")
struct CLIFuzzTests {
  /// SplitMix64: the same runs every time, so a failure can be replayed.
  struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  /// Commands that never make, change or wait for anything.
  static let commands: [[String]] = [
    ["list"], ["limits"], ["msg", "stat"], ["msg", "peek"], ["sem", "get"], ["sem", "stat"], ["shm", "read"],
    ["shm", "stat"], ["mq", "stat"], ["psem", "value"], ["msg"], ["demo", "bounded-buffer", "--items"], [],
  ]

  static let options = [
    "--key", "--id", "--path", "--project", "--index", "--offset", "--length", "--hex", "--raw", "--json",
    "-q",
    "-s", "-m", "-qsm", "-x", "--type", "--timeout", "--nowait", "--open-existing", "--", "-", "--=", "--id=",
    "--index=-1", "--bogus", "-h2",
  ]

  static let values = [
    "0", "-1", "1", "0x0", "0x7fffffff", "2147483648", "-2147483649", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "1e308", "nan", "inf", "", " ", "x", "/", "/nope", "//",
    "é", "\u{7f}", "0:-1", "00ff", String(repeating: "9", count: 400), String(repeating: "/a", count: 200),
  ]

  /// 150 rounds from seed 0x12345 in the suite; a long run sets
  /// `IPC_FUZZ_ROUNDS` (and `IPC_FUZZ_SEED`, in hex) in the environment.
  static let rounds = ProcessInfo.processInfo.environment["IPC_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 150
  static let seed =
    ProcessInfo.processInfo.environment["IPC_FUZZ_SEED"].flatMap { UInt64($0, radix: 16) } ?? 0x1_2345

  @Test func randomArgumentsNeverTrap() throws {
    var generator = SeededGenerator(state: Self.seed)
    for round in 0..<Self.rounds {
      var words = Self.commands.randomElement(using: &generator) ?? []
      for _ in 0..<Int.random(in: 0...5, using: &generator) {
        if Bool.random(using: &generator) {
          words.append(Self.options.randomElement(using: &generator) ?? "")
        }
        words.append(Self.values.randomElement(using: &generator) ?? "")
      }
      let run = try SpawnedProcess.run(Tools.ipc, words, timeout: .seconds(20))
      #expect(run.terminatingSignal == nil, "round \(round): \(words) killed by signal")
      let status = try #require(run.exitStatus, "round \(round): \(words)")
      #expect([0, 1, 2].contains(status), "round \(round): \(words): \(status) \(run.standardError)")
      if status == 2 {
        #expect(
          run.standardError.split(separator: "\n").count == 1,
          "round \(round): \(words): \(run.standardError)")
      }
      if status != 0 { #expect(!run.standardError.isEmpty, "round \(round): \(words)") }
    }
  }
}
