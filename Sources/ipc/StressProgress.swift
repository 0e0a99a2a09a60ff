import Glibc

/// The progress line on standard error: rewritten in place on a terminal,
/// otherwise one line every few seconds, so a log stays short.
final class StressProgress {
  private let isTerminal = isatty(STDERR_FILENO) == 1
  private var lastShown: ContinuousClock.Instant?
  private var width = 0

  func show(_ mechanism: StressMechanism, sent: Int, received: Int, total: Int, kills: Int, signals: Int) {
    let now = ContinuousClock.now
    let interval: Duration = isTerminal ? .milliseconds(200) : .seconds(5)
    if let lastShown, now - lastShown < interval { return }
    if lastShown == nil && !isTerminal {
      // The first line after a few seconds too: a short run prints none.
      lastShown = now
      return
    }
    lastShown = now
    let line =
      "stress \(mechanism.rawValue): sent \(sent)/\(total), received \(received), kills \(kills), signals \(signals)"
    if isTerminal {
      Output.write("\r" + line + String(repeating: " ", count: max(0, width - line.count)), to: STDERR_FILENO)
      width = line.count
    } else {
      Output.error(line)
    }
  }

  /// Clears the line on a terminal; the next mechanism starts afresh.
  func clear() {
    if isTerminal && width > 0 {
      Output.write("\r" + String(repeating: " ", count: width) + "\r", to: STDERR_FILENO)
    }
    width = 0
    lastShown = nil
  }
}
