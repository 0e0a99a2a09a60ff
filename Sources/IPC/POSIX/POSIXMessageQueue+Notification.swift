import CIPCShims
import Glibc
import Synchronization

extension POSIX.MessageQueue {
  /// Calls `handler` with this queue once, on a new thread, when a message
  /// arrives on the queue while it is empty and no process is blocked receiving.
  ///
  ///     try queue.notifyOnArrival { queue in
  ///       try? queue.notifyOnArrival(...)           // re-arm first, then drain
  ///       while let message = try? queue.tryReceive() { print(message.text) }
  ///     }
  ///
  /// The handler gets the queue as its argument so it need not capture it:
  /// the pending registration holds the queue only weakly, and a queue object
  /// released while registered closes its descriptor, which ends the
  /// registration. The registration ends when it fires: call again to re-arm. It also ends
  /// with ``cancelNotification()`` and when this process closes any
  /// descriptor of the queue (the kernel's rule): releasing another
  /// `MessageQueue` object for the same name ends it too. Only one process at
  /// a time may be registered on a queue.
  ///
  /// The corresponding C call is `mq_notify` with `SIGEV_THREAD`.
  ///
  /// - Throws: `.busy` if a registration exists already, by this process or another.
  public func notifyOnArrival(_ handler: @escaping @Sendable (POSIX.MessageQueue) -> Void)
    throws(IPCError)
  {
    let fd = try liveDescriptor(for: "mq_notify")
    let token = ArrivalHandlers.add(handler, for: self)
    let context = UnsafeMutableRawPointer(bitPattern: token)
    let result = once {
      cipc_mq_notify_thread(fd, { value in ArrivalHandlers.fire(Int(bitPattern: value.sival_ptr)) }, context)
    }
    if case .failure(let code) = result {
      ArrivalHandlers.remove(token)
      throw operationError(code, "mq_notify")
    }
    // The previous token is not removed here: if it fired, glibc may not have
    // called its handler yet, and that arrival must not be lost. A fired
    // handler removes itself.
    notificationToken.store(token, ordering: .releasing)
  }

  /// Ends this process's registration for arrival notification, made through
  /// any object for this queue; does nothing if there is none, or if another
  /// process holds it.
  ///
  /// The corresponding C call is `mq_notify(queue, NULL)`.
  public func cancelNotification() throws(IPCError) {
    let fd = try liveDescriptor(for: "mq_notify")
    ArrivalHandlers.remove(notificationToken.exchange(0, ordering: .acquiringAndReleasing))
    if case .failure(let code) = once({ mq_notify(fd, nil) }) {
      throw operationError(code, "mq_notify")
    }
  }

  /// Forgets the handler when the descriptor closes (which ends the kernel's
  /// registration): a notification already on its way then finds nothing.
  func dropNotification() {
    ArrivalHandlers.remove(notificationToken.exchange(0, ordering: .acquiringAndReleasing))
  }
}

/// The handlers of pending arrival notifications, by token. The kernel hands
/// back only the token, never a pointer to Swift memory, so a notification
/// that arrives after its queue object is gone finds nothing and does nothing.
private enum ArrivalHandlers {
  /// A handler and, weakly, the queue it is for.
  private struct Entry: Sendable {
    weak var queue: POSIX.MessageQueue?
    var handler: @Sendable (POSIX.MessageQueue) -> Void
    /// Fired: its handler runs now, and it is removed when that returns.
    var running = false
  }

  private static let handlers = Mutex<[Int: Entry]>([:])
  private static let nextToken = Atomic<Int>(1)

  static func add(
    _ handler: @escaping @Sendable (POSIX.MessageQueue) -> Void, for queue: POSIX.MessageQueue
  ) -> Int {
    let token = nextToken.add(1, ordering: .relaxed).oldValue
    handlers.withLock { $0[token] = Entry(queue: queue, handler: handler) }
    return token
  }

  static func remove(_ token: Int) {
    guard token != 0 else { return }
    handlers.withLock { _ = $0.removeValue(forKey: token) }
  }

  /// Runs the handler of `token` once. Its entry stays listed while the
  /// handler runs: glibc starts the handler's thread inside libc, where
  /// LeakSanitizer does not look, so an entry that only this thread held
  /// read as leaked when the process exited meanwhile (27 runs in 2,000 of
  /// the guide's example).
  static func fire(_ token: Int) {
    let fired = handlers.withLock { (all) -> Entry? in
      guard var entry = all[token], !entry.running else { return nil }
      entry.running = true
      all[token] = entry
      return entry
    }
    guard let fired else { return }
    defer { remove(token) }
    if let queue = fired.queue { fired.handler(queue) }
  }
}
