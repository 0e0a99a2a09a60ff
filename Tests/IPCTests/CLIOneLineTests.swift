import Foundation
import IPC
import Testing

/// A usage error is one line however the user's words are made: control
/// characters in a quoted word are shown as escapes.
@Suite("CLI one-line usage errors")
struct CLIOneLineTests {
  @Test(arguments: [
    ["msg", "send", "--key", "1", "--type", "1\n2", "x"],
    ["ms\ng"],
    ["msg", "se\nnd"],
    ["-\u{1B}[2J"],
    ["msg", "send", "--key", "1", "--ty\tpe=3", "x"],
    ["sem", "op", "--key", "1", "0:\r1"],
  ])
  func controlCharactersInAWordAreEscaped(arguments: [String]) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments)
    #expect(!run.standardError.dropLast().contains { $0.isNewline }, "\(run.standardError)")
    #expect(!run.standardError.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\t" || $0 == "\r" })
  }

  @Test func theEscapeNamesTheCharacter() throws {
    let run = try SpawnedProcess.run(Tools.ipc, ["ms\ng\u{1B}"])
    #expect(run.standardError.contains("'ms\\ng\\u{1B}'"), "\(run.standardError)")
  }
}
