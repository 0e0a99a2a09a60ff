import Glibc

extension SystemV.SharedMemory {
  /// The segment's owner, permissions, size, attach count, pids and times.
  ///
  /// The corresponding C call is `shmctl(id, IPC_STAT, ...)`.
  public func stat() throws(IPCError) -> Status {
    Status(try statData(missing: nil))
  }

  /// Sets the segment's access permissions; the owner stays as it is (read
  /// with `IPC_STAT` just before, since `IPC_SET` writes both).
  ///
  /// The corresponding C call is `shmctl(id, IPC_SET, ...)`.
  public func setPermissions(_ permissions: Permissions) throws(IPCError) {
    var info = try statData(missing: nil)
    info.shm_perm.mode = (info.shm_perm.mode & ~0o777) | permissions.rawValue
    if case .failure(let code) = once({ shmctl(id, IPC_SET, &info) }) {
      throw controlError(code, operation: "shmctl(IPC_SET)")
    }
  }

  /// Marks the segment for removal: it is destroyed when the last process
  /// detaches it, and until then processes already attached keep using it.
  ///
  /// Its key is freed at once (`ipcs -m` shows key 0 and status "dest"), so
  /// a new segment can be made for the same key. Nothing is lost for those
  /// still attached. The corresponding C call is `shmctl(id, IPC_RMID, NULL)`.
  public func remove() throws(IPCError) {
    if case .failure(let code) = SystemV.removeRecorded(
      id: id, kind: SystemV.RecordKind.sharedMemory, { shmctl(id, IPC_RMID, nil) })
    {
      throw controlError(code, operation: "shmctl(IPC_RMID)")
    }
  }

  /// `shmctl(IPC_STAT)`; a missing segment is reported as `.notFound`, with
  /// `missing` as the reason when given.
  func statData(missing: String?) throws(IPCError) -> shmid_ds {
    let operation = "shmctl(IPC_STAT)"
    return try SystemV.status(
      shmid_ds(), operation: operation, object: description,
      missing: missing ?? "no shared memory segment has id \(id) (never made, or removed)",
      { shmctl(id, IPC_STAT, &$0) }, failure: { controlError($0, operation: operation) })
  }

  func controlError(_ code: IPCError.Code, operation: String) -> IPCError {
    let reason = SystemV.controlReason(code, id: id, kind: "shared memory segment", short: "segment")
    return IPCError(code: code, operation: operation, object: description, reason: reason)
  }
}
