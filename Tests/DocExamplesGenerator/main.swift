import Foundation

// doc-examples-generator ROOT TABLES [PAGE OUTPUT]...: reads each Markdown page
// (README.md and Docs/*.md, absolute paths under the package root ROOT) and
// writes the Swift file of its examples to OUTPUT, and the tables of every
// example to TABLES. A mistake in a page (an unknown directive, a fragment of a
// missing context, an unclosed fence) fails the build with
// PAGE:LINE: error: ... See "Examples in these pages" in Docs/GettingStarted.md.

/// Writes `text` to `path` unless the file holds it already, so that an edit of
/// a page's prose compiles nothing again.
func write(_ text: String, to path: String) throws {
  if (try? String(contentsOfFile: path, encoding: .utf8)) != text {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data((message + "\n").utf8))
  exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2, arguments.count % 2 == 0 else {
  fail("usage: doc-examples-generator ROOT TABLES [PAGE OUTPUT]...")
}
let root = arguments[0]
var files: [ExampleFile] = []
var failures: [String] = []
var outputs: [(text: String, path: String)] = []
// Outputs are Swift files, never anything else: a stale plugin passing other
// arguments must not overwrite a page.
for (index, argument) in arguments.enumerated() where index % 2 == 1 && !argument.hasSuffix(".swift") {
  fail(
    "doc-examples-generator: output \(argument) is not a .swift file (arguments: ROOT TABLES [PAGE OUTPUT]...)"
  )
}
for pair in stride(from: 2, to: arguments.count, by: 2) {
  let (path, output) = (arguments[pair], arguments[pair + 1])
  let name = path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
  do {
    let file = try ExampleFile(DocPage(path: path, name: name, root: root))
    files.append(file)
    outputs.append((file.text, output))
  } catch {
    failures.append("\(error)")
  }
}
guard failures.isEmpty else { fail(failures.joined(separator: "\n")) }
outputs.append((ExampleFile.tables(files), arguments[1]))
for output in outputs {
  do {
    try write(output.text, to: output.path)
  } catch {
    fail("\(output.path): error: cannot write the examples: \(error)")
  }
}
