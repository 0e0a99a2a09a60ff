/// Plain-text tables for the tools' output: every column padded to its widest cell.
public enum TextTable {
  /// Each row as one line, columns separated by at least `gap` spaces, without
  /// trailing spaces. Rows may be shorter than the longest one.
  public static func lines(_ rows: [[String]], gap: Int = 1) -> [String] {
    let columns = rows.map(\.count).max() ?? 0
    let widths = (0..<columns).map { column in
      rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
    }
    return rows.map { row in
      var line = ""
      for (column, cell) in row.enumerated() {
        line += cell + String(repeating: " ", count: widths[column] - cell.count + gap)
      }
      while line.last == " " { line.removeLast() }
      return line
    }
  }
}
