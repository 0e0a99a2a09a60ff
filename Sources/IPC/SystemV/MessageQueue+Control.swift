import Glibc

extension SystemV.MessageQueue {
  // MARK: Control

  /// The queue's state: message count, bytes in queue, limits, last pids and
  /// times, owner and mode.
  ///
  /// The corresponding C call is `msgctl(id, IPC_STAT, ...)`.
  public func stat() throws(IPCError) -> Status {
    Status(try statData())
  }

  /// The largest byte limit ``setMaxBytes(_:)`` accepts: the ceiling of
  /// `msgmnb` itself (an `int` in the kernel). Larger values are not kept
  /// as given: `IPC_SET` keeps only their low 32 bits (4294967296 becomes 0).
  public static var maxBytesCeiling: Int { Int(Int32.max) }

  /// Sets the most bytes the queue may hold (`msg_qbytes`).
  ///
  /// Raising it above `msgmnb` (/proc/sys/kernel/msgmnb) needs `CAP_SYS_RESOURCE`;
  /// above ``maxBytesCeiling`` it is rejected (`IPCError.Code.invalidArgument`)
  /// before the call, which would otherwise keep only its low 32 bits.
  /// `IPC_SET` writes owner, mode and limit together, so this reads them first
  /// (`IPC_STAT`); a concurrent change to the others between the two calls is lost.
  /// The corresponding C call is `msgctl(id, IPC_SET, ...)`.
  public func setMaxBytes(_ maxBytes: Int) throws(IPCError) {
    guard maxBytes > 0 else {
      throw IPCError(
        code: .invalidArgument, operation: "msgctl(IPC_SET)", object: description,
        reason: "max bytes \(maxBytes) is invalid: a queue must hold at least 1 byte")
    }
    guard maxBytes <= Self.maxBytesCeiling else {
      throw IPCError(
        code: .invalidArgument, operation: "msgctl(IPC_SET)", object: description,
        reason: "max bytes \(maxBytes) is invalid: the kernel holds at most \(Self.maxBytesCeiling)")
    }
    var info = try statData()
    info.msg_qbytes = msglen_t(maxBytes)
    try set(&info, change: "max bytes to \(maxBytes)")
    QueueLimitCache.record(maxBytes, of: id)
  }

  /// Sets the queue's access permissions; owner and byte limit stay as they are
  /// (read with `IPC_STAT` just before, as for ``setMaxBytes(_:)``).
  ///
  /// The corresponding C call is `msgctl(id, IPC_SET, ...)`.
  public func setPermissions(_ permissions: Permissions) throws(IPCError) {
    var info = try statData()
    info.msg_perm.mode = (info.msg_perm.mode & ~0o777) | UInt32(permissions.rawValue)
    try set(&info, change: "permissions to \(permissions)")
  }

  /// Removes the queue at once. Processes blocked on it wake with
  /// `IPCError.Code.removed`; messages still in it are discarded.
  ///
  /// The corresponding C call is `msgctl(id, IPC_RMID, NULL)`.
  public func remove() throws(IPCError) {
    if case .failure(let code) = SystemV.removeRecorded(
      id: id, kind: SystemV.RecordKind.queue, { msgctl(id, IPC_RMID, nil) })
    {
      throw controlError(code, operation: "msgctl(IPC_RMID)")
    }
  }

  private func statData() throws(IPCError) -> msqid_ds {
    var info = msqid_ds()
    if case .failure(let code) = once({ msgctl(id, IPC_STAT, &info) }) {
      throw controlError(code, operation: "msgctl(IPC_STAT)")
    }
    return info
  }

  private func set(_ info: inout msqid_ds, change: String) throws(IPCError) {
    if case .failure(let code) = once({ msgctl(id, IPC_SET, &info) }) {
      var error = controlError(code, operation: "msgctl(IPC_SET)")
      if code == .notPermitted {
        let limit = ProcFile.integer("/proc/sys/kernel/msgmnb").map { "\($0)" } ?? "msgmnb"
        // IPC_SET rewrites the byte limit too, so the kernel applies this check
        // even when only the permissions change.
        error.reason =
          "setting \(change) needs to be the queue's owner or creator, and a byte limit"
          + " above msgmnb \(limit) (/proc/sys/kernel/msgmnb) needs CAP_SYS_RESOURCE"
          + " (IPC_SET writes the limit with every change)"
      }
      throw error
    }
  }

  private func controlError(_ code: IPCError.Code, operation: String) -> IPCError {
    let reason = SystemV.controlReason(
      code, id: id, kind: "message queue", short: "queue", denied: "to read it")
    return IPCError(code: code, operation: operation, object: description, reason: reason)
  }
}
