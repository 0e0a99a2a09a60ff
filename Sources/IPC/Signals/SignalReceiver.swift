import CIPCShims
import Glibc
import Synchronization

/// Receives signals as messages, without handlers in your code: each
/// ``wait()-441pc`` takes one signal, with its sender and value.
///
/// A handler runs in the middle of whatever the thread was doing and may
/// call almost nothing safely. A receiver reads signals as data instead, when
/// and where the program chooses: the signals are *blocked*, so they stay
/// pending, and the receiver reads them from a `signalfd`. Block them once at
/// the top of `main`, before any thread starts; threads started afterwards
/// inherit the mask:
///
///     try SignalReceiver.blockInProcess([.terminate, .user1])
///     let receiver = try SignalReceiver([.terminate, .user1])
///     let received = try receiver.wait()
///     print(received.signal, received.senderPID)
///
/// A signal that still reaches a thread which does not block it (one started
/// earlier, or the main thread of an `async` program, which libdispatch
/// parks in `sigsuspend` with every signal unblocked) does not take its
/// default action: the library's handler keeps it, with its sender and
/// value, for the receivers (``blockInProcess(_:)`` says more).
///
/// `wait` has a blocking form, a non-blocking one that returns nil
/// (``tryWait()``), one with a `Duration` timeout on the monotonic clock
/// (``wait(timeout:)-9g3mn``), async forms that never block a thread of the
/// cooperative pool, and an `AsyncSequence` (``signals()``).
///
/// Real-time signals queue and arrive in order, none lost (up to the
/// receiver's `RLIMIT_SIGPENDING`); a standard signal sent again while one
/// is pending is received once. Several receivers of the same signal share
/// what arrives: each signal goes to one of them. Children started by this
/// library begin with no signal blocked and default actions, whatever this
/// process blocks or handles.
///
/// The receiver owns its descriptors, closed by ``close()`` or when the
/// object is released. It is `Sendable`; closing it while another thread
/// uses it is a programming error, as with any descriptor.
public final class SignalReceiver: Sendable, CustomStringConvertible {
  /// The signals this receiver takes, in number order.
  public let accepts: [UnixSignal]
  /// The signalfd, non-blocking; -1 once closed.
  private let descriptor: Atomic<Int32>
  /// A blocking signalfd of these signals and the wake signal, for
  /// ``wait()-441pc``: one `read` waits, as in C; -1 once closed.
  private let blockingDescriptor: Atomic<Int32>
  /// The accepted signals as a bit set (bit n-1 for signal n).
  private let signalBits: UInt64
  /// An epoll set of the signalfd and the library's buffers of these
  /// signals: readable when a signal waits in either. What the timed and
  /// async forms wait on (the blocking one polls the members themselves).
  /// -1 once closed.
  private let readiness: Atomic<Int32>
  /// For each accepted signal, in number order, the read end of the library's
  /// buffer of it (process-wide, never closed; see ``blockInProcess(_:)``).
  private let buffers: [(signal: Int32, fd: Int32)]
  /// The losses of each buffer already reported by this receiver.
  private let reportedLosses: Mutex<[Int32: UInt]>

  /// Creates a receiver of `signals`.
  ///
  /// Block the signals first (``blockInProcess(_:)``): a blocked signal
  /// waits, pending, until a receiver reads it from its signalfd. A signal
  /// that reaches a thread which does not block it is kept for the receivers
  /// by the library's handler instead (see ``blockInProcess(_:)``); creating
  /// a receiver installs that handler too. The corresponding C calls are
  /// `signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC)`, `sigaction` and
  /// `epoll_create1`.
  ///
  /// - Throws: `.invalidArgument`, before anything changes, for an empty set,
  ///   `SIGKILL` or `SIGSTOP` (no process can receive them), or `SIGRTMAX`
  ///   (the library's wake signal, see <doc:Async>); `.tooManyOpen` at the
  ///   descriptor limit.
  public init(_ signals: some Sequence<UnixSignal>) throws(IPCError) {
    let wanted = Array(Set(signals)).sorted()
    let object = Self.describe(wanted)
    try Self.checkReceivable(wanted, operation: "signalfd", object: object)
    let buffers = try Self.openBuffers(wanted, object: object)
    var mask = Self.mask(of: wanted)
    let fd = try Self.descriptor("signalfd", object) {
      signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC))
    }
    var made = [fd]
    do throws(IPCError) {
      var withWake = mask
      sigaddset(&withWake, cipc_wake_signal())
      made.append(try Self.descriptor("signalfd", object) { signalfd(-1, &withWake, Int32(SFD_CLOEXEC)) })
      made.append(try Self.descriptor("epoll_create1", object) { cipc_epoll_create() })
      for member in [fd] + buffers.map(\.fd) {
        if case .failure(let code) = once({ cipc_epoll_add_readable(made[2], member) }) {
          throw IPCError(code: code, operation: "epoll_ctl", object: object)
        }
      }
    } catch {
      for descriptor in made { Glibc.close(descriptor) }
      throw error
    }
    self.accepts = wanted
    self.descriptor = Atomic(fd)
    self.blockingDescriptor = Atomic(made[1])
    self.signalBits = wanted.reduce(0) { $0 | (1 << UInt64($1.rawValue - 1)) }
    self.readiness = Atomic(made[2])
    self.buffers = buffers
    self.reportedLosses = Mutex(
      Dictionary(uniqueKeysWithValues: buffers.map { ($0.signal, cipc_signal_rescue_lost($0.signal)) }))
  }

  deinit {
    for fd in [
      descriptor.exchange(-1, ordering: .acquiring), blockingDescriptor.exchange(-1, ordering: .acquiring),
      readiness.exchange(-1, ordering: .acquiring),
    ] where fd >= 0 {
      Glibc.close(fd)
    }
  }

  /// A descriptor that is readable while a signal waits for this receiver
  /// (an epoll set), for a caller's own `poll` or `epoll`; -1 once closed.
  /// It stays owned by this object; read the signals with ``tryWait()``.
  public var fileDescriptor: Int32 { readiness.load(ordering: .acquiring) }

  /// `signal receiver for SIGTERM, SIGUSR1`.
  public var description: String { "signal receiver for \(Self.describe(accepts))" }

  // MARK: Receiving

  /// Takes the next signal, waiting until one arrives.
  ///
  /// The corresponding C call is a blocking `read` of one
  /// `struct signalfd_siginfo` from a `signalfd`, as a C program waits. The
  /// signalfd also takes `SIGRTMAX`, the library's wake signal, which the
  /// first wait in a thread blocks there for good: the library's handler,
  /// keeping a signal that reached another thread meanwhile, sends it to end
  /// the read, and the wait then takes the kept signal. A signal that
  /// interrupts the wait (one this receiver does not take) does not end it.
  ///
  /// - Throws: `.badDescriptor` if the receiver was closed; `.overflow` if
  ///   signals were lost (see ``tryWait()``).
  public func wait() throws(IPCError) -> ReceivedSignal {
    let fd = try liveDescriptor(for: "read", blockingDescriptor)
    while true {
      let slot = cipc_signal_reader_enter(signalBits)
      if slot == -1, let received = try tryWait() { return received }
      if slot == -2 { return try pollingWait() }
      guard slot >= 0 else { continue }
      var info = signalfd_siginfo()
      let result = retryingInterrupts(.read, { Glibc.read(fd, &info, MemoryLayout<signalfd_siginfo>.size) })
      cipc_signal_reader_leave(slot)
      if case .success = result, info.ssi_signo == UInt32(cipc_wake_signal()) {
        // Woken: a signal of these went to the library's handler (or was lost).
        try reportLosses()
        continue
      }
      if let signal = try received(result, info) { return signal }
    }
  }

  /// ``wait()-441pc`` where no blocking read can be registered: `poll` on
  /// the non-blocking signalfd and the library's buffers, then `read`.
  private func pollingWait() throws(IPCError) -> ReceivedSignal {
    // Poll first: a read that finds nothing would be a third system call.
    let fd = try liveDescriptor(for: "poll", descriptor)
    // On the stack: no allocation per signal (at most 64 buffers).
    return try withUnsafeTemporaryAllocation(of: pollfd.self, capacity: buffers.count + 1) {
      (entries) throws(IPCError) -> ReceivedSignal in
      entries.initialize(repeating: pollfd(fd: fd, events: Readiness.readable, revents: 0))
      for (index, buffer) in buffers.enumerated() { entries[index + 1].fd = buffer.fd }
      while true {
        _ = poll(entries.baseAddress, nfds_t(entries.count), -1)
        if let received = try tryWait() { return received }
      }
    }
  }

  /// Takes a waiting signal if there is one, nil otherwise; never waits.
  ///
  /// Signals the library's handler kept come first (they arrived at a thread
  /// that did not block them, so before any still pending), then the
  /// pending ones. The corresponding C call is `read` of one
  /// `struct signalfd_siginfo`, from the library's buffer or the non-blocking
  /// signalfd (EAGAIN is nil).
  ///
  /// - Throws: `.badDescriptor` if the receiver was closed; `.overflow`, once,
  ///   if the library's buffer of an accepted signal was full when one came,
  ///   so that it was lost (the error says how many); the next call goes on.
  public func tryWait() throws(IPCError) -> ReceivedSignal? {
    let fd = try liveDescriptor(for: "read", descriptor)
    try reportLosses()
    var info = signalfd_siginfo()
    for buffer in buffers where cipc_signal_rescue_pending(buffer.signal) > 0 {
      if let received = try read(&info, from: buffer.fd) {
        cipc_signal_rescue_taken(buffer.signal)
        return received
      }
    }
    return try read(&info, from: fd)
  }

  /// Takes the next signal, waiting at most `timeout` on the monotonic
  /// clock; nil if none arrived in time.
  ///
  /// The corresponding C calls are `poll` for the time left and `read`.
  ///
  /// - Throws: as ``wait()-441pc``.
  public func wait(timeout: Duration) throws(IPCError) -> ReceivedSignal? {
    try Readiness.until(
      timeout,
      waitingWith: { left in
        Readiness.wait(descriptor: fileDescriptor, events: Readiness.readable, for: left)
      }, { () throws(IPCError) in try tryWait() })
  }

  /// Closes the receiver's descriptors now rather than when the object is
  /// released. The signals stay blocked: pending ones, and those the library
  /// kept, wait for another receiver.
  ///
  /// The corresponding C call is `close`.
  ///
  /// - Throws: `.badDescriptor` if it was closed already.
  public func close() throws(IPCError) {
    let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
    guard fd >= 0 else { throw closedError("close") }
    let blocking = blockingDescriptor.exchange(-1, ordering: .acquiringAndReleasing)
    if blocking >= 0 { Glibc.close(blocking) }
    let set = readiness.exchange(-1, ordering: .acquiringAndReleasing)
    // poll does not return when another thread closes its descriptor: wake
    // async waits on it, so they retry and see the receiver closed.
    if set >= 0 {
      DescriptorWaiter.existing?.resumeAll(waitingOn: set)
      Glibc.close(set)
    }
    if case .failure(let code) = once({ Glibc.close(fd) }) {
      throw IPCError(code: code, operation: "close", object: description)
    }
  }

  /// One signal read from `fd` into `info`; nil if none is there.
  private func read(_ info: inout signalfd_siginfo, from fd: Int32) throws(IPCError) -> ReceivedSignal? {
    let size = MemoryLayout<signalfd_siginfo>.size
    return try received(retryingInterrupts(.read, { Glibc.read(fd, &info, size) }), info)
  }

  /// The signal a `read` of one `struct signalfd_siginfo` returned; nil for EAGAIN.
  private func received(_ result: Result<Int, IPCError.Code>, _ info: signalfd_siginfo) throws(IPCError)
    -> ReceivedSignal?
  {
    let size = MemoryLayout<signalfd_siginfo>.size
    switch result {
    case .success(let count) where count == size: return ReceivedSignal(info)
    case .success(let count):
      throw IPCError(
        code: .badMessage, operation: "read", object: description,
        reason: "read \(count) bytes, not one signalfd_siginfo of \(size)")
    case .failure(.wouldBlock): return nil
    case .failure(let code): throw IPCError(code: code, operation: "read", object: description)
    }
  }

  /// Throws `.overflow` once for signals the library's handler could not keep.
  private func reportLosses() throws(IPCError) {
    let lost = reportedLosses.withLock { (reported) -> (signal: Int32, count: UInt)? in
      for buffer in buffers {
        let now = cipc_signal_rescue_lost(buffer.signal)
        let before = reported[buffer.signal] ?? 0
        if now > before {
          reported[buffer.signal] = now
          return (buffer.signal, now - before)
        }
      }
      return nil
    }
    guard let lost else { return }
    throw IPCError(
      code: .overflow, operation: "read", object: description,
      reason:
        "\(lost.count) \(SignalNames.name(lost.signal)) signal\(lost.count == 1 ? " was" : "s were") lost:"
        + " they reached a thread that does not block them while the library's buffer of 8192 was full;"
        + " receive faster, or block the signal in every thread")
  }

  // MARK: Support

  /// The open descriptor `which`, or an error naming `operation` if the receiver was closed.
  func liveDescriptor(for operation: String, _ which: borrowing Atomic<Int32>) throws(IPCError) -> Int32 {
    let fd = which.load(ordering: .acquiring)
    guard fd >= 0 else { throw closedError(operation) }
    return fd
  }

  /// The readiness set, for the async forms.
  func liveReadiness(for operation: String) throws(IPCError) -> Int32 {
    try liveDescriptor(for: operation, readiness)
  }

  /// The result of a call that makes a descriptor, or its error.
  static func descriptor(_ operation: String, _ object: String, _ call: () -> Int32) throws(IPCError) -> Int32
  {
    switch once(call) {
    case .success(let fd): return fd
    case .failure(let code):
      throw IPCError(
        code: code, operation: operation, object: object,
        reason: code == .tooManyOpen ? "this process has too many descriptors open (ulimit -n)" : nil)
    }
  }

  /// The library's buffer of each signal, its handler installed.
  static func openBuffers(_ signals: [UnixSignal], object: String) throws(IPCError) -> [(
    signal: Int32, fd: Int32
  )] {
    var buffers: [(signal: Int32, fd: Int32)] = []
    for signal in signals {
      let fd = try descriptor("sigaction", object) { cipc_signal_rescue_open(signal.rawValue) }
      buffers.append((signal.rawValue, fd))
    }
    return buffers
  }

  private func closedError(_ operation: String) -> IPCError {
    IPCError(
      code: .badDescriptor, operation: operation, object: description,
      reason: "this receiver was closed; make another to receive the signals")
  }

  static func describe(_ signals: [UnixSignal]) -> String {
    signals.isEmpty ? "no signals" : signals.map(\.name).joined(separator: ", ")
  }

  static func mask(of signals: [UnixSignal]) -> sigset_t {
    var mask = sigset_t()
    sigemptyset(&mask)
    for signal in signals { sigaddset(&mask, signal.rawValue) }
    return mask
  }
}
