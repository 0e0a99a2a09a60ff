import Foundation
import PackagePlugin

/// Generates the `doc-examples` program from the ```swift blocks of README.md
/// and Docs/*.md with `doc-examples-generator`: one Swift file per page, and
/// one of tables. Every page is an input, so an edited page is compiled again
/// by the next build. SwiftPM asks the plugin for its commands again when it
/// plans the build anew: a page added to Docs/ is found, but after deleting a
/// page (or editing this plugin) `touch Package.swift` before building.
@main
struct DocExamplesPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let root = context.package.directoryURL
    let guides = try FileManager.default.contentsOfDirectory(
      at: root.appending(path: "Docs"), includingPropertiesForKeys: nil
    ).filter { $0.pathExtension == "md" }
    let pages = [root.appending(path: "README.md")] + guides.sorted { $0.path < $1.path }
    let folder = context.pluginWorkDirectoryURL
    // "Docs/Pipes.md" is written to Docs+Pipes.md.swift.
    let outputs = pages.map { page in
      let name = page.path.dropFirst(root.path.count + 1).replacingOccurrences(of: "/", with: "+")
      return folder.appending(path: name + ".swift")
    }
    let tables = folder.appending(path: "DocExampleTables.swift")
    return [
      .buildCommand(
        displayName: "Generating the doc examples of README.md and Docs/*.md",
        executable: try context.tool(named: "doc-examples-generator").url,
        arguments: [root.path, tables.path] + zip(pages, outputs).flatMap { [$0.path, $1.path] },
        inputFiles: pages, outputFiles: [tables] + outputs)
    ]
  }
}
