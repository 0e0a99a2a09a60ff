import CIPCShims
import Glibc
import Synchronization

extension SystemV {
  /// A System V semaphore set: counters shared between processes, changed
  /// atomically by P (``wait(_:by:undo:)-89x62``) and V (``signal(_:by:undo:)``).
  ///
  /// The set is a kernel object named by its id; this handle is a small
  /// copyable value, and copying it does not copy the set. The set lives until
  /// ``remove()``, whatever happens to the processes that use it.
  ///
  ///     let set = try SystemV.SemaphoreSet.create(values: [1, 0])  // IPC_PRIVATE, 0600
  ///     try set.wait(0)             // P on semaphore 0
  ///     try set.signal(1)           // V on semaphore 1
  ///     try set.perform([.wait(1), .signal(0)])  // both at once, or neither
  ///     try set.remove()
  ///
  /// Every wait has a blocking form, a non-blocking form that returns false
  /// (``tryWait(_:by:undo:)``) and a form with a `Duration` timeout
  /// (``wait(_:by:undo:timeout:)-erwn``). Blocking calls are retried when a signal
  /// interrupts them (EINTR), and a set removed while a process waits on it
  /// ends the wait with `IPCError.Code.removed`. With `undo: true` the kernel
  /// reverses the operation when the process exits, even by `SIGKILL`: a
  /// process that dies holding a P gives it back (``SemaphoreLock`` builds on this).
  ///
  /// Creating is safe against processes that open the set at the same moment:
  /// ``create(key:values:permissions:)`` sets the values and then runs one
  /// `semop` that changes nothing, and ``openOrCreate(key:values:permissions:initializationTimeout:)``
  /// waits until a set it did not make has had one (its `sem_otime` is set), as
  /// Stevens describes, so nobody uses a set whose values are still being set.
  public struct SemaphoreSet: Hashable, Sendable, CustomStringConvertible {
    /// The kernel's id for the set (the `semid` column of `ipcs -s`).
    public let id: Int32
    /// How many semaphores the set has; fixed when it was made.
    public let count: Int

    init(id: Int32, count: Int) {
      self.id = id
      self.count = count
    }

    /// `semaphore set <id>`, as errors name it.
    public var description: String { "semaphore set \(id)" }

    // MARK: Creating and opening

    /// Creates a new set with one semaphore per value, failing if one already
    /// exists for `key`.
    ///
    /// With the default ``Key/private`` key, every call makes a new set that
    /// other processes can only reach through its ``id``.
    ///
    /// The corresponding C calls are `semget(key, n, IPC_CREAT | IPC_EXCL | mode)`,
    /// `semctl(SETALL)`, and a `semop` that leaves the values as they are but
    /// marks the set initialised.
    ///
    /// - Parameters:
    ///   - key: the key other processes open the set by; ``Key/private`` for
    ///     a set reached only through its id.
    ///   - values: the initial values, 0 to 32767 (SEMVMX); at least one and at
    ///     most SEMMSL (/proc/sys/kernel/sem, first field).
    ///   - permissions: the set's mode, 0600 by default.
    /// - Throws: `.exists` if `key` already names a set; `.invalidArgument` for
    ///   no values or more than SEMMSL; `.outOfRange` for a value above SEMVMX;
    ///   `.noSpace` at the system's limits on sets or semaphores.
    public static func create(
      key: Key = .private, values: [Int], permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> SemaphoreSet {
      try validate(values, operation: "semget", object: "key \(key)")
      let id = try get(key: key, count: values.count, flags: IPC_CREAT | IPC_EXCL | SystemV.mode(permissions))
      return try initialize(id: id, values: values)
    }

    /// Opens the set for `key`, creating it with `values` if there is none.
    ///
    /// A set this call did not make is returned once it is initialised, so
    /// several processes may call this at the same moment and all see the
    /// values the creator set. `values` and `permissions` apply only when the
    /// set is created; an existing set must have `values.count` semaphores.
    ///
    /// The corresponding C calls are those of ``create(key:values:permissions:)``,
    /// or `semget(key, 0, 0)` then `semctl(IPC_STAT)` until `sem_otime` is set.
    ///
    /// - Parameters:
    ///   - key: the key every cooperating process uses.
    ///   - values: the initial values when this call creates the set.
    ///   - permissions: the set's mode when this call creates it, 0600 by default.
    ///   - initializationTimeout: how long to wait for another process to
    ///     finish creating the set.
    /// - Throws: `.timedOut` if the set stays uninitialised that long (its
    ///   creator died, or it was made by a tool that never runs a `semop`,
    ///   such as `ipcmk -S`, Python's sysv_ipc or C code that only calls
    ///   `semget` and `semctl`: use ``open(key:initializationTimeout:)``);
    ///   `.invalidArgument` if it has a different number of semaphores.
    public static func openOrCreate(
      key: Key, values: [Int], permissions: Permissions = .ownerReadWrite,
      initializationTimeout: Duration = .seconds(5)
    ) throws(IPCError) -> SemaphoreSet {
      try validate(values, operation: "semget", object: "key \(key)")
      // Only the call that made the set sets its values.
      return try SystemV.openOrCreate(
        createExclusively: {
          semget(key.rawValue, Int32(values.count), IPC_CREAT | IPC_EXCL | SystemV.mode(permissions))
        },
        openExisting: { semget(key.rawValue, 0, 0) },
        created: { (id) throws(IPCError) in try initialize(id: id, values: values) },
        opened: { (id) throws(IPCError) in
          let set = try opened(id: id, key: key, initializationTimeout: initializationTimeout)
          guard set.count == values.count else {
            throw IPCError(
              code: .invalidArgument, operation: "semget", object: "key \(key)",
              reason: "the set for key \(key) (id \(id)) has \(set.count) semaphores, not the"
                + " \(values.count) asked for; open it with open(key:), or remove it first")
          }
          return set
        },
        failure: { getError($0, key: key, count: values.count) })
    }

    /// Opens the existing set for `key`.
    ///
    /// By default the set is returned at once, whatever its state, so sets
    /// made by any tool (`ipcmk -S`, C, Python's sysv_ipc) are usable. Give an
    /// `initializationTimeout` to wait, as ``openOrCreate(key:values:permissions:initializationTimeout:)``
    /// does, for a creator in another process to finish setting the values.
    ///
    /// The corresponding C call is `semget(key, 0, 0)`, then `semctl(IPC_STAT)`.
    ///
    /// - Throws: `.notFound` if no set exists for `key`; `.permissionDenied` if
    ///   the set's permissions do not let this process read it (its size is
    ///   read at open); `.timedOut` if it stays uninitialised past the timeout.
    public static func open(key: Key, initializationTimeout: Duration? = nil) throws(IPCError)
      -> SemaphoreSet
    {
      try SystemV.checkOpenable(key, operation: "semget", kind: "set")
      let id = try get(key: key, count: 0, flags: 0)
      return try opened(id: id, key: key, initializationTimeout: initializationTimeout)
    }

    /// Opens the existing set with kernel id `id`.
    ///
    /// The corresponding C call is `semctl(id, 0, IPC_STAT, ...)`, which also
    /// reads the set's size.
    ///
    /// - Throws: `.notFound` if no set has that id (the kernel says `EINVAL`).
    public static func open(id: Int32) throws(IPCError) -> SemaphoreSet {
      try opened(id: id, key: nil, initializationTimeout: nil)
    }

    private static func validate(_ values: [Int], operation: String, object: String) throws(IPCError) {
      guard !values.isEmpty else {
        throw IPCError(
          code: .invalidArgument, operation: operation, object: object,
          reason: "a semaphore set needs at least one semaphore (no values were given)")
      }
      let limit = Limits.current().maxPerSet
      guard values.count <= limit else {
        throw IPCError(
          code: .invalidArgument, operation: operation, object: object,
          reason: "\(values.count) semaphores exceed SEMMSL \(limit), the most in one set,"
            + " see \(Limits.path) (first field)")
      }
      try checkValues(values, operation: operation, object: object)
    }

    /// Throws unless every value is 0 to SEMVMX; `values[0]` is semaphore `firstIndex`.
    static func checkValues(_ values: [Int], firstIndex: Int = 0, operation: String, object: String)
      throws(IPCError)
    {
      for (offset, value) in values.enumerated() where !(0...Limits.maxValue).contains(value) {
        let index = firstIndex + offset
        throw IPCError(
          code: value < 0 ? .invalidArgument : .outOfRange, operation: operation, object: object,
          reason: "value \(value) for semaphore \(index) is outside 0 to \(Limits.maxValue)"
            + " (SEMVMX, the largest value a semaphore holds)")
      }
    }

    private static func get(key: Key, count: Int, flags: Int32) throws(IPCError) -> Int32 {
      switch once({ semget(key.rawValue, Int32(count), flags) }) {
      case .success(let id): return id
      case .failure(let code): throw getError(code, key: key, count: count)
      }
    }

    private static func getError(_ code: IPCError.Code, key: Key, count: Int) -> IPCError {
      let reason: String?
      switch code {
      case .notFound:
        reason =
          "no semaphore set exists for key \(key); create it first with SemaphoreSet.create(key:values:)"
      case .exists:
        let which = SystemV.existingID { semget(key.rawValue, 0, 0) }
        reason = "a semaphore set already exists for key \(key)\(which); open it, or remove it first"
      case .noSpace:
        let limits = Limits.current()
        reason =
          "the system's limit of \(limits.maxSets) sets (SEMMNI) or \(limits.maxSystemWide)"
          + " semaphores (SEMMNS) is reached, see \(Limits.path) (fourth and second fields)"
      case .permissionDenied:
        reason = "the set for key \(key) exists but its permissions do not allow this process in"
      case .invalidArgument:
        reason = "the set for key \(key) has fewer than the \(count) semaphores asked for"
      default:
        reason = nil
      }
      return IPCError(code: code, operation: "semget", object: "key \(key)", reason: reason)
    }

    /// Sets the values of a set this process just made, then marks it
    /// initialised with a `semop` that changes nothing; removes it on failure.
    private static func initialize(id: Int32, values: [Int]) throws(IPCError) -> SemaphoreSet {
      let set = SemaphoreSet(id: id, count: values.count)
      #if DEBUG
        InitializationTesting.pause()
      #endif
      var shorts = values.map { UInt16($0) }
      let stored = shorts.withUnsafeMutableBufferPointer { buffer in
        once { cipc_semctl_all(id, SETALL, buffer.baseAddress) }
      }
      if case .failure(let code) = stored {
        try? set.remove()
        throw set.controlError(code, operation: "semctl(SETALL)")
      }
      // sem_otime stays 0 until a semop succeeds: +1 then -1 (or the reverse at
      // SEMVMX) in one call sets it and leaves every value as it was.
      let step: Int16 = values[0] < Limits.maxValue ? 1 : -1
      var marks = (
        sembuf(sem_num: 0, sem_op: step, sem_flg: Int16(IPC_NOWAIT)),
        sembuf(sem_num: 0, sem_op: -step, sem_flg: Int16(IPC_NOWAIT))
      )
      let marked = withUnsafeMutableBytes(of: &marks) { bytes in
        once { semop(id, bytes.baseAddress!.assumingMemoryBound(to: sembuf.self), 2) }
      }
      if case .failure(let code) = marked {
        try? set.remove()
        throw set.controlError(code, operation: "semop")
      }
      OwnerRecords.record(kind: SystemV.RecordKind.semaphoreSet, identity: "\(id)")
      return set
    }

    /// The set for `id` once its size is read, after waiting up to
    /// `initializationTimeout` (if any) for its first `semop`.
    private static func opened(id: Int32, key: Key?, initializationTimeout: Duration?)
      throws(IPCError) -> SemaphoreSet
    {
      let probe = SemaphoreSet(id: id, count: 0)
      var info = try probe.statData(missing: key.map { "the set for key \($0) was removed" })
      if let initializationTimeout, info.sem_otime == 0 {
        #if DEBUG
          InitializationTesting.waits.add(1, ordering: .relaxed)
        #endif
        let ready = try Polling.until(initializationTimeout) { () throws(IPCError) -> semid_ds? in
          let now = try probe.statData(missing: nil)
          return now.sem_otime == 0 ? nil : now
        }
        guard let ready else {
          let which = key.map { "the set for key \($0) (id \(id))" } ?? "set \(id)"
          throw IPCError(
            code: .timedOut, operation: "semget", object: probe.description,
            reason: "\(which) exists but no semop has run on it within \(initializationTimeout):"
              + " its creator may still be setting its values, may have died before it could,"
              + " or made it with a tool that never runs one (ipcmk -S, Python's sysv_ipc, C"
              + " code that only calls semget and semctl); open it without waiting, or remove it")
        }
        info = ready
      }
      return SemaphoreSet(id: id, count: Int(info.sem_nsems))
    }

    // MARK: P and V

    /// P: waits until semaphore `index` is at least `amount`, then takes
    /// `amount` from it.
    ///
    /// The corresponding C call is `semop` with `sem_op = -amount`.
    ///
    /// - Parameters:
    ///   - index: the semaphore, from 0 to ``count`` - 1.
    ///   - amount: 1 to 32767 (SEMVMX).
    ///   - undo: whether the kernel gives `amount` back when this process
    ///     exits, even killed (`SEM_UNDO`).
    /// - Throws: `.removed` if the set is removed while waiting;
    ///   `.invalidArgument` for an index outside the set or an amount below 1,
    ///   `.outOfRange` for one above SEMVMX, checked before the call.
    public func wait(_ index: Int = 0, by amount: Int = 1, undo: Bool = false) throws(IPCError) {
      try checkAmount(amount, of: "P (wait)", index: index)
      _ = try run(index, delta: 0 &- amount, undo: undo, waiting: .asLongAsNeeded)
    }

    /// P without waiting: takes `amount` from semaphore `index` if it holds
    /// that much now; otherwise returns false and changes nothing.
    ///
    /// The corresponding C call is `semop` with `IPC_NOWAIT`.
    public func tryWait(_ index: Int = 0, by amount: Int = 1, undo: Bool = false) throws(IPCError)
      -> Bool
    {
      try checkAmount(amount, of: "P (wait)", index: index)
      return try run(index, delta: 0 &- amount, undo: undo, waiting: .no)
    }

    /// P, waiting at most `timeout` on the monotonic clock; returns false,
    /// with the value unchanged, if the timeout expired.
    ///
    /// The corresponding C function is `semtimedop`; a signal does not restart
    /// the full timeout, only the time left.
    public func wait(_ index: Int = 0, by amount: Int = 1, undo: Bool = false, timeout: Duration)
      throws(IPCError) -> Bool
    {
      try checkAmount(amount, of: "P (wait)", index: index)
      return try run(
        index, delta: 0 &- amount, undo: undo, waiting: .until(MonotonicDeadline(after: timeout)))
    }

    /// V: adds `amount` to semaphore `index`, waking processes that wait for it.
    ///
    /// The corresponding C call is `semop` with `sem_op = amount`.
    ///
    /// - Throws: `.outOfRange` if the value would pass 32767 (SEMVMX), or the
    ///   amount does; `.invalidArgument` for an amount below 1 (checked before
    ///   the call). The value is unchanged.
    public func signal(_ index: Int = 0, by amount: Int = 1, undo: Bool = false) throws(IPCError) {
      try checkAmount(amount, of: "V (signal)", index: index)
      _ = try run(index, delta: amount, undo: undo, waiting: .asLongAsNeeded)
    }

    /// Throws `.invalidArgument` for an amount below 1, before any call.
    @inline(__always)
    private func checkAmount(_ amount: Int, of act: String, index: Int) throws(IPCError) {
      if let problem = Self.amountProblem(amount, of: act, index: index) {
        throw IPCError(code: .invalidArgument, operation: "semop", object: description, reason: problem)
      }
    }

    /// Why `amount` cannot be the amount of a P or V (`act`): below 1, a P
    /// would become a wait for zero or a V, and a V a wait for zero or a P.
    static func amountProblem(_ amount: Int, of act: String, index: Int) -> String? {
      guard amount < 1 else { return nil }
      return
        "an amount of \(amount) for a \(act) on semaphore \(index) is invalid: a P or V moves the value by"
        + " 1 to SEMVMX \(Limits.maxValue) (waitForZero(_:) waits for zero); nothing was changed"
    }

    /// Waits until semaphore `index` is zero.
    ///
    /// The corresponding C call is `semop` with `sem_op = 0`.
    public func waitForZero(_ index: Int = 0) throws(IPCError) {
      _ = try run(index, delta: 0, undo: false, waiting: .asLongAsNeeded)
    }

    /// Whether semaphore `index` is zero now, without waiting.
    ///
    /// The corresponding C call is `semop` with `sem_op = 0` and `IPC_NOWAIT`.
    public func tryWaitForZero(_ index: Int = 0) throws(IPCError) -> Bool {
      try run(index, delta: 0, undo: false, waiting: .no)
    }

    /// Waits at most `timeout` until semaphore `index` is zero; returns false
    /// if it was not by then.
    ///
    /// The corresponding C function is `semtimedop`.
    public func waitForZero(_ index: Int = 0, timeout: Duration) throws(IPCError) -> Bool {
      try run(index, delta: 0, undo: false, waiting: .until(MonotonicDeadline(after: timeout)))
    }

    /// Runs `operations` atomically in one call: the process waits until all
    /// of them can be done, then does them all at once; nothing is done if any fails.
    ///
    /// The corresponding C call is `semop(id, operations, n)`.
    ///
    /// - Throws: `.invalidArgument` for no operations, an index outside the
    ///   set or an amount above SEMVMX; `.tooBig` for more than SEMOPM
    ///   operations (/proc/sys/kernel/sem, third field).
    public func perform(_ operations: [Operation]) throws(IPCError) {
      _ = try run(operations, waiting: .asLongAsNeeded)
    }

    /// Runs `operations` atomically if they can all be done now; otherwise
    /// returns false and changes nothing.
    ///
    /// The corresponding C call is `semop` with `IPC_NOWAIT` on every operation.
    public func tryPerform(_ operations: [Operation]) throws(IPCError) -> Bool {
      try run(operations, waiting: .no)
    }

    /// Runs `operations` atomically, waiting at most `timeout` for them all to
    /// be possible; returns false, with nothing changed, if the timeout expired.
    ///
    /// The corresponding C function is `semtimedop`.
    public func perform(_ operations: [Operation], timeout: Duration) throws(IPCError) -> Bool {
      try run(operations, waiting: .until(MonotonicDeadline(after: timeout)))
    }

    // MARK: Running operations

    /// How long a `semop` may wait.
    enum Waiting {
      case asLongAsNeeded
      case no
      case until(MonotonicDeadline)

      /// Whether EAGAIN means "not now" rather than a failure.
      var mayGiveUp: Bool {
        if case .asLongAsNeeded = self { false } else { true }
      }
    }

    /// One operation: the hot path of P and V, with no allocation.
    @inline(__always)
    private func run(_ index: Int, delta: Int, undo: Bool, waiting: Waiting) throws(IPCError) -> Bool {
      var operation = try cOperation(Operation(index: index, delta: delta, undo: undo), waiting: waiting)
      return try run(&operation, count: 1, waiting: waiting)
    }

    private func run(_ operations: [Operation], waiting: Waiting) throws(IPCError) -> Bool {
      guard !operations.isEmpty else {
        throw IPCError(
          code: .invalidArgument, operation: "semop", object: description,
          reason: "an atomic batch needs at least one operation")
      }
      var buffers: [sembuf] = []
      buffers.reserveCapacity(operations.count)
      for operation in operations { buffers.append(try cOperation(operation, waiting: waiting)) }
      let result = buffers.withUnsafeMutableBufferPointer { buffer in
        Result { () throws(IPCError) in
          try run(buffer.baseAddress!, count: buffer.count, waiting: waiting)
        }
      }
      return try result.get()
    }

    /// The C form of `operation`, checked against the set before any call.
    @inline(__always)
    private func cOperation(_ operation: Operation, waiting: Waiting) throws(IPCError) -> sembuf {
      if let rejection = operation.rejection {
        throw IPCError(code: .invalidArgument, operation: "semop", object: description, reason: rejection)
      }
      guard operation.index >= 0 && operation.index < count else {
        throw IPCError(
          code: .invalidArgument, operation: "semop", object: description,
          reason: "semaphore index \(operation.index) is out of range: the set has \(count)"
            + " semaphore\(count == 1 ? "" : "s") (0 to \(count - 1))")
      }
      // magnitude, not abs: abs(Int.min) traps, and Int.min is what a
      // P of Int.min amounts to (its negation wraps).
      guard operation.delta.magnitude <= Limits.maxValue.magnitude else {
        throw IPCError(
          code: .outOfRange, operation: "semop", object: description,
          reason: "an amount of \(operation.delta.magnitude) on semaphore \(operation.index) is above"
            + " SEMVMX \(Limits.maxValue), the largest value a semaphore holds")
      }
      var flags: Int32 = operation.undo ? SEM_UNDO : 0
      if case .no = waiting { flags |= IPC_NOWAIT }
      return sembuf(
        sem_num: UInt16(operation.index), sem_op: Int16(operation.delta), sem_flg: Int16(flags))
    }

    /// One `semop` (or `semtimedop`) call, retried on EINTR; false when it
    /// would have waited (`.no`) or the deadline passed.
    @inline(__always)
    private func run(_ operations: UnsafeMutablePointer<sembuf>, count: Int, waiting: Waiting)
      throws(IPCError) -> Bool
    {
      let result: Result<Int32, IPCError.Code>
      switch waiting {
      case .asLongAsNeeded, .no:
        result = retryingInterrupts(.semop) { semop(id, operations, count) }
      case .until(let deadline):
        // Each retry after a signal asks only for the time left.
        result = retryingInterrupts(.semop) {
          var left = deadline.timeLeft.asTimespec
          return cipc_semtimedop(id, operations, count, &left)
        }
      }
      switch result {
      case .success:
        return true
      case .failure(.wouldBlock) where waiting.mayGiveUp:
        return false
      case .failure(let code):
        throw operationError(code, UnsafeBufferPointer(start: operations, count: count), waiting: waiting)
      }
    }

    private func operationError(
      _ code: IPCError.Code, _ operations: UnsafeBufferPointer<sembuf>, waiting: Waiting
    ) -> IPCError {
      let operation: String
      if case .until = waiting { operation = "semtimedop" } else { operation = "semop" }
      let reason: String?
      switch code {
      case .removed:
        reason = "the semaphore set was removed while this process waited on it"
      case .invalidArgument:
        reason = "no semaphore set has id \(id) (never made, or removed)"
      case .permissionDenied:
        reason =
          "the set's permissions do not let this process do this (P and V need write"
          + " permission, waiting for zero needs read permission)"
      case .outOfRange:
        reason = overflowReason(operations)
      case .tooBig:
        let limit = Limits.current().maxOperationsPerCall
        reason =
          "\(operations.count) operations exceed SEMOPM \(limit), the most one semop takes,"
          + " see \(Limits.path) (third field)"
      case .noMemory:
        reason = "the kernel could not allocate this process's undo record"
      default:
        reason = nil
      }
      return IPCError(code: code, operation: operation, object: description, reason: reason)
    }

    /// Which operation of a batch the kernel refused with ERANGE: a value
    /// past SEMVMX, or else an undo adjustment past SEMAEM.
    private func overflowReason(_ operations: UnsafeBufferPointer<sembuf>) -> String {
      var values: [Int: Int] = [:]
      for operation in operations where operation.sem_op != 0 {
        let index = Int(operation.sem_num)
        guard let start = values[index] ?? (try? value(at: index)) else { break }
        let next = start + Int(operation.sem_op)
        if next > Limits.maxValue {
          return "adding \(operation.sem_op) to semaphore \(index) (value \(start)) would pass"
            + " SEMVMX \(Limits.maxValue), the largest value a semaphore holds; nothing changed"
        }
        values[index] = next
      }
      return "an operation would take this process's undo adjustment on a semaphore past"
        + " SEMAEM \(Int(CIPC_SEMAEM)) (too many undo operations without their reverse); nothing changed"
    }
  }
}

#if DEBUG
  /// Hooks for tests of the initialisation race: a pause between making a
  /// set and setting its values, so other processes meet a set that is not
  /// initialised yet, and a count of the opens that had to wait for one.
  enum InitializationTesting {
    static let pauseMilliseconds = Atomic<Int>(0)
    static let waits = Atomic<Int>(0)

    static func pause() {
      let pause = pauseMilliseconds.load(ordering: .relaxed)
      guard pause > 0 else { return }
      var request = timespec(tv_sec: pause / 1000, tv_nsec: pause % 1000 * 1_000_000)
      _ = nanosleep(&request, nil)
    }
  }
#endif
