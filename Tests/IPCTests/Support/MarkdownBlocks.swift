import Foundation

/// The Swift blocks of the Markdown file at `path`, in order, each as its
/// lines joined by "\n" (without the fences, and without a final newline).
///
/// Counted independently of the doc-examples generator, and broadly, so that
/// a block the generator misses shows as a difference in the count: a fence
/// of three or more backticks or tildes whose info string starts with `swift`
/// in any case ("```Swift", "~~~swift", "```swift title"), also inside a
/// block quote. A fence may be indented, as inside a list item: that
/// indentation is taken off every line of its block, as Markdown renders it.
/// A block that is never closed runs to the end of the file. An unreadable
/// file has no blocks.
func swiftBlocks(inMarkdownAt path: String) -> [String] {
  guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
  var blocks: [String] = []
  // The open block's lines, or nil inside a block of another language.
  var current: [String]?
  var open: (character: Character, count: Int)?
  var indentation = 0
  for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
    // A block quote's markers are not part of the line's content.
    var content = Substring(line).drop { $0 == " " }
    while content.first == ">" { content = content.dropFirst().drop { $0 == " " } }
    let marker = content.prefix { $0 == "`" || $0 == "~" }
    let run = marker.prefix { $0 == marker.first }
    if let fence = open {
      if run.first == fence.character && run.count >= fence.count
        && content.dropFirst(run.count).allSatisfy(\.isWhitespace)
      {
        if let lines = current { blocks.append(lines.joined(separator: "\n")) }
        current = nil
        open = nil
      } else if var lines = current {
        // Up to the fence's indentation, never into the code's own.
        let removable = min(indentation, line.prefix { $0 == " " }.count)
        lines.append(String(line.dropFirst(removable)))
        current = lines
      }
    } else if let character = run.first, run.count >= 3 {
      let info = content.dropFirst(run.count).drop(while: \.isWhitespace)
      open = (character, run.count)
      current = info.prefix { !$0.isWhitespace }.lowercased() == "swift" ? [] : nil
      indentation = line.count - line.drop { $0 == " " }.count
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
