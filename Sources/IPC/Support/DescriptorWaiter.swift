import Glibc
import Synchronization

/// One background thread that waits in `poll` on behalf of async callers, so
/// that no thread of Swift's cooperative pool ever blocks in the kernel.
///
/// Waiters are one-shot: a caller registers a descriptor, is resumed once it
/// is ready or in error (or when its owner closes it, see
/// ``resumeAll(waitingOn:)``), and tries its non-blocking call again.
/// A pipe wakes the thread whenever the set of waiters changes.
final class DescriptorWaiter: Sendable {
  private static let instance = Mutex<DescriptorWaiter?>(nil)

  /// The process-wide waiter; its thread starts on first use and lives on.
  ///
  /// - Throws: when its pipe or thread cannot be made (at the descriptor or
  ///   thread limit); a later call tries again.
  static func shared() throws(IPCError) -> DescriptorWaiter {
    try LibraryThread.shared(instance, name: "ipc-poll", what: "the library's poll thread") {
      DescriptorWaiter(reader: $0, writer: $1)
    } run: {
      $0.run()
    }
  }

  /// The waiter if it was ever started, for owners closing a descriptor.
  static var existing: DescriptorWaiter? { instance.withLock { $0 } }

  /// How a wait ended.
  enum Wake: Sendable {
    /// The descriptor is ready, closed or in error (or its owner closed it): try again.
    case ready
    /// The awaiting task was cancelled.
    case cancelled
    /// The deadline passed first.
    case timedOut
  }

  private struct Waiter {
    var descriptor: Int32
    var events: Int16
    var deadline: MonotonicDeadline?
    var continuation: CheckedContinuation<Wake, Never>
  }

  private struct State {
    var waiters: [UInt64: Waiter] = [:]
    /// Ids cancelled before their continuation was registered.
    var cancelled: Set<UInt64> = []
    var nextID: UInt64 = 1
  }

  private let state = Mutex(State())
  /// The wake pipe: the thread polls the read end; a byte written wakes it.
  private let wakeReader: Int32
  private let wakeWriter: Int32

  private init(reader: Int32, writer: Int32) {
    (wakeReader, wakeWriter) = (reader, writer)
  }

  /// Suspends until `descriptor` is ready for `events`, closed or in error.
  ///
  /// - Returns: false if the task was cancelled first.
  func wait(for descriptor: Int32, events: Int16) async -> Bool {
    await wait(for: descriptor, events: events, until: nil) == .ready
  }

  /// Suspends until `descriptor` is ready for `events`, closed or in error,
  /// or until `deadline` (none: no limit) passes.
  func wait(for descriptor: Int32, events: Int16, until deadline: MonotonicDeadline?) async -> Wake {
    if let deadline, deadline.timeLeft <= .zero { return .timedOut }
    let id = state.withLock { state in
      defer { state.nextID += 1 }
      return state.nextID
    }
    defer { _ = state.withLock { $0.cancelled.remove(id) } }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
        let cancelledAlready = state.withLock { state in
          if state.cancelled.remove(id) != nil { return true }
          state.waiters[id] = Waiter(
            descriptor: descriptor, events: events, deadline: deadline, continuation: continuation)
          return false
        }
        if cancelledAlready {
          continuation.resume(returning: .cancelled)
        } else {
          wake()
        }
      }
    } onCancel: {
      let waiter = state.withLock { state in
        if let waiter = state.waiters.removeValue(forKey: id) { return Optional(waiter) }
        state.cancelled.insert(id)
        return nil
      }
      if let waiter {
        waiter.continuation.resume(returning: .cancelled)
        wake()
      }
    }
  }

  /// Resumes every waiter on `descriptor`, which its owner is about to close:
  /// `poll` does not notice a descriptor closed by another thread.
  func resumeAll(waitingOn descriptor: Int32) {
    let resumed = state.withLock { state in
      let ids = state.waiters.filter { $0.value.descriptor == descriptor }.map(\.key)
      return ids.compactMap { state.waiters.removeValue(forKey: $0)?.continuation }
    }
    for continuation in resumed { continuation.resume(returning: .ready) }
    if !resumed.isEmpty { wake() }
  }

  private func wake() {
    // A full pipe already holds a wake-up, so a failed write loses nothing.
    var byte: UInt8 = 1
    _ = write(wakeWriter, &byte, 1)
  }

  private func run() -> Never {
    var entries: [pollfd] = []
    var ids: [UInt64] = []
    while true {
      entries.removeAll(keepingCapacity: true)
      ids.removeAll(keepingCapacity: true)
      entries.append(pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0))
      var soonest: Duration?
      let expired = state.withLock { state in
        var expired: [CheckedContinuation<Wake, Never>] = []
        for (id, waiter) in state.waiters {
          if let left = waiter.deadline?.timeLeft {
            if left <= .zero {
              if let gone = state.waiters.removeValue(forKey: id) { expired.append(gone.continuation) }
              continue
            }
            soonest = min(soonest ?? left, left)
          }
          ids.append(id)
          entries.append(pollfd(fd: waiter.descriptor, events: waiter.events, revents: 0))
        }
        return expired
      }
      for continuation in expired { continuation.resume(returning: .timedOut) }
      // Round up, so a deadline is not woken for a moment before it passes.
      let timeout = soonest.map { left -> Int32 in
        let (seconds, attoseconds) = left.components
        guard seconds < Int64(Int32.max / 1000) else { return Int32.max }
        // Below Int32.max by the guard; clamping says so without a trap.
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
      }
      let ready = poll(&entries, nfds_t(entries.count), timeout ?? -1)
      if ready < 0 {
        if errno == EINTR { continue }
        // Too many waiters for one poll (EINVAL past RLIMIT_NOFILE) or no
        // memory: let every waiter retry on its own rather than spin here.
        let all = state.withLock { state in
          defer { state.waiters.removeAll() }
          return state.waiters.values.map(\.continuation)
        }
        for continuation in all { continuation.resume(returning: .ready) }
        usleep(1_000)
        continue
      }
      if entries[0].revents != 0 {
        var drained = [UInt8](repeating: 0, count: 64)
        while read(wakeReader, &drained, drained.count) > 0 {}
      }
      let resumed = state.withLock { state in
        ids.indices.compactMap { index in
          entries[index + 1].revents == 0
            ? nil : state.waiters.removeValue(forKey: ids[index])?.continuation
        }
      }
      for continuation in resumed { continuation.resume(returning: .ready) }
    }
  }
}
