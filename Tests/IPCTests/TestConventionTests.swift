import Foundation
import Testing

/// Rules of this suite that the compiler cannot check.
@Suite("Test conventions")
struct TestConventionTests {
  /// Every async test carries `.prompt` (see ``PromptTrait``): without it, a
  /// loaded run resumes the test behind every queued test, and its waits
  /// with deadlines fail although nothing is wrong.
  @Test func everyAsyncTestRunsPromptly() throws {
    let folder = Tools.packageRoot + "/Tests/IPCTests"
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".swift") }
    var missing: [String] = []
    var asyncTests = 0
    for file in files.sorted() {
      let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
      for (index, line) in lines.enumerated()
      where line.trimmingCharacters(in: .whitespaces).hasPrefix("@Test") {
        // The attribute and the declaration up to its body.
        var declaration = ""
        for next in lines[index...] {
          declaration += next + "\n"
          if next.contains("{") && declaration.contains("func ") { break }
        }
        guard let body = declaration.range(of: "{") else { continue }
        let signature = declaration[..<body.lowerBound]
        guard signature.range(of: #"\)\s*async\b"#, options: .regularExpression) != nil else { continue }
        asyncTests += 1
        if !signature.contains(".prompt") { missing.append("\(file):\(index + 1)") }
      }
    }
    #expect(asyncTests > 200, "the scan found \(asyncTests) async tests: it no longer reads them")
    #expect(missing.isEmpty, "async tests without .prompt: \(missing.joined(separator: ", "))")
  }
}
