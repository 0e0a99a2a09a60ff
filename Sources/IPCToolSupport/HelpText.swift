/// Help text laid out for an 80-column terminal: wrapped paragraphs and
/// two-column tables of names and descriptions.
public enum HelpText {
  /// The width the help is wrapped to.
  public static let width = 80

  /// `text` as lines of at most ``width`` columns, each after `indent` spaces;
  /// its own line breaks are kept.
  public static func wrap(_ text: String, indent: Int, width: Int = HelpText.width) -> [String] {
    let margin = String(repeating: " ", count: indent)
    var lines: [String] = []
    for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
      // A line that starts with spaces is laid out by hand: kept as it is.
      if paragraph.first == " " || paragraph.isEmpty {
        lines.append(paragraph.isEmpty ? "" : margin + paragraph)
        continue
      }
      var line = ""
      for word in paragraph.split(separator: " ") {
        if !line.isEmpty && indent + line.count + 1 + word.count > width {
          lines.append(margin + line)
          line = ""
        }
        line += (line.isEmpty ? "" : " ") + word
      }
      lines.append(margin + line)
    }
    return lines
  }

  /// Rows of a name and its description, the descriptions aligned and wrapped.
  public static func table(_ rows: [(String, String)]) -> [String] {
    let column = min((rows.map(\.0.count).max() ?? 0) + 4, 28)
    var lines: [String] = []
    for (name, text) in rows {
      let wrapped = wrap(text, indent: column)
      let first = "  " + name
      if first.count + 2 <= column, let head = wrapped.first {
        lines.append(first + String(repeating: " ", count: column - first.count) + head.dropFirst(column))
        lines += wrapped.dropFirst()
      } else {
        lines.append(first)
        lines += wrapped
      }
    }
    return lines
  }
}
