import Foundation
import IPC
import Testing

/// The Swift examples of README.md and Docs/*.md, as Rust's doc tests check a
/// crate's: the build compiles every ```swift block (Tests/DocExamplesPlugin
/// generates the `doc-examples` program from the pages, and a block that does
/// not compile fails the build at its Markdown line); these tests run every
/// complete example, twice in a row, check that blocks marked `part of PATH`
/// are in their program word for word and that manifests evaluate, and that
/// the generator saw every block of every page. The convention authors follow
/// is in Docs/GettingStarted.md, "Examples in these pages".
@Suite("Doc examples", .serialized)
struct DocExamplesTests {
  @Test(
    "every complete example runs to the end with status 0, twice in a row", arguments: DocExamples.runnable)
  func runsToTheEnd(_ id: String) throws {
    for attempt in 1...2 {
      let run = try DocExamples.run(id)
      guard let status = run.status else {
        let printed = run.output + run.errors
        Issue.record(
          "example \(id) (run \(attempt)) did not end within 60 s and was killed; it printed:\n\(printed)")
        return
      }
      #expect(status == .exited(0), "example \(id) (run \(attempt)) \(status):\n\(run.output)\(run.errors)")
      if status != .exited(0) { return }
    }
  }

  @Test func theGeneratorSawEverySwiftBlockOfEveryPage() throws {
    let blocks = DocExamples.blocks
    try #require(!blocks.isEmpty, "\(DocExamples.program) --blocks printed nothing")
    let pages = DocExamples.pages
    #expect(pages.count >= 10)
    for page in pages {
      let onThePage = swiftBlocks(inMarkdownAt: Tools.packageRoot + "/" + page).count
      let seen = blocks.filter { $0.page == page }
      #expect(
        seen.count == onThePage, "\(page) has \(onThePage) ```swift blocks; the generator saw \(seen.count)")
      #expect(seen.allSatisfy { ["run", "compile", "part-of", "manifest"].contains($0.kind) })
    }
    #expect(Set(blocks.map(\.page)).isSubset(of: Set(pages)))
    // Each runnable example is a block (or chain of blocks) the generator saw as one.
    let runnable = DocExamples.runnable
    #expect(runnable.count >= 10)
    #expect(Set(runnable) == Set(blocks.filter { $0.kind == "run" }.map(\.detail)))
  }

  @Test func everyBlockMarkedPartOfAProgramIsInItWordForWord() throws {
    var checked = 0
    for page in DocExamples.pages {
      let texts = swiftBlocks(inMarkdownAt: Tools.packageRoot + "/" + page)
      let seen = DocExamples.blocks.filter { $0.page == page }
      guard texts.count == seen.count else { continue }  // theGeneratorSawEverySwiftBlockOfEveryPage says why
      for (text, block) in zip(texts, seen) where block.kind == "part-of" {
        let program = try String(contentsOfFile: Tools.packageRoot + "/" + block.detail, encoding: .utf8)
        #expect(
          containsLines(of: text, in: program),
          "the block at \(page):\(block.line) is not word for word in \(block.detail):\n\(text)")
        checked += 1
      }
    }
    #expect(checked >= 30, "only \(checked) blocks are marked part of a program")
  }

  @Test func everyManifestEvaluates() throws {
    var checked = 0
    for page in DocExamples.pages {
      let texts = swiftBlocks(inMarkdownAt: Tools.packageRoot + "/" + page)
      let seen = DocExamples.blocks.filter { $0.page == page }
      guard texts.count == seen.count else { continue }
      for (text, block) in zip(texts, seen) where block.kind == "manifest" {
        let (status, errors) = try DocExamples.evaluate(manifest: text + "\n")
        #expect(status == .exited(0), "the manifest at \(page):\(block.line) does not evaluate: \(errors)")
        checked += 1
      }
    }
    #expect(checked >= 1)
  }

  /// Pages with a mistake, and the error the build shows for each.
  static let mistakes: [(page: String, error: String)] = [
    (
      "Text.\n<!-- example: continue -->\n```swift\nlet a = 1\n```\n",
      "page.md:2: error: '<!-- example: continue -->' is not understood"
    ),
    (
      "<!-- example: fragment nowhere -->\n```swift\nlet a = 1\n```\n",
      "page.md:2: error: fragment of context 'nowhere', which this page does not declare"
    ),
    ("Text.\n\n```swift\nlet a = 1\n", "page.md:3: error: this ``` fence is never closed"),
    (
      "<!-- example: continues -->\n\n```swift\nlet a = 1\n```\n",
      "page.md:3: error: 'continues', but no ```swift block comes before it"
    ),
    (
      "<!-- example: compile-only: needs a peer -->\nText.\n```swift\nlet a = 1\n```\n",
      "page.md:1: error: an example directive must come right before a ```swift block"
    ),
    (
      "<!-- example: context setup\nlet b = 2\n\n```swift\nlet a = 1\n```\n",
      "page.md:1: error: context 'setup' is never closed"
    ),
    (
      "<!-- example: part of Docs/Examples/nothing.swift -->\n```swift\nlet a = 1\n```\n",
      "page.md:1: error: 'part of Docs/Examples/nothing.swift': there is no file"
    ),
    (
      "Text.\n<!-- exmaple: compile-only: misspelt -->\n\n```swift\nlet a = 1\n```\n",
      "page.md:2: error: an HTML comment right before a ```swift block must be an example directive"
    ),
    (
      "Text.\n\n> ```Swift\n> let a: Int = \"no\"\n> ```\n",
      "page.md:3: error: a ```swift block inside a block quote is not checked"
    ),
  ]

  /// Fences the generator and the independent count both take as Swift,
  /// whatever their case, marker or info string; a ```swift line inside a
  /// block of another language is not one.
  @Test func everySpellingOfASwiftFenceIsAnExample() throws {
    let page = """
      ```Swift
      let a = 1
      ```

      ~~~swift
      let b = 2
      ~~~

      ````swift title
      let c = 3
      ````

      ```text
      ```swift
      ```
      """
    let generated = try DocExamples.generate(page: page)
    #expect(generated.status == .exited(0), "the generator printed: \(generated.errors)")
    for line in ["let a = 1", "let b = 2", "let c = 3"] {
      #expect(generated.swift.contains(line), "\(line) is not in:\n\(generated.swift)")
    }
    #expect(!generated.swift.contains("```"))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("ipc-fences-\(getpid()).md").path
    try page.write(toFile: file, atomically: true, encoding: .utf8)
    defer { unlink(file) }
    #expect(swiftBlocks(inMarkdownAt: file) == ["let a = 1", "let b = 2", "let c = 3"])
  }

  @Test(arguments: mistakes)
  func aMistakeInAPageFailsTheBuildNamingItsLine(_ mistake: (page: String, error: String)) throws {
    let generated = try DocExamples.generate(page: mistake.page)
    #expect(generated.status == .exited(1))
    #expect(generated.errors.hasPrefix(mistake.error), "the generator printed: \(generated.errors)")
  }

  @Test func blocksBecomeFunctionsThatCompileErrorsMapBackToTheirLines() throws {
    let page = """
      Text.

      <!-- example: context setup
      import Glibc
      let b = 2
      -->

      ```swift
      import IPC
      let a = try await Task { 1 }.value
      ```

      <!-- example: continues -->
      ```swift
      print(a)
      ```

      <!-- example: fragment setup -->
      ```swift
      print(b, getpid())
      ```

      """
    let generated = try DocExamples.generate(page: page)
    #expect(generated.status == .exited(0), "\(generated.errors)")
    let swift = generated.swift
    // One runnable function for the chain of the first two blocks, async as it awaits.
    #expect(swift.contains("@MainActor func docExample_page_md_8() async throws {"))
    #expect(swift.contains("#sourceLocation(file: \"page.md\", line: 9)\n\nlet a = try await"))
    #expect(swift.contains("#sourceLocation(file: \"page.md\", line: 15)\nprint(a)"))
    // The fragment, after its context, in a function of its own: not async.
    #expect(swift.contains("@MainActor func docExample_page_md_19() throws {"))
    #expect(swift.contains("#sourceLocation(file: \"page.md\", line: 4)\n\nlet b = 2"))
    // Imports hoisted once, to the top of the page's file, each at its own line.
    #expect(swift.contains("import IPC\n#sourceLocation(file: \"page.md\", line: 4)\nimport Glibc\n"))
    #expect(swift.components(separatedBy: "import IPC").count == 2)
  }
}
