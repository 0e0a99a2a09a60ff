import Foundation

/// The ```swift blocks and example contexts of one Markdown page.
struct DocPage {
  /// The page's path relative to the package root, as in ids ("Docs/Pipes.md").
  var name: String
  /// The page's absolute path, for `#sourceLocation` and errors.
  var path: String
  var blocks: [SwiftBlock] = []
  var contexts: [String: ExampleContext] = [:]

  /// Reads the page at `path`. `root` is the package root: `part of` paths are relative to it.
  init(path: String, name: String, root: String) throws {
    self.path = path
    self.name = name
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw PageError(path: path, line: 1, message: "cannot read the page: \(error)")
    }
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    try parse(lines, root: root)
  }

  private func error(_ line: Int, _ message: String) -> PageError {
    PageError(path: path, line: line, message: message)
  }

  private mutating func parse(_ lines: [String], root: String) throws {
    // The directive waiting for its block, and the line it is on.
    var pending: (directive: Directive, line: Int)?
    // Another HTML comment, with only blank lines after it so far: before a
    // ```swift block it is most likely a misspelt directive.
    var comment: Int?
    var index = 0
    while index < lines.count {
      let line = lines[index]
      let number = index + 1
      let content = line.drop { $0 == " " }
      let indentation = line.count - content.count
      if content.first == ">", let quoted = Fence(Self.unquoted(content)), quoted.isSwift {
        throw error(number, "a ```swift block inside a block quote is not checked: move it out of the quote")
      }
      if let fence = Fence(content) {
        guard let close = lines[(index + 1)...].firstIndex(where: { fence.isClosed(by: $0) }) else {
          throw error(number, "this \(fence.marker) fence is never closed")
        }
        if fence.isSwift, let comment {
          throw error(
            comment,
            "an HTML comment right before a ```swift block must be an example directive (<!-- example: ... -->);"
              + " is it misspelt?")
        }
        comment = nil
        if fence.isSwift {
          let body = lines[(index + 1)..<close].map { Self.removingIndentation(indentation, from: $0) }
          blocks.append(
            SwiftBlock(fenceLine: number, lines: body, directive: pending?.directive ?? .complete))
        } else if let pending {
          throw error(
            pending.line,
            "an example directive must come right before a ```swift block, not a \(fence.marker)\(fence.info) block"
          )
        }
        pending = nil
        index = close + 1
        continue
      }
      let trimmed = content.trimmingCharacters(in: .whitespaces)
      if trimmed.hasPrefix("<!--"),
        trimmed.dropFirst(4).trimmingCharacters(in: .whitespaces).hasPrefix("example")
      {
        if let pending {
          throw error(pending.line, "a second example directive follows this one before any ```swift block")
        }
        if let directive = try Self.directive(trimmed, line: number, error: error) {
          if case .partOf(let program) = directive,
            !FileManager.default.fileExists(atPath: root + "/" + program)
          {
            throw error(number, "'part of \(program)': there is no file \(program) in the package")
          }
          pending = (directive, number)
          index += 1
        } else {
          index = try readContext(lines, at: index, heading: trimmed)
        }
        continue
      }
      if trimmed.hasPrefix("<!--") {
        // Not a directive: remembered, and read to its end.
        comment = number
        if let end = lines[index...].firstIndex(where: { $0.contains("-->") }) { index = end }
        index += 1
        continue
      }
      if !trimmed.isEmpty { comment = nil }
      if let pending, !trimmed.isEmpty {
        throw error(
          pending.line,
          "an example directive must come right before a ```swift block (only blank lines between)")
      }
      index += 1
    }
    if let pending {
      throw error(pending.line, "an example directive at the end of the page has no ```swift block")
    }
    for block in blocks {
      if case .fragment(let name) = block.directive, contexts[name] == nil {
        throw error(
          block.fenceLine,
          "fragment of context '\(name)', which this page does not declare (<!-- example: context \(name) ... -->)"
        )
      }
    }
  }

  /// A one-line directive, or nil for the start of a context (read by `readContext`).
  private static func directive(
    _ text: String, line: Int, error: (Int, String) -> PageError
  ) throws -> Directive? {
    let usage =
      "an example directive is <!-- example: continues -->, <!-- example: fragment NAME -->, "
      + "<!-- example: compile-only: REASON -->, <!-- example: part of PATH -->, <!-- example: manifest -->, "
      + "or <!-- example: context NAME, Swift lines, then --> on a line of its own"
    var rest = text.dropFirst(4).trimmingCharacters(in: .whitespaces)
    guard rest.hasPrefix("example:") else { throw error(line, "'\(text)' is not understood: \(usage)") }
    rest = rest.dropFirst("example:".count).trimmingCharacters(in: .whitespaces)
    guard rest.hasSuffix("-->") else {
      let words = rest.split(separator: " ")
      guard words.count == 2, words[0] == "context" else {
        throw error(line, "'\(text)' is not understood: \(usage)")
      }
      return nil
    }
    let body = rest.dropLast(3).trimmingCharacters(in: .whitespaces)
    let words = body.split(separator: " ", maxSplits: 1).map(String.init)
    switch (words.first ?? "", words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : "") {
    case ("continues", ""): return .continues
    case ("manifest", ""): return .manifest
    case ("fragment", let name) where !name.isEmpty && !name.contains(" "): return .fragment(name)
    case ("compile-only:", let reason) where !reason.isEmpty: return .compileOnly(reason)
    case ("part", let of) where of.hasPrefix("of ") && of.count > 3:
      return .partOf(of.dropFirst(3).trimmingCharacters(in: .whitespaces))
    case ("context", _):
      throw error(line, "a context holds Swift lines: end it with --> on a line of its own")
    default: throw error(line, "'\(text)' is not understood: \(usage)")
    }
  }

  /// Reads the context that starts at `index`; returns the index after its `-->` line.
  private mutating func readContext(_ lines: [String], at index: Int, heading: String) throws -> Int {
    let name = String(heading.split(separator: " ").last ?? "")
    guard
      let end = lines[(index + 1)...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "-->" })
    else {
      throw error(index + 1, "context '\(name)' is never closed: end it with --> on a line of its own")
    }
    if let earlier = contexts[name] {
      throw error(index + 1, "context '\(name)' is already declared (line \(earlier.firstLine - 1))")
    }
    contexts[name] = ExampleContext(name: name, firstLine: index + 2, lines: Array(lines[(index + 1)..<end]))
    return end + 1
  }

  /// `content` without its block-quote markers ("> > x" is "x").
  private static func unquoted(_ content: Substring) -> Substring {
    var content = content
    while content.first == ">" { content = content.dropFirst().drop { $0 == " " } }
    return content
  }

  /// `line` without up to `count` leading spaces: a fence's indentation, never the code's own.
  private static func removingIndentation(_ count: Int, from line: String) -> String {
    String(line.dropFirst(min(count, line.prefix { $0 == " " }.count)))
  }
}
