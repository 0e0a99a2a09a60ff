import Foundation
import IPC
import Testing

/// The blocked-signal mask of process `pid` (its main thread), from the
/// SigBlk line of /proc/PID/status: bit N-1 for signal N.
func blockedMask(of pid: pid_t) -> UInt64? {
  guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") })
  else { return nil }
  return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
}

/// Waits until process `pid` blocks every one of `signals`: a waiter that
/// is sent a signal before that dies of it.
func waitUntilBlocking(_ pid: pid_t, _ signals: [UnixSignal], timeout: Duration = .seconds(20)) -> Bool {
  let wanted = signals.reduce(UInt64(0)) { $0 | 1 << UInt64($1.rawValue - 1) }
  return eventually(within: timeout, every: .milliseconds(2)) {
    (blockedMask(of: pid) ?? 0) & wanted == wanted
  }
}

/// Sends `signal` with `value` to `pid`, retrying while the receiver's queue
/// of pending signals is full (RLIMIT_SIGPENDING): the receiver drains it.
func sendQueued(_ signal: UnixSignal, to pid: pid_t, value: Int32) throws {
  while true {
    do throws(IPCError) {
      try signal.send(to: pid, value: value)
      return
    } catch  where error.code == .wouldBlock {
      usleep(1000)
    }
  }
}
