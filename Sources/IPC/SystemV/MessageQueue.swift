import CIPCShims
import Glibc
import Synchronization

extension SystemV {
  /// A System V message queue: typed messages between processes, received in
  /// FIFO order, optionally selected by message type.
  ///
  /// The queue is a kernel object named by its id; this handle is a small
  /// copyable value, and copying it does not copy the queue. The queue lives
  /// until ``remove()``, whatever happens to the processes that use it.
  ///
  ///     let queue = try SystemV.MessageQueue.create()            // IPC_PRIVATE, 0600
  ///     try queue.send(Array("hello".utf8), type: 1)
  ///     let message = try queue.receive(.type(1))
  ///     print(message.type, message.text)
  ///     try queue.remove()
  ///
  /// Every receive has a blocking form (`receive(_:truncating:)`), a
  /// non-blocking form that returns nil (``tryReceive(_:truncating:)``), and a
  /// form with a timeout (`receive(_:timeout:truncating:)`); the blocking and
  /// timed forms of sends and receives also have async forms of the same name,
  /// which wait without holding a thread of Swift's cooperative pool
  /// (`try await queue.receive()`, ``messages(_:truncating:)``). Blocking calls
  /// are retried when a signal interrupts them (EINTR), and a queue removed
  /// while a process waits on it ends the wait with `IPCError.Code.removed`.
  public struct MessageQueue: Hashable, Sendable, CustomStringConvertible {
    /// The kernel's id for the queue (the `msqid` column of `ipcs -q`).
    public let id: Int32

    init(validatedID: Int32) { self.id = validatedID }

    /// `queue <id>`, as errors name it.
    public var description: String { "queue \(id)" }

    // MARK: Creating and opening

    /// Creates a new queue, failing if one already exists for `key`.
    ///
    /// With the default ``Key/private`` key, every call makes a new queue that
    /// other processes can only reach through its ``id``.
    ///
    /// The corresponding C call is `msgget(key, IPC_CREAT | IPC_EXCL | mode)`.
    ///
    /// - Throws: `.exists` if `key` already names a queue; `.noSpace` when the
    ///   system's `msgmni` queues exist.
    public static func create(
      key: Key = .private,
      permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> MessageQueue {
      created(try get(key: key, flags: IPC_CREAT | IPC_EXCL | SystemV.mode(permissions)))
    }

    /// Opens the queue for `key`, creating it if there is none.
    ///
    /// `permissions` apply only when the queue is created.
    ///
    /// The corresponding C calls are `msgget(key, IPC_CREAT | IPC_EXCL | mode)`,
    /// then `msgget(key, 0)` if it exists: creating exclusively first tells
    /// whether this call made the queue (and so writes its owner record).
    public static func openOrCreate(
      key: Key,
      permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> MessageQueue {
      try SystemV.openOrCreate(
        createExclusively: { msgget(key.rawValue, IPC_CREAT | IPC_EXCL | SystemV.mode(permissions)) },
        openExisting: { msgget(key.rawValue, 0) },
        created: { created(MessageQueue(validatedID: $0)) },
        opened: { MessageQueue(validatedID: $0) },
        failure: { code in
          IPCError(
            code: code, operation: "msgget", object: "key \(key)", reason: getFailureReason(code, key: key))
        })
    }

    /// `queue`, which this process just made, with its owner record written.
    private static func created(_ queue: MessageQueue) -> MessageQueue {
      OwnerRecords.record(kind: SystemV.RecordKind.queue, identity: "\(queue.id)")
      return queue
    }

    /// Opens the existing queue for `key`.
    ///
    /// The corresponding C call is `msgget(key, 0)`.
    ///
    /// - Throws: `.notFound` if no queue exists for `key`.
    public static func open(key: Key) throws(IPCError) -> MessageQueue {
      try SystemV.checkOpenable(key, operation: "msgget", kind: "queue")
      return try get(key: key, flags: 0)
    }

    /// Opens the existing queue with kernel id `id`, checking that it exists.
    ///
    /// The corresponding C call is `msgctl(id, IPC_STAT, ...)`, used as a probe.
    ///
    /// - Throws: `.notFound` if no queue has that id (the kernel says `EINVAL`).
    public static func open(id: Int32) throws(IPCError) -> MessageQueue {
      var info = msqid_ds()
      switch once({ msgctl(id, IPC_STAT, &info) }) {
      case .success, .failure(.permissionDenied):
        // A queue we may not read still exists; operations will say why they fail.
        return MessageQueue(validatedID: id)
      case .failure(.invalidArgument), .failure(.removed):
        // The kernel says EINVAL; report it as open(key:) does a missing key.
        throw IPCError(
          code: .notFound, operation: "msgctl(IPC_STAT)", object: "queue \(id)",
          reason: "no message queue has id \(id) (never made, or removed)")
      case .failure(let code):
        throw IPCError(code: code, operation: "msgctl(IPC_STAT)", object: "queue \(id)")
      }
    }

    private static func get(key: Key, flags: Int32) throws(IPCError) -> MessageQueue {
      switch once({ msgget(key.rawValue, flags) }) {
      case .success(let id):
        return MessageQueue(validatedID: id)
      case .failure(let code):
        throw IPCError(
          code: code, operation: "msgget", object: "key \(key)",
          reason: getFailureReason(code, key: key))
      }
    }

    private static func getFailureReason(_ code: IPCError.Code, key: Key) -> String? {
      switch code {
      case .notFound:
        return "no message queue exists for key \(key); create it first with MessageQueue.create(key:)"
      case .exists:
        let which = SystemV.existingID { msgget(key.rawValue, 0) }
        return "a message queue already exists for key \(key)\(which); open it, or remove it first"
      case .noSpace:
        let limit = ProcFile.integer("/proc/sys/kernel/msgmni").map { " \($0)" } ?? ""
        return "the system-wide limit of\(limit) message queues is reached, see /proc/sys/kernel/msgmni"
      case .permissionDenied:
        return "the queue for key \(key) exists but its permissions do not allow this process in"
      default:
        return nil
      }
    }

    // MARK: Sending

    /// Sends `bytes` as one message of type `type`, waiting while the queue is full.
    ///
    /// Zero bytes is a valid message. The queue is unchanged if the send fails.
    ///
    /// The corresponding C function is `msgsnd`.
    ///
    /// - Parameters:
    ///   - bytes: the message text; at most `msgmax` bytes (/proc/sys/kernel/msgmax).
    ///   - type: the message type, 1 or more; receivers select messages by it.
    /// - Throws: `.invalidArgument` for a type below 1, a message above
    ///   `msgmax`, or one larger than the queue's byte limit (it could never
    ///   fit); `.removed` if the queue is removed while waiting.
    public func send(_ bytes: UnsafeRawBufferPointer, type: Int) throws(IPCError) {
      try sendWaiting(bytes, type: type)
    }

    /// A blocking send that never waits for a message that can never fit: the
    /// queue's byte limit comes from ``QueueLimitCache``, so the usual case is
    /// one `msgsnd`, as in C.
    @inline(__always)
    private func sendWaiting(_ bytes: UnsafeRawBufferPointer, type: Int) throws(IPCError) {
      if let limit = QueueLimitCache.maxBytes(of: id), bytes.count <= limit {
        _ = try send(bytes, type: type, flags: 0)
        return
      }
      // Unknown limit: try without waiting; only a full queue needs the check.
      if try send(bytes, type: type, flags: IPC_NOWAIT) { return }
      _ = try send(bytes, type: type, flags: 0)
    }

    /// Sends `bytes` as one message of type `type`, waiting while the queue is full.
    ///
    /// Accepts any contiguous collection of bytes: `[UInt8]`, `ArraySlice`,
    /// `ContiguousArray`, a native string's `utf8` view. The corresponding C
    /// function is `msgsnd`.
    public func send<Bytes: Sequence<UInt8>>(_ bytes: Bytes, type: Int) throws(IPCError) {
      try withContiguousBytes(bytes) { (buffer) throws(IPCError) in
        try sendWaiting(buffer, type: type)
      }
    }

    /// Sends `bytes` if the queue has room now; returns false, with the queue
    /// unchanged, if it is full.
    ///
    /// The corresponding C call is `msgsnd(..., IPC_NOWAIT)`.
    public func trySend(_ bytes: UnsafeRawBufferPointer, type: Int) throws(IPCError) -> Bool {
      try send(bytes, type: type, flags: IPC_NOWAIT)
    }

    /// Sends `bytes` if the queue has room now; returns false, with the queue
    /// unchanged, if it is full.
    ///
    /// The corresponding C call is `msgsnd(..., IPC_NOWAIT)`.
    public func trySend<Bytes: Sequence<UInt8>>(_ bytes: Bytes, type: Int) throws(IPCError) -> Bool {
      try withContiguousBytes(bytes) { (buffer) throws(IPCError) in
        try send(buffer, type: type, flags: IPC_NOWAIT)
      }
    }

    /// Sends `bytes`, waiting at most `timeout` for room in a full queue.
    ///
    /// System V queues have no timed send, so this polls with `IPC_NOWAIT`,
    /// backing off from 50 µs to 5 ms between tries on the monotonic clock.
    ///
    /// - Returns: false, with the queue unchanged, if the timeout expired.
    public func send(_ bytes: UnsafeRawBufferPointer, type: Int, timeout: Duration) throws(IPCError)
      -> Bool
    {
      try polling(timeout) { () throws(IPCError) in
        try send(bytes, type: type, flags: IPC_NOWAIT) ? true : nil
      } ?? false
    }

    /// Sends `bytes`, waiting at most `timeout` for room in a full queue.
    ///
    /// System V queues have no timed send, so this polls with `IPC_NOWAIT`,
    /// backing off from 50 µs to 5 ms between tries on the monotonic clock.
    ///
    /// - Returns: false, with the queue unchanged, if the timeout expired.
    public func send<Bytes: Sequence<UInt8>>(
      _ bytes: Bytes, type: Int, timeout: Duration
    ) throws(IPCError) -> Bool {
      try withContiguousBytes(bytes) { (buffer) throws(IPCError) in
        try send(buffer, type: type, timeout: timeout)
      }
    }

    /// Sends one message; returns false if `IPC_NOWAIT` was given and the queue is full.
    @inline(__always)
    func send(_ bytes: UnsafeRawBufferPointer, type: Int, flags: Int32) throws(IPCError) -> Bool {
      guard type >= 1 else {
        throw IPCError(
          code: .invalidArgument, operation: "msgsnd", object: description,
          reason: "message type \(type) is invalid: a sent message's type must be 1 or more")
      }
      let header = Int(CIPC_MSG_HEADER_SIZE)
      // msgsnd reads the type and the text from one buffer, so the text is copied
      // behind the type, in scratch memory that is never malloc'ed per message.
      let result = ScratchBuffer.with(byteCount: header + bytes.count) { buffer in
        buffer.storeBytes(of: type, as: Int.self)
        if let source = bytes.baseAddress, bytes.count > 0 {
          (buffer.baseAddress! + header).copyMemory(from: source, byteCount: bytes.count)
        }
        return retryingInterrupts(.msgsnd) { msgsnd(id, buffer.baseAddress, bytes.count, flags) }
      }
      switch result {
      case .success:
        return true
      case .failure(.wouldBlock) where flags & IPC_NOWAIT != 0:
        // Full, or can it never fit? Asked afresh each time: a limit cached
        // earlier may have been lowered since by another process.
        try checkFits(size: bytes.count)
        return false
      case .failure(let code):
        throw sendError(code, size: bytes.count)
      }
    }

    /// Throws if a message of `size` bytes can never fit the queue: the kernel
    /// would report "full" (or block) forever instead of failing.
    private func checkFits(size: Int) throws(IPCError) {
      var info = msqid_ds()
      guard case .success = once({ msgctl(id, IPC_STAT, &info) }) else {
        // A write-only sender may not read the limit: for it the queue is just
        // full, as the kernel alone would say. Do not ask again for every message.
        QueueLimitCache.record(Int(UInt32.max), of: id)
        return
      }
      let maxBytes = info.msg_qbytes
      QueueLimitCache.record(Int(maxBytes), of: id)
      // Above msgmax the kernel fails the send itself, with the error that names msgmax.
      guard size > Int(maxBytes), size <= Limits.maxMessageSize else { return }
      throw IPCError(
        code: .invalidArgument, operation: "msgsnd", object: description,
        reason: "message of \(size) bytes can never fit: the queue holds at most \(maxBytes) bytes"
          + " (raise it with setMaxBytes)")
    }

    /// `Polling.until` for the timed forms, whose tries use `IPC_NOWAIT`: only
    /// a caller blocked in the kernel learns of a removal as EIDRM; a try after
    /// it fails with EINVAL. A queue that was there for the first try and is
    /// gone now is reported as the blocking forms report it, `.removed`.
    private func polling<T>(_ timeout: Duration, _ attempt: () throws(IPCError) -> T?) throws(IPCError) -> T?
    {
      var tried = false
      return try Polling.until(timeout) { () throws(IPCError) -> T? in
        do throws(IPCError) {
          let value = try attempt()
          tried = true
          return value
        } catch {
          guard tried, error.code == .invalidArgument, !exists else { throw error }
          let sending = error.operation.hasPrefix("msgsnd")
          throw IPCError(
            code: .removed, operation: error.operation, object: description,
            reason: "the queue was removed while this process was waiting to \(sending ? "send" : "receive")")
        }
      }
    }

    /// Whether the queue is still there (`msgctl(IPC_STAT)` does not fail with EINVAL or EIDRM).
    private var exists: Bool {
      var info = msqid_ds()
      return msgctl(id, IPC_STAT, &info) == 0 || (errno != EINVAL && errno != EIDRM)
    }

    private func sendError(_ code: IPCError.Code, size: Int) -> IPCError {
      var reason: String? = nil
      switch code {
      case .invalidArgument:
        let limit = SystemV.MessageQueue.Limits.current().maxMessageSize
        if size > limit {
          reason =
            "message of \(size) bytes exceeds msgmax \(limit), see /proc/sys/kernel/msgmax"
        } else {
          reason = "no message queue has id \(id) (never made, or removed)"
        }
      case .removed:
        reason = "the queue was removed while this process was waiting to send"
      case .permissionDenied:
        reason = "the queue's permissions do not allow this process to write"
      case .noMemory:
        reason = "the kernel could not allocate memory for a message of \(size) bytes"
      default:
        break
      }
      return IPCError(code: code, operation: "msgsnd", object: description, reason: reason)
    }

    // MARK: Receiving

    /// Receives the first message `selector` admits, waiting until there is one.
    ///
    /// The corresponding C function is `msgrcv`.
    ///
    /// - Parameters:
    ///   - selector: which messages qualify; ``Selector/any`` takes the oldest.
    ///   - truncating: cut a message longer than `msgmax` instead of failing
    ///     (`MSG_NOERROR`); only matters if `msgmax` was lowered after the send.
    /// - Throws: `.removed` if the queue is removed while waiting;
    ///   `.invalidArgument` for a selector type below 1.
    public func receive(_ selector: Selector = .any, truncating: Bool = false) throws(IPCError)
      -> Message
    {
      // A blocking receive without IPC_NOWAIT never reports "no message".
      guard let message = try receiveMessage(selector, flags: 0, truncating: truncating) else {
        throw IPCError(code: .noMessage, operation: "msgrcv", object: description)
      }
      return message
    }

    /// Receives the first message `selector` admits if there is one now; nil
    /// if there is none.
    ///
    /// The corresponding C call is `msgrcv(..., IPC_NOWAIT)`.
    public func tryReceive(_ selector: Selector = .any, truncating: Bool = false) throws(IPCError)
      -> Message?
    {
      try receiveMessage(selector, flags: IPC_NOWAIT, truncating: truncating)
    }

    /// Receives the first message `selector` admits, waiting at most `timeout`.
    ///
    /// System V queues have no timed receive, so this polls with `IPC_NOWAIT`,
    /// backing off from 50 µs to 5 ms between tries on the monotonic clock:
    /// a message is seen at most 5 ms after it arrives.
    ///
    /// - Returns: nil, with nothing consumed, if the timeout expired.
    public func receive(
      _ selector: Selector = .any, timeout: Duration, truncating: Bool = false
    ) throws(IPCError) -> Message? {
      try polling(timeout) { () throws(IPCError) in
        try receiveMessage(selector, flags: IPC_NOWAIT, truncating: truncating)
      }
    }

    /// Receives the first message `selector` admits into `buffer`, waiting
    /// until there is one. Allocates nothing after a thread's first call: the
    /// kernel writes the type and text into per-thread scratch memory (at most
    /// `msgmax` bytes), and the text is copied to `buffer`.
    ///
    /// The corresponding C function is `msgrcv`.
    ///
    /// - Returns: the message type and how many bytes of `buffer` hold its text.
    /// - Throws: `.tooBig` if the message is longer than `buffer` and
    ///   `truncating` is false; the message then stays in the queue.
    public func receive(
      _ selector: Selector = .any, into buffer: UnsafeMutableRawBufferPointer,
      truncating: Bool = false
    ) throws(IPCError) -> (type: Int, count: Int) {
      guard let received = try receive(selector, into: buffer, flags: 0, truncating: truncating)
      else {
        throw IPCError(code: .noMessage, operation: "msgrcv", object: description)
      }
      return received
    }

    /// Receives the first message `selector` admits into `buffer`, waiting at
    /// most `timeout` (polling, as `receive(_:timeout:truncating:)` does).
    ///
    /// - Returns: nil, with nothing consumed, if the timeout expired.
    public func receive(
      _ selector: Selector = .any, into buffer: UnsafeMutableRawBufferPointer, timeout: Duration,
      truncating: Bool = false
    ) throws(IPCError) -> (type: Int, count: Int)? {
      try polling(timeout) { () throws(IPCError) in
        try receive(selector, into: buffer, flags: IPC_NOWAIT, truncating: truncating)
      }
    }

    /// Receives the first message `selector` admits into `buffer` if there is
    /// one now; nil if there is none.
    ///
    /// The corresponding C call is `msgrcv(..., IPC_NOWAIT)`.
    public func tryReceive(
      _ selector: Selector = .any, into buffer: UnsafeMutableRawBufferPointer,
      truncating: Bool = false
    ) throws(IPCError) -> (type: Int, count: Int)? {
      try receive(selector, into: buffer, flags: IPC_NOWAIT, truncating: truncating)
    }

    /// Copies the message at position `index` (0 is the oldest) without
    /// removing it, whatever its type; nil if the queue holds fewer messages.
    ///
    /// The corresponding C call is `msgrcv(..., index, IPC_NOWAIT | MSG_COPY)`,
    /// which needs a kernel built with `CONFIG_CHECKPOINT_RESTORE`.
    ///
    /// - Throws: `.unsupported` where the kernel lacks `MSG_COPY`.
    public func peek(at index: Int = 0) throws(IPCError) -> Message? {
      guard index >= 0 else {
        throw IPCError(
          code: .invalidArgument, operation: "msgrcv(MSG_COPY)", object: description,
          reason: "message index \(index) is negative; 0 is the oldest message")
      }
      return try receiveMessage(
        operation: "msgrcv(MSG_COPY)", type: index, flags: IPC_NOWAIT | CIPC_MSG_COPY,
        truncating: false)
    }

    private func receiveMessage(_ selector: Selector, flags: Int32, truncating: Bool)
      throws(IPCError) -> Message?
    {
      let (type, selectorFlags) = try selector.msgrcvArguments(for: self)
      return try receiveMessage(
        operation: "msgrcv", type: type, flags: flags | selectorFlags, truncating: truncating)
    }

    private func receiveMessage(operation: String, type: Int, flags: Int32, truncating: Bool)
      throws(IPCError) -> Message?
    {
      try receiveOne(operation: operation, type: type, flags: flags, truncating: truncating) {
        Message(type: $0, bytes: Array($1))
      }
    }

    private func receive(
      _ selector: Selector, into destination: UnsafeMutableRawBufferPointer, flags: Int32,
      truncating: Bool
    ) throws(IPCError) -> (type: Int, count: Int)? {
      let (type, selectorFlags) = try selector.msgrcvArguments(for: self)
      return try receiveOne(
        operation: "msgrcv", type: type, flags: flags | selectorFlags, truncating: truncating,
        room: destination.count
      ) { type, text in
        if let source = text.baseAddress, text.count > 0 {
          destination.baseAddress!.copyMemory(from: source, byteCount: text.count)
        }
        return (type, text.count)
      }
    }

    /// The one `msgrcv` loop behind every receive and peek: the kernel writes the
    /// type and text into scratch memory, and `deliver` gets them (nil: nothing
    /// waiting under `IPC_NOWAIT`).
    ///
    /// Room starts at `msgmax`, or `room` if smaller, so a large caller buffer
    /// does not grow the scratch memory beyond any possible message. E2BIG then
    /// means `msgmax` changed since it was read (or was lowered after the send):
    /// no message exceeds the queue's byte limit, so retry once with room for
    /// that, up to `room`, before reporting the message too big.
    /// Always inlined: left generic, it costs the 4 KiB throughput row ~10%.
    @inline(__always)
    private func receiveOne<R>(
      operation: String, type: Int, flags: Int32, truncating: Bool, room: Int = .max,
      _ deliver: (Int, UnsafeRawBufferPointer) -> R
    ) throws(IPCError) -> R? {
      let header = Int(CIPC_MSG_HEADER_SIZE)
      let allFlags = flags | (truncating ? CIPC_MSG_NOERROR : 0)
      // A truncating receive must not cut at a stale msgmax: read it afresh.
      var capacity = min(room, truncating ? Limits.current().maxMessageSize : Limits.maxMessageSize)
      while true {
        let result = ScratchBuffer.with(byteCount: header + capacity) {
          buffer -> Result<R, IPCError.Code> in
          retryingInterrupts(.msgrcv) {
            msgrcv(id, buffer.baseAddress, capacity, type, allFlags)
          }.map { count in
            deliver(
              buffer.load(as: Int.self),
              UnsafeRawBufferPointer(rebasing: buffer[header..<(header + count)]))
          }
        }
        switch result {
        case .success(let value):
          return value
        case .failure(.noMessage) where flags & IPC_NOWAIT != 0:
          return nil
        case .failure(let code):
          if code == .tooBig, capacity < room {
            let largest = max(Limits.current().maxMessageSize, (try? stat().maxBytes) ?? 0)
            if min(room, largest) > capacity {
              capacity = min(room, largest)
              continue
            }
          }
          throw receiveError(code, operation: operation, capacity: room == .max ? capacity : room)
        }
      }
    }

    private func receiveError(_ code: IPCError.Code, operation: String, capacity: Int) -> IPCError {
      var reason: String? = nil
      switch code {
      case .tooBig:
        reason =
          "the message is longer than the buffer of \(capacity) bytes; it is still in the queue"
          + " (pass a larger buffer, or truncating: true to cut it)"
      case .removed:
        reason = "the queue was removed while this process was waiting to receive"
      case .invalidArgument:
        reason = "no message queue has id \(id) (never made, or removed)"
      case .permissionDenied:
        reason = "the queue's permissions do not allow this process to read"
      case .unsupported:
        reason = "this kernel lacks MSG_COPY (it needs CONFIG_CHECKPOINT_RESTORE)"
      default:
        break
      }
      return IPCError(code: code, operation: operation, object: description, reason: reason)
    }
  }
}
