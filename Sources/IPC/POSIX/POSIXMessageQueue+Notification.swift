import CIPCShims
import Glibc
import Synchronization

extension POSIX.MessageQueue {
  /// Calls `handler` once, on a new thread, when a message arrives on the
  /// queue while it is empty and no process is blocked receiving.
  ///
  /// The registration ends when it fires: call again to re-arm (a handler
  /// typically drains the queue with ``tryReceive()`` and re-arms). It also ends
  /// with ``cancelNotification()`` and when this process closes any
  /// descriptor of the queue (the kernel's rule): releasing another
  /// `MessageQueue` object for the same name ends it too. Only one process at
  /// a time may be registered on a queue.
  ///
  /// The corresponding C call is `mq_notify` with `SIGEV_THREAD`.
  ///
  /// - Throws: `.busy` if a registration exists already, by this process or another.
  public func notifyOnArrival(_ handler: @escaping @Sendable () -> Void) throws(IPCError) {
    let fd = try liveDescriptor(for: "mq_notify")
    let token = ArrivalHandlers.add(handler)
    let context = UnsafeMutableRawPointer(bitPattern: token)
    let result = once {
      cipc_mq_notify_thread(fd, { value in ArrivalHandlers.fire(Int(bitPattern: value.sival_ptr)) }, context)
    }
    if case .failure(let code) = result {
      ArrivalHandlers.remove(token)
      throw operationError(code, "mq_notify")
    }
    // A fired registration leaves a stale token behind; forget it now.
    ArrivalHandlers.remove(notificationToken.exchange(token, ordering: .acquiringAndReleasing))
  }

  /// Ends this process's registration for arrival notification; does nothing
  /// if there is none.
  ///
  /// The corresponding C call is `mq_notify(queue, NULL)`.
  public func cancelNotification() throws(IPCError) {
    let fd = try liveDescriptor(for: "mq_notify")
    let token = notificationToken.exchange(0, ordering: .acquiringAndReleasing)
    guard token != 0 else { return }
    ArrivalHandlers.remove(token)
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
  private static let handlers = Mutex<[Int: @Sendable () -> Void]>([:])
  private static let nextToken = Atomic<Int>(1)

  static func add(_ handler: @escaping @Sendable () -> Void) -> Int {
    let token = nextToken.add(1, ordering: .relaxed).oldValue
    handlers.withLock { $0[token] = handler }
    return token
  }

  static func remove(_ token: Int) {
    guard token != 0 else { return }
    handlers.withLock { _ = $0.removeValue(forKey: token) }
  }

  static func fire(_ token: Int) {
    let handler = handlers.withLock { $0.removeValue(forKey: token) }
    handler?()
  }
}
