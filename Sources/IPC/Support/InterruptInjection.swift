#if DEBUG
  import Synchronization

  /// Debug-only hook that makes the next blocking calls of one kind behave as if a
  /// signal had interrupted them (EINTR), so tests can prove deterministically that
  /// every blocking call is retried, in the spirit of swift-system's mocking.
  ///
  /// Scoped to a task: parallel tests never see each other's injections.
  final class InterruptInjection: Sendable {
    let operation: Syscall
    private let remaining: Mutex<Int>
    private let injected = Atomic<Int>(0)

    @TaskLocal static var current: InterruptInjection?

    init(_ operation: Syscall, count: Int) {
      self.operation = operation
      self.remaining = Mutex(count)
    }

    /// How many EINTR failures were delivered so far.
    var delivered: Int { injected.load(ordering: .relaxed) }

    /// Whether the call about to be made should fail with EINTR instead.
    static func consume(_ operation: Syscall) -> Bool {
      guard let injection = current, injection.operation == operation else { return false }
      let fire = injection.remaining.withLock { remaining in
        guard remaining > 0 else { return false }
        remaining -= 1
        return true
      }
      if fire { injection.injected.add(1, ordering: .relaxed) }
      return fire
    }
  }
#endif
