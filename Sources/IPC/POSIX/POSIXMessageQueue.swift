import CIPCShims
import Glibc
import Synchronization

extension POSIX {
  /// A POSIX message queue: messages with priorities between processes,
  /// highest priority first, oldest first within a priority.
  ///
  /// The queue is a kernel object named like `/orders`; this object owns one
  /// descriptor of it (`mqd_t`), closed by ``close()`` or when the object is
  /// released. The queue itself lives until ``unlink()``, whatever happens to
  /// the processes that use it, and a queue unlinked while open keeps working
  /// for those who have it open.
  ///
  ///     let queue = try POSIX.MessageQueue.create("/orders", maxMessages: 10, messageSize: 1024)
  ///     try queue.send(Array("tea".utf8), priority: 5)
  ///     let message = try queue.receive()
  ///     print(message.priority, message.text)
  ///     try queue.unlink()
  ///
  /// Every send and receive has a blocking form, a non-blocking form
  /// (`trySend` returns false, `tryReceive` nil) and a form with a `Duration`
  /// timeout measured on the monotonic clock. Blocking calls are retried when
  /// a signal interrupts them (EINTR). The blocking and timed forms have
  /// async twins of the same name, which `try await queue.receive()` picks:
  /// they wait on the library's poll thread, never blocking a thread of the
  /// cooperative pool, and end with `.cancelled` when their task is
  /// cancelled. ``messages()`` receives as an `AsyncSequence`.
  ///
  /// The object is `Sendable`: the kernel serialises operations on a queue.
  /// Closing it while another thread uses it is a programming error, as with
  /// any descriptor.
  public final class MessageQueue: Sendable, CustomStringConvertible {
    /// The queue's name, such as `/orders`.
    public let name: String
    /// What this descriptor may do.
    public let access: Access
    /// The largest message, in bytes; fixed when the queue was created.
    public let messageSize: Int
    /// The most messages the queue holds; fixed when the queue was created.
    public let maxMessages: Int

    /// The descriptor; -1 once closed.
    private let descriptor: Atomic<Int32>
    /// The token of this descriptor's arrival notification, 0 if none.
    let notificationToken = Atomic<Int>(0)

    init(name: String, access: Access, descriptor: Int32) throws(IPCError) {
      self.name = name
      self.access = access
      self.descriptor = Atomic(descriptor)
      var attributes = mq_attr()
      if case .failure(let code) = once({ mq_getattr(descriptor, &attributes) }) {
        Glibc.close(descriptor)
        throw IPCError(code: code, operation: "mq_getattr", object: "queue \(name)")
      }
      self.messageSize = attributes.mq_msgsize
      self.maxMessages = attributes.mq_maxmsg
    }

    deinit {
      let fd = descriptor.exchange(-1, ordering: .acquiring)
      if fd >= 0 {
        dropNotification()
        mq_close(fd)
      }
    }

    /// `queue /name`, as errors name it.
    public var description: String { "queue \(name)" }

    /// The queue's descriptor (`mqd_t`, a file descriptor on Linux) for
    /// `poll`/`epoll`; -1 once closed. It stays owned by this object.
    public var fileDescriptor: Int32 { descriptor.load(ordering: .acquiring) }

    // MARK: Creating and opening

    /// Creates a new queue named `name`, failing if one exists.
    ///
    /// Limits left nil take the system's defaults (`msg_default`,
    /// `msgsize_default` in /proc/sys/fs/mqueue). The corresponding C call is
    /// `mq_open(name, O_CREAT | O_EXCL | access, mode, &attributes)`.
    ///
    /// - Parameters:
    ///   - name: '/' followed by 1 to 255 bytes without '/', such as `/orders`.
    ///   - access: what the returned descriptor may do.
    ///   - maxMessages: the most messages the queue holds; at most `msg_max`
    ///     (/proc/sys/fs/mqueue/msg_max) without `CAP_SYS_RESOURCE`.
    ///   - messageSize: the largest message in bytes; at most `msgsize_max`.
    ///   - permissions: the queue's mode, 0600 by default; set exactly, whatever
    ///     the process's umask.
    /// - Throws: `.exists` if the name is taken; `.invalidArgument` for a bad
    ///   name or a limit above the system's; `.noSpace` at `queues_max`;
    ///   `.tooManyOpen` past `RLIMIT_MSGQUEUE`.
    public static func create(
      _ name: String, access: Access = .readWrite, maxMessages: Int? = nil,
      messageSize: Int? = nil, permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> MessageQueue {
      try open(
        name, access: access, flags: O_CREAT | O_EXCL, maxMessages: maxMessages,
        messageSize: messageSize, permissions: permissions)
    }

    /// Opens the queue named `name`, creating it if there is none.
    ///
    /// The limits and permissions apply only when the queue is created. The
    /// corresponding C call is `mq_open(name, O_CREAT | access, mode, &attributes)`.
    public static func openOrCreate(
      _ name: String, access: Access = .readWrite, maxMessages: Int? = nil,
      messageSize: Int? = nil, permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> MessageQueue {
      try open(
        name, access: access, flags: O_CREAT, maxMessages: maxMessages,
        messageSize: messageSize, permissions: permissions)
    }

    /// Opens the existing queue named `name`.
    ///
    /// The corresponding C call is `mq_open(name, access)`.
    ///
    /// - Throws: `.notFound` if no queue has that name.
    public static func open(_ name: String, access: Access = .readWrite) throws(IPCError)
      -> MessageQueue
    {
      try open(
        name, access: access, flags: 0, maxMessages: nil, messageSize: nil,
        permissions: .ownerReadWrite)
    }

    private static func open(
      _ name: String, access: Access, flags: Int32, maxMessages: Int?, messageSize: Int?,
      permissions: Permissions
    ) throws(IPCError) -> MessageQueue {
      try POSIXName.validate(name, operation: "mq_open", kind: "message queue")
      var attributes = try openAttributes(name, maxMessages: maxMessages, messageSize: messageSize)
      let mode = mode_t(permissions.rawValue)
      func call(_ flags: Int32) -> Result<Int32, IPCError.Code> {
        let allFlags = flags | access.flags | O_CLOEXEC
        return retryingInterrupts(.mqOpen) {
          attributes == nil
            ? cipc_mq_open(name, allFlags, mode, nil)
            : cipc_mq_open(name, allFlags, mode, &attributes!)
        }
      }
      let (result, created) = POSIXName.open(flags: flags, call)
      switch result {
      case .success(let fd):
        // The umask narrowed the mode mq_open applied: set exactly what was asked.
        if created {
          _ = fchmod(fd, mode)
          POSIXName.recordCreation(name, kind: POSIXName.RecordKind.queue, info: POSIXName.status(of: fd))
        }
        return try MessageQueue(name: name, access: access, descriptor: fd)
      case .failure(let code):
        throw IPCError(
          code: code, operation: "mq_open", object: "queue \(name)",
          reason: openFailureReason(code, name: name, attributes: attributes))
      }
    }

    /// The attributes for `mq_open`: nil for the system's defaults. Limits that
    /// no process could use are rejected here; those above the unprivileged
    /// limits are left to the kernel, which lets `CAP_SYS_RESOURCE` exceed them.
    private static func openAttributes(_ name: String, maxMessages: Int?, messageSize: Int?)
      throws(IPCError) -> mq_attr?
    {
      guard maxMessages != nil || messageSize != nil else { return nil }
      for (value, what) in [(maxMessages, "max messages"), (messageSize, "message size")] {
        if let value, value < 1 {
          throw IPCError(
            code: .invalidArgument, operation: "mq_open", object: "queue \(name)",
            reason: "\(what) \(value) is invalid: it must be 1 or more")
        }
      }
      // Both must be set in mq_attr; a missing one takes what the kernel
      // gives a queue made without attributes: the default, capped at the limit.
      let limits = Limits.current()
      var attributes = mq_attr()
      attributes.mq_maxmsg = maxMessages ?? min(limits.defaultMaxMessages, limits.maxMessages)
      attributes.mq_msgsize = messageSize ?? min(limits.defaultMessageSize, limits.maxMessageSize)
      return attributes
    }

    private static func openFailureReason(_ code: IPCError.Code, name: String, attributes: mq_attr?)
      -> String?
    {
      let limits = Limits.current()
      switch code {
      case .notFound:
        return "no message queue is named \(name); create it first with MessageQueue.create"
      case .exists:
        return "a message queue named \(name) already exists; open it, or unlink it first"
      case .permissionDenied:
        return "the queue \(name) exists but its permissions do not allow this access"
      case .invalidArgument:
        guard let attributes else { return nil }
        // The kernel's hard limits bind everyone; msg_max and msgsize_max bind
        // processes without CAP_SYS_RESOURCE.
        if attributes.mq_maxmsg > Self.hardMaxMessages {
          return "max messages \(attributes.mq_maxmsg) exceeds the kernel's hard limit of"
            + " \(Self.hardMaxMessages) (HARD_MSGMAX); msg_max is \(limits.maxMessages),"
            + " see \(Limits.path("msg_max"))"
        }
        if attributes.mq_msgsize > Self.hardMaxMessageSize {
          return "message size \(attributes.mq_msgsize) exceeds the kernel's hard limit of"
            + " \(Self.hardMaxMessageSize) bytes (HARD_MSGSIZEMAX); msgsize_max is"
            + " \(limits.maxMessageSize), see \(Limits.path("msgsize_max"))"
        }
        if attributes.mq_maxmsg > limits.maxMessages {
          return "max messages \(attributes.mq_maxmsg) exceeds msg_max \(limits.maxMessages),"
            + " see \(Limits.path("msg_max")) (only CAP_SYS_RESOURCE may exceed it)"
        }
        if attributes.mq_msgsize > limits.maxMessageSize {
          return "message size \(attributes.mq_msgsize) exceeds msgsize_max"
            + " \(limits.maxMessageSize), see \(Limits.path("msgsize_max"))"
            + " (only CAP_SYS_RESOURCE may exceed it)"
        }
        return nil
      case .noSpace:
        return "the system-wide limit of \(limits.maxQueues) message queues is reached,"
          + " see \(Limits.path("queues_max"))"
      case .tooManyOpen:
        let need =
          attributes.map { "\($0.mq_maxmsg * $0.mq_msgsize)" }
          ?? "\(limits.defaultMaxMessages * limits.defaultMessageSize)"
        let budget = limits.bytesPerUser.map { "\($0) bytes" } ?? "unlimited"
        return "either this process has too many descriptors open (ulimit -n), or the queue's"
          + " \(need)+ bytes exceed what this user may still hold of RLIMIT_MSGQUEUE"
          + " (\(budget), ulimit -q)"
      case .nameTooLong:
        return "the name is longer than NAME_MAX (\(POSIXName.maxLength)) bytes"
      default:
        return nil
      }
    }

    // MARK: Sending

    /// Sends `bytes` as one message with `priority`, waiting while the queue is full.
    ///
    /// The queue is unchanged if the send fails. The corresponding C function
    /// is `mq_send`.
    ///
    /// - Parameters:
    ///   - bytes: at most ``messageSize`` bytes; zero is a valid message.
    ///   - priority: 0 ..< `MQ_PRIO_MAX` (32768); higher is received first.
    /// - Throws: `.messageTooLong` above ``messageSize``; `.invalidArgument`
    ///   for a priority out of range; `.badDescriptor` on a read-only or closed one.
    public func send(_ bytes: UnsafeRawBufferPointer, priority: Int = 0) throws(IPCError) {
      _ = try send(bytes, priority: priority, waiting: true)
    }

    /// Sends `bytes` as one message with `priority`, waiting while the queue is full.
    ///
    /// Accepts any collection of bytes: `[UInt8]`, `ArraySlice`, a string's
    /// `utf8` view. The corresponding C function is `mq_send`.
    public func send<Bytes: Sequence<UInt8>>(_ bytes: Bytes, priority: Int = 0) throws(IPCError) {
      try withContiguousBytes(bytes) { (buffer) throws(IPCError) in
        try send(buffer, priority: priority)
      }
    }

    /// Sends `bytes` if the queue has room now; false, with the queue
    /// unchanged, if it is full.
    ///
    /// The corresponding C call is `mq_timedsend` with a deadline already past.
    public func trySend(_ bytes: UnsafeRawBufferPointer, priority: Int = 0) throws(IPCError) -> Bool {
      try send(bytes, priority: priority, waiting: false)
    }

    /// Sends `bytes` if the queue has room now; false, with the queue
    /// unchanged, if it is full.
    public func trySend<Bytes: Sequence<UInt8>>(_ bytes: Bytes, priority: Int = 0) throws(IPCError)
      -> Bool
    {
      try withContiguousBytes(bytes) { (buffer) throws(IPCError) in
        try trySend(buffer, priority: priority)
      }
    }

    /// Sends `bytes`, waiting at most `timeout` for room in a full queue;
    /// false, with the queue unchanged, if it expired.
    ///
    /// `mq_timedsend` takes a wall-clock deadline, which a clock change moves;
    /// this waits in `poll` for the time left on the monotonic clock instead,
    /// and tries `mq_timedsend` with a past deadline each time there is room.
    public func send(_ bytes: UnsafeRawBufferPointer, priority: Int = 0, timeout: Duration)
      throws(IPCError) -> Bool
    {
      try Readiness.until(timeout, descriptor: fileDescriptor, events: Readiness.writable) {
        () throws(IPCError) in try send(bytes, priority: priority, waiting: false) ? true : nil
      } ?? false
    }

    /// Sends `bytes`, waiting at most `timeout` for room in a full queue;
    /// false, with the queue unchanged, if it expired.
    public func send<Bytes: Sequence<UInt8>>(_ bytes: Bytes, priority: Int = 0, timeout: Duration)
      throws(IPCError) -> Bool
    {
      try withContiguousBytes(bytes) { (buffer) throws(IPCError) in
        try send(buffer, priority: priority, timeout: timeout)
      }
    }

    /// Sends one message; returns false if not `waiting` and the queue is full.
    @inline(__always)
    private func send(_ bytes: UnsafeRawBufferPointer, priority: Int, waiting: Bool)
      throws(IPCError) -> Bool
    {
      let fd = try liveDescriptor(for: "mq_send")
      guard access.canSend else { throw wrongAccess("mq_send", needs: "send") }
      guard bytes.count <= messageSize else {
        throw IPCError(
          code: .messageTooLong, operation: "mq_send", object: description,
          reason: "message of \(bytes.count) bytes exceeds the queue's message size \(messageSize),"
            + " set when it was created (its messageSize)")
      }
      guard priority >= 0, priority < Self.priorityLimit else {
        throw IPCError(
          code: .invalidArgument, operation: "mq_send", object: description,
          reason: "priority \(priority) is out of range: it must be 0 ..< MQ_PRIO_MAX (\(Self.priorityLimit))"
        )
      }
      let text = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? Self.noText
      let result =
        waiting
        ? retryingInterrupts(.mqSend) { mq_send(fd, text, bytes.count, UInt32(priority)) }
        : retryingInterrupts(.mqSend) {
          withUnsafePointer(to: Self.past) { mq_timedsend(fd, text, bytes.count, UInt32(priority), $0) }
        }
      switch result {
      case .success:
        return true
      case .failure(.timedOut), .failure(.wouldBlock):
        return false
      case .failure(let code):
        throw operationError(code, "mq_send")
      }
    }

    /// Where an empty message's text "is": the kernel reads none of it, but
    /// the C interface wants an address. Never written, so shared safely.
    nonisolated(unsafe) private static let noText = UnsafePointer(
      UnsafeMutablePointer<CChar>.allocate(capacity: 1))

    /// The limits no process may exceed, privileged or not (HARD_MSGMAX and
    /// HARD_MSGSIZEMAX in the kernel's ipc/mqueue.c).
    static let hardMaxMessages = 65536
    static let hardMaxMessageSize = 16 * 1024 * 1024

    /// A deadline long past: `mq_timed*` then fails at once with ETIMEDOUT
    /// instead of waiting, which makes a non-blocking try on a blocking descriptor.
    private static let past = timespec(tv_sec: 0, tv_nsec: 0)

    // MARK: Receiving

    /// Receives the oldest message of the highest priority, waiting until there is one.
    ///
    /// The corresponding C function is `mq_receive`, given a buffer of
    /// ``messageSize`` bytes, so it never fails for lack of room.
    public func receive() throws(IPCError) -> Message {
      guard let message = try receiveMessage(waiting: true) else {
        throw IPCError(code: .wouldBlock, operation: "mq_receive", object: description)
      }
      return message
    }

    /// Receives the next message if there is one now; nil if the queue is empty.
    ///
    /// The corresponding C call is `mq_timedreceive` with a deadline already past.
    public func tryReceive() throws(IPCError) -> Message? {
      try receiveMessage(waiting: false)
    }

    /// Receives the next message, waiting at most `timeout` on the monotonic
    /// clock; nil, with nothing consumed, if it expired.
    ///
    /// The wait is a `poll` for the time left, not `mq_timedreceive`'s
    /// wall-clock deadline, so a clock change or a signal does not move it.
    public func receive(timeout: Duration) throws(IPCError) -> Message? {
      try Readiness.until(timeout, descriptor: fileDescriptor, events: Readiness.readable) {
        () throws(IPCError) in try receiveMessage(waiting: false)
      }
    }

    /// Receives the next message into `buffer`, waiting until there is one.
    ///
    /// The kernel writes straight into `buffer`: nothing is allocated or
    /// copied. `mq_receive` needs room for the largest possible message, so
    /// `buffer` must hold at least ``messageSize`` bytes.
    ///
    /// - Returns: the message's priority, and how many bytes of `buffer` hold it.
    /// - Throws: `.messageTooLong`, before any call and with nothing consumed,
    ///   if `buffer` is smaller than ``messageSize``.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError)
      -> (priority: Int, count: Int)
    {
      guard let received = try receive(into: buffer, waiting: true) else {
        throw IPCError(code: .wouldBlock, operation: "mq_receive", object: description)
      }
      return received
    }

    /// Receives the next message into `buffer` if there is one now; nil if
    /// the queue is empty. `buffer` must hold at least ``messageSize`` bytes.
    public func tryReceive(into buffer: UnsafeMutableRawBufferPointer) throws(IPCError)
      -> (priority: Int, count: Int)?
    {
      try receive(into: buffer, waiting: false)
    }

    /// Receives the next message into `buffer`, waiting at most `timeout` on
    /// the monotonic clock; nil, with nothing consumed, if it expired.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration)
      throws(IPCError) -> (priority: Int, count: Int)?
    {
      try Readiness.until(timeout, descriptor: fileDescriptor, events: Readiness.readable) {
        () throws(IPCError) in try receive(into: buffer, waiting: false)
      }
    }

    private func receiveMessage(waiting: Bool) throws(IPCError) -> Message? {
      // The kernel needs room for the largest message; copy out only what came.
      let received = ScratchBuffer.with(byteCount: messageSize) { buffer in
        Result { () throws(IPCError) in
          try receive(into: buffer, waiting: waiting).map { priority, count in
            Message(bytes: Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count])), priority: priority)
          }
        }
      }
      return try received.get()
    }

    @inline(__always)
    private func receive(into buffer: UnsafeMutableRawBufferPointer, waiting: Bool)
      throws(IPCError) -> (priority: Int, count: Int)?
    {
      let fd = try liveDescriptor(for: "mq_receive")
      guard access.canReceive else { throw wrongAccess("mq_receive", needs: "receive") }
      guard buffer.count >= messageSize else {
        throw IPCError(
          code: .messageTooLong, operation: "mq_receive", object: description,
          reason: "a buffer of \(buffer.count) bytes is smaller than the queue's message size"
            + " \(messageSize); mq_receive needs room for the largest message (nothing was received)")
      }
      let text = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
      var priority: UInt32 = 0
      let result =
        waiting
        ? retryingInterrupts(.mqReceive) { mq_receive(fd, text, buffer.count, &priority) }
        : retryingInterrupts(.mqReceive) {
          withUnsafePointer(to: Self.past) { mq_timedreceive(fd, text, buffer.count, &priority, $0) }
        }
      switch result {
      case .success(let count):
        return (Int(priority), count)
      case .failure(.timedOut), .failure(.wouldBlock):
        return nil
      case .failure(let code):
        throw operationError(code, "mq_receive")
      }
    }

    // MARK: Control

    /// The queue's limits and how many messages it holds now.
    ///
    /// The corresponding C function is `mq_getattr`.
    public func attributes() throws(IPCError) -> Attributes {
      let fd = try liveDescriptor(for: "mq_getattr")
      var attributes = mq_attr()
      if case .failure(let code) = once({ mq_getattr(fd, &attributes) }) {
        throw operationError(code, "mq_getattr")
      }
      return Attributes(
        maxMessages: attributes.mq_maxmsg, messageSize: attributes.mq_msgsize,
        currentMessages: attributes.mq_curmsgs)
    }

    /// Removes the queue's name. Processes that have it open keep using it;
    /// the queue is destroyed when the last of them closes it.
    ///
    /// The corresponding C function is `mq_unlink`.
    public func unlink() throws(IPCError) {
      try Self.unlink(name)
    }

    /// Removes the queue named `name`; see ``unlink()``.
    ///
    /// - Throws: `.notFound` if no queue has that name.
    public static func unlink(_ name: String) throws(IPCError) {
      try POSIXName.validate(name, operation: "mq_unlink", kind: "message queue")
      try POSIXName.unlink(
        name, operation: "mq_unlink", object: "queue \(name)", kind: "message queue",
        recordKind: POSIXName.RecordKind.queue,
        forbidden: "only the queue's owner or a privileged process may unlink it"
      ) { mq_unlink($0) }
    }

    /// Closes this descriptor now rather than when the object is released.
    /// The queue itself stays; later calls on this object fail with `EBADF`.
    ///
    /// The corresponding C function is `mq_close`.
    public func close() throws(IPCError) {
      let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
      guard fd >= 0 else { throw closedError("mq_close") }
      dropNotification()
      // poll does not return when another thread closes its descriptor: wake
      // async iterators waiting on it, so they retry and see the queue closed.
      DescriptorWaiter.existing?.resumeAll(waitingOn: fd)
      if case .failure(let code) = once({ mq_close(fd) }) {
        throw operationError(code, "mq_close")
      }
    }

    // MARK: Errors

    /// The open descriptor, or an error naming `operation` if it was closed.
    @inline(__always)
    func liveDescriptor(for operation: String) throws(IPCError) -> Int32 {
      let fd = descriptor.load(ordering: .acquiring)
      guard fd >= 0 else { throw closedError(operation) }
      return fd
    }

    private func closedError(_ operation: String) -> IPCError {
      IPCError(
        code: .badDescriptor, operation: operation, object: description,
        reason: "this queue object was closed; open the queue again to use it")
    }

    private func wrongAccess(_ operation: String, needs: String) -> IPCError {
      IPCError(
        code: .badDescriptor, operation: operation, object: description,
        reason: "the queue was opened \(access), which cannot \(needs);"
          + " open it \(needs == "send" ? ".writeOnly" : ".readOnly") or .readWrite")
    }

    func operationError(_ code: IPCError.Code, _ operation: String) -> IPCError {
      let reason: String? =
        switch code {
        case .badDescriptor: "the descriptor is not open for this (closed, or opened \(access))"
        case .messageTooLong: "the message does not fit the queue's message size \(messageSize)"
        case .busy:
          "a notification is already registered on this queue, by this or another process;"
            + " cancel it, or wait until it fires"
        default: nil
        }
      return IPCError(code: code, operation: operation, object: description, reason: reason)
    }
  }
}
