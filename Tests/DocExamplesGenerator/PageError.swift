/// A mistake in a page: reported as `PATH:LINE: error: MESSAGE`, so the build
/// log (and an editor) points at the Markdown line.
struct PageError: Error, CustomStringConvertible {
  var path: String
  var line: Int
  var message: String
  var description: String { "\(path):\(line): error: \(message)" }
}
