import CIPCShims
import Glibc
import Synchronization

/// Threads the library owns (its watchers), few and long-lived. Each starts
/// with every signal blocked, so the program's signals are always taken by
/// the program's own threads and never interrupt the library's waits.
enum LibraryThread {
  /// The one owner kept in `slot`, started with ``startPolling(name:what:_:run:)``
  /// on first use. A start that fails leaves the slot empty, so a later call
  /// tries again (the descriptor or thread limit may have eased).
  static func shared<Owner: Sendable>(
    _ slot: borrowing Mutex<Owner?>, name: String, what: String,
    _ make: (_ reader: Int32, _ writer: Int32) -> Owner, run: @escaping @Sendable (Owner) -> Void
  ) throws(IPCError) -> Owner {
    try slot.withLock { (owner) throws(IPCError) -> Owner in
      if let owner { return owner }
      let started = try startPolling(name: name, what: what, make, run: run)
      owner = started
      return started
    }
  }

  /// Makes the wake pipe of a thread that waits in `poll` (non-blocking,
  /// close-on-exec), builds the thread's owner from its two ends, and starts
  /// `run` on the new thread. Nothing is left open if a step fails.
  ///
  /// - Parameter what: how errors name the thread's owner.
  static func startPolling<Owner: Sendable>(
    name: String, what: String, _ make: (_ reader: Int32, _ writer: Int32) -> Owner,
    run: @escaping @Sendable (Owner) -> Void
  ) throws(IPCError) -> Owner {
    var ends: [Int32] = [-1, -1]
    if case .failure(let code) = once({ cipc_pipe2(&ends, O_CLOEXEC | O_NONBLOCK) }) {
      throw IPCError(
        code: code, operation: "pipe2", object: what,
        reason: code == .tooManyOpen
          ? "this process has as many descriptors open as RLIMIT_NOFILE allows (ulimit -n); \(what) needs"
            + " one pipe" : nil)
    }
    let owner = make(ends[0], ends[1])
    do throws(IPCError) {
      try start(name: name) { run(owner) }
    } catch {
      ends.forEach { _ = close($0) }
      throw error
    }
    return owner
  }

  /// Starts `body` on a new detached thread named `name` (at most 15 bytes,
  /// as `ps -L` and debuggers show it), with a stack of `stackSize` bytes
  /// (nil: the default, RLIMIT_STACK).
  ///
  /// - Throws: the `pthread_create` error (`EAGAIN` at the thread limit).
  static func start(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void)
    throws(IPCError)
  {
    final class Box {
      let body: @Sendable () -> Void
      init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    // The new thread inherits the mask in force here: block all, start, restore.
    var all = sigset_t()
    var previous = sigset_t()
    sigfillset(&all)
    pthread_sigmask(SIG_SETMASK, &all, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    var thread = pthread_t()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    if let stackSize { _ = pthread_attr_setstacksize(&attributes, stackSize) }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    let status = pthread_create(
      &thread, &attributes,
      { context in
        guard let context else { return nil }
        Unmanaged<Box>.fromOpaque(context).takeRetainedValue().body()
        return nil
      }, context)
    guard status == 0 else {
      Unmanaged<Box>.fromOpaque(context).release()
      throw IPCError(
        code: IPCError.Code(rawValue: status), operation: "pthread_create", object: "thread \(name)",
        reason: "the library could not start its \(name) thread (\(String(cString: strerror(status))));"
          + (status == EAGAIN
            ? " the process or user is at its thread limit (ulimit -u, /proc/sys/kernel/threads-max)" : ""))
    }
    _ = cipc_thread_set_name(thread, String(decoding: name.utf8.prefix(15), as: UTF8.self))
    pthread_detach(thread)
  }
}
