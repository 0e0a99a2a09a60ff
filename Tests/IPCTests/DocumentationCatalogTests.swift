import Foundation
import Testing

/// The DocC catalog (Sources/IPC/IPC.docc) reaches every guide: each page of
/// Docs/ is linked into the catalog, where it renders as an article, is named
/// on the landing page, and is listed in the README. CI renders the catalog
/// with warnings as errors; this suite catches a guide that was added in one
/// place and forgotten in another.
@Suite("Documentation catalog")
struct DocumentationCatalogTests {
  static let catalog = Tools.packageRoot + "/Sources/IPC/IPC.docc"

  /// The guides: every Markdown page at the top of Docs/, by name without `.md`.
  static func guides() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: Tools.packageRoot + "/Docs")
      .filter { $0.hasSuffix(".md") }
      .map { String($0.dropLast(3)) }
      .sorted()
  }

  @Test func everyGuideIsAnArticleOfTheCatalog() throws {
    let guides = try Self.guides()
    #expect(guides.count >= 10, "found only \(guides) in Docs/")
    for guide in guides {
      let link = Self.catalog + "/\(guide).md"
      let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link)
      #expect(target == "../../../Docs/\(guide).md", "\(link) should link to Docs/\(guide).md")
      // Through the link, the catalog reads the guide itself.
      let viaCatalog = try? String(contentsOfFile: link, encoding: .utf8)
      let original = try String(contentsOfFile: Tools.packageRoot + "/Docs/\(guide).md", encoding: .utf8)
      #expect(viaCatalog == original, "\(link) does not read as Docs/\(guide).md")
    }
  }

  @Test func theLandingPageAndTheReadmeNameEveryGuide() throws {
    let landing = try String(contentsOfFile: Self.catalog + "/IPC.md", encoding: .utf8)
    let readme = try String(contentsOfFile: Tools.packageRoot + "/README.md", encoding: .utf8)
    for guide in try Self.guides() {
      #expect(landing.contains("<doc:\(guide)>"), "IPC.md does not list <doc:\(guide)>")
      #expect(readme.contains("(Docs/\(guide).md)"), "README.md does not link Docs/\(guide).md")
    }
  }

  /// An article and a top-level symbol of the same name share one page path
  /// (documentation/ipc/NAME): DocC renders the symbol and drops the article,
  /// without a warning, and `<doc:NAME>` links to the symbol.
  @Test func noGuideIsNamedAfterATopLevelType() throws {
    let guides = Set(try Self.guides())
    let sources = Tools.packageRoot + "/Sources/IPC"
    let files = FileManager.default.enumerator(atPath: sources)?.compactMap { $0 as? String } ?? []
    #expect(files.contains { $0.hasSuffix(".swift") })
    let declaration = /^public (?:final )?(?:enum|struct|class|protocol|actor) (\w+)/
      .anchorsMatchLineEndings()
    for file in files where file.hasSuffix(".swift") {
      let text = try String(contentsOfFile: sources + "/" + file, encoding: .utf8)
      for match in text.matches(of: declaration) {
        let name = String(match.output.1)
        #expect(!guides.contains(name), "Docs/\(name).md has the name of the type \(name) (\(file))")
      }
    }
  }

  @Test func everyArticleOfTheCatalogIsAGuideOrTheLandingPage() throws {
    let guides = Set(try Self.guides())
    let articles = try FileManager.default.contentsOfDirectory(atPath: Self.catalog)
      .filter { $0.hasSuffix(".md") && $0 != "IPC.md" }
      .map { String($0.dropLast(3)) }
    for article in articles {
      #expect(guides.contains(article), "\(article).md in the catalog is not a page of Docs/")
    }
  }
}
