import Foundation

/// An opening code fence: three or more backticks (or tildes) and an info string.
struct Fence {
  var marker: String
  var info: String

  init?(_ content: Substring) {
    guard let first = content.first, first == "`" || first == "~" else { return nil }
    let marker = content.prefix { $0 == first }
    guard marker.count >= 3 else { return nil }
    self.marker = String(marker)
    info = content.dropFirst(marker.count).trimmingCharacters(in: .whitespaces)
    // A backtick fence's info string holds no backtick (CommonMark): "```x```" is inline code.
    if first == "`" && info.contains("`") { return nil }
  }

  /// Whether the block's language is Swift ("```swift", "```swift title"), in
  /// any case: GitHub renders "```Swift" as Swift too.
  var isSwift: Bool { info.split(separator: " ").first?.lowercased() == "swift" }

  /// Whether `line` closes this fence: the same character, at least as many, nothing after.
  func isClosed(by line: String) -> Bool {
    let content = line.drop { $0 == " " }
    let run = content.prefix { $0 == marker.first }
    return run.count >= marker.count && content.dropFirst(run.count).allSatisfy(\.isWhitespace)
  }
}
