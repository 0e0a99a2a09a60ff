import CIPCShims
import Glibc

extension SystemV.SemaphoreSet {
  // MARK: Values

  /// The value of semaphore `index`.
  ///
  /// The corresponding C call is `semctl(id, index, GETVAL)`.
  public func value(at index: Int = 0) throws(IPCError) -> Int {
    try query(GETVAL, index: index, operation: "semctl(GETVAL)")
  }

  /// The values of every semaphore, in index order, read at one instant.
  ///
  /// The corresponding C call is `semctl(id, 0, GETALL, array)`.
  public func values() throws(IPCError) -> [Int] {
    var shorts = [UInt16](repeating: 0, count: count)
    let result = shorts.withUnsafeMutableBufferPointer { buffer in
      once { cipc_semctl_all(id, GETALL, buffer.baseAddress) }
    }
    if case .failure(let code) = result { throw controlError(code, operation: "semctl(GETALL)") }
    return shorts.map { Int($0) }
  }

  /// Sets semaphore `index` to `value`, waking processes its new value lets through.
  ///
  /// Setting a value clears every process's undo adjustment for that
  /// semaphore, as the kernel does. The corresponding C call is
  /// `semctl(id, index, SETVAL, value)`.
  ///
  /// - Throws: `.outOfRange` for a value above 32767 (SEMVMX),
  ///   `.invalidArgument` for a negative value or an index outside the set;
  ///   both checked before the call.
  public func setValue(_ value: Int, at index: Int = 0) throws(IPCError) {
    try checkIndex(index, operation: "semctl(SETVAL)")
    try Self.checkValues([value], firstIndex: index, operation: "semctl(SETVAL)", object: description)
    if case .failure(let code) = once({ cipc_semctl_setval(id, Int32(index), Int32(value)) }) {
      throw controlError(code, operation: "semctl(SETVAL)")
    }
  }

  /// Sets every semaphore at once, one value per semaphore in index order.
  ///
  /// Clears every process's undo adjustments for the set. The corresponding
  /// C call is `semctl(id, 0, SETALL, array)`.
  ///
  /// - Throws: `.invalidArgument` unless there are exactly ``count`` values,
  ///   each 0 to 32767 (SEMVMX); checked before the call.
  public func setValues(_ values: [Int]) throws(IPCError) {
    guard values.count == count else {
      throw IPCError(
        code: .invalidArgument, operation: "semctl(SETALL)", object: description,
        reason: "\(values.count) values given for a set of \(count) semaphores")
    }
    try Self.checkValues(values, operation: "semctl(SETALL)", object: description)
    var shorts = values.map { UInt16($0) }
    let result = shorts.withUnsafeMutableBufferPointer { buffer in
      once { cipc_semctl_all(id, SETALL, buffer.baseAddress) }
    }
    if case .failure(let code) = result { throw controlError(code, operation: "semctl(SETALL)") }
  }

  /// How many processes wait for semaphore `index` to grow (blocked in a P).
  ///
  /// The corresponding C call is `semctl(id, index, GETNCNT)`.
  public func waitingToDecrease(at index: Int = 0) throws(IPCError) -> Int {
    try query(GETNCNT, index: index, operation: "semctl(GETNCNT)")
  }

  /// How many processes wait for semaphore `index` to be zero.
  ///
  /// The corresponding C call is `semctl(id, index, GETZCNT)`.
  public func waitingForZero(at index: Int = 0) throws(IPCError) -> Int {
    try query(GETZCNT, index: index, operation: "semctl(GETZCNT)")
  }

  /// The process that last changed semaphore `index` (by `semop` or by
  /// setting its value), or nil if none has.
  ///
  /// The corresponding C call is `semctl(id, index, GETPID)`.
  public func lastPID(at index: Int = 0) throws(IPCError) -> Int32? {
    let pid = try query(GETPID, index: index, operation: "semctl(GETPID)")
    return pid == 0 ? nil : Int32(pid)
  }

  private func query(_ command: Int32, index: Int, operation: String) throws(IPCError) -> Int {
    try checkIndex(index, operation: operation)
    switch once({ cipc_semctl(id, Int32(index), command) }) {
    case .success(let value): return Int(value)
    case .failure(let code): throw controlError(code, operation: operation)
    }
  }

  private func checkIndex(_ index: Int, operation: String) throws(IPCError) {
    guard index >= 0 && index < count else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: description,
        reason: "semaphore index \(index) is out of range: the set has \(count)"
          + " semaphore\(count == 1 ? "" : "s") (0 to \(count - 1))")
    }
  }

  // MARK: Control

  /// The set's owner, permissions, size and times.
  ///
  /// The corresponding C call is `semctl(id, 0, IPC_STAT, ...)`.
  public func stat() throws(IPCError) -> Status {
    Status(try statData(missing: nil))
  }

  /// Sets the set's access permissions; the owner stays as it is (read with
  /// `IPC_STAT` just before, since `IPC_SET` writes both).
  ///
  /// The corresponding C call is `semctl(id, 0, IPC_SET, ...)`.
  public func setPermissions(_ permissions: Permissions) throws(IPCError) {
    var info = try statData(missing: nil)
    info.sem_perm.mode = (info.sem_perm.mode & ~0o777) | UInt32(permissions.rawValue)
    if case .failure(let code) = once({ cipc_semctl_ds(id, IPC_SET, &info) }) {
      throw controlError(code, operation: "semctl(IPC_SET)")
    }
  }

  /// Removes the set at once. Processes blocked on it wake with
  /// `IPCError.Code.removed`.
  ///
  /// The corresponding C call is `semctl(id, 0, IPC_RMID)`.
  public func remove() throws(IPCError) {
    if case .failure(let code) = SystemV.removeRecorded(
      id: id, kind: SystemV.RecordKind.semaphoreSet, { cipc_semctl(id, 0, IPC_RMID) })
    {
      throw controlError(code, operation: "semctl(IPC_RMID)")
    }
  }

  /// `semctl(IPC_STAT)`; a missing set is reported as `.notFound`, with
  /// `missing` as the reason when given.
  func statData(missing: String?) throws(IPCError) -> semid_ds {
    let operation = "semctl(IPC_STAT)"
    return try SystemV.status(
      semid_ds(), operation: operation, object: description,
      missing: missing ?? "no semaphore set has id \(id) (never made, or removed)",
      { cipc_semctl_ds(id, IPC_STAT, &$0) }, failure: { controlError($0, operation: operation) })
  }

  func controlError(_ code: IPCError.Code, operation: String) -> IPCError {
    let reason =
      code == .outOfRange
      ? "a value is above SEMVMX \(Limits.maxValue)"
      : SystemV.controlReason(code, id: id, kind: "semaphore set", short: "set")
    return IPCError(code: code, operation: operation, object: description, reason: reason)
  }
}
