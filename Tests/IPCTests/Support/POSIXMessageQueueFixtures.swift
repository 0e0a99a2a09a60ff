import Foundation
import IPC
import Testing

extension POSIXMessageQueueProcessTests {
  /// The NOTIFY_PID field of the queue's file in /dev/mqueue, where mounted.
  func notifyPID(of name: String) -> String? {
    guard let text = try? String(contentsOfFile: "/dev/mqueue" + name, encoding: .utf8) else { return nil }
    return text.split(whereSeparator: { $0 == " " || $0 == "\n" })
      .first { $0.hasPrefix("NOTIFY_PID:") }.map { String($0.dropFirst("NOTIFY_PID:".count)) }
  }
}
