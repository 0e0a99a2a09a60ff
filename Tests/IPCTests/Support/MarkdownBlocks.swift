import Foundation

/// The ```swift blocks of the Markdown file at `path`, in order, each as its
/// lines joined by "\n" (without the fences, and without a final newline).
///
/// A fence may be indented, as inside a list item: that indentation is taken
/// off every line of its block, as Markdown renders it. A block that is never
/// closed runs to the end of the file. An unreadable file has no blocks.
func swiftBlocks(inMarkdownAt path: String) -> [String] {
  guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
  var blocks: [String] = []
  var current: [String]?
  var indentation = 0
  for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
    let content = line.drop { $0 == " " }
    let indent = line.count - content.count
    if var lines = current {
      if content.hasPrefix("```") && content.dropFirst(3).allSatisfy(\.isWhitespace) {
        blocks.append(lines.joined(separator: "\n"))
        current = nil
      } else {
        // Up to the fence's indentation, never into the code's own.
        let removable = min(indentation, line.prefix { $0 == " " }.count)
        lines.append(String(line.dropFirst(removable)))
        current = lines
      }
    } else if content.hasPrefix("```swift") && content.dropFirst(8).allSatisfy(\.isWhitespace) {
      current = []
      indentation = indent
    }
  }
  if let lines = current { blocks.append(lines.joined(separator: "\n")) }
  return blocks
}

/// Whether the lines of `block` appear in `text` as one run of whole lines,
/// in order and with their indentation.
func containsLines(of block: String, in text: String) -> Bool {
  let wanted = block.split(separator: "\n", omittingEmptySubsequences: false)
  let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
  guard !wanted.isEmpty, wanted.count <= lines.count else { return wanted.isEmpty }
  return (0...(lines.count - wanted.count)).contains { start in
    lines[start..<(start + wanted.count)].elementsEqual(wanted)
  }
}
