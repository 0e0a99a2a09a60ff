import Glibc

/// What queues, semaphore sets and segments do alike: only the `*get` and
/// `*ctl` call and the object's name differ.
extension SystemV {
  /// The open-or-create loop every System V kind shares: `get` with
  /// `IPC_CREAT | IPC_EXCL` first, which tells whether this call made the
  /// object (and so whether setting it up is this call's job), then a plain
  /// open of the one that exists; if that one is removed in between, around
  /// again to create it after all.
  ///
  /// - Parameters:
  ///   - createExclusively: `semget`/`shmget(key, n, IPC_CREAT | IPC_EXCL | mode)`.
  ///   - openExisting: `semget`/`shmget(key, 0, 0)`.
  ///   - created: the object for an id this call made.
  ///   - opened: the object for an id that existed (checked against what was asked).
  ///   - failure: the error for any other failure of either call.
  static func openOrCreate<Object>(
    createExclusively: () -> Int32,
    openExisting: () -> Int32,
    created: (Int32) throws(IPCError) -> Object,
    opened: (Int32) throws(IPCError) -> Object,
    failure: (IPCError.Code) -> IPCError
  ) throws(IPCError) -> Object {
    while true {
      switch once(createExclusively) {
      case .success(let id):
        return try created(id)
      case .failure(.exists):
        switch once(openExisting) {
        case .success(let id):
          return try opened(id)
        case .failure(.notFound):
          continue  // removed since: create it after all
        case .failure(let code):
          throw failure(code)
        }
      case .failure(let code):
        throw failure(code)
      }
    }
  }

  /// The kinds of System V object in owner records (see ``OwnerRecords``),
  /// whose identity is the object's id.
  enum RecordKind {
    static let queue = "sysv-msg"
    static let semaphoreSet = "sysv-sem"
    static let sharedMemory = "sysv-shm"
  }

  /// Runs `call`, an `IPC_RMID` of object `id` of `kind`, and deletes the
  /// object's owner record once the object is gone: removed now, or already
  /// (EINVAL, EIDRM).
  static func removeRecorded(id: Int32, kind: String, _ call: () -> Int32) -> Result<Int32, IPCError.Code> {
    let result = once(call)
    switch result {
    case .success, .failure(.invalidArgument), .failure(.removed):
      OwnerRecords.forget(kind: kind, identity: "\(id)")
    default: break
    }
    return result
  }

  /// The mode bits of `permissions` as a `*get` flag.
  static func mode(_ permissions: Permissions) -> Int32 {
    Int32(bitPattern: permissions.rawValue)
  }

  /// Throws unless `key` can name an existing object: `IPC_PRIVATE` always
  /// makes a new one, so an open by key would be a create in disguise.
  static func checkOpenable(_ key: Key, operation: String, kind: String) throws(IPCError) {
    guard key.isPrivate else { return }
    throw IPCError(
      code: .invalidArgument, operation: operation, object: "key \(key)",
      reason: "IPC_PRIVATE always creates a new \(kind); open a private \(kind) by its id")
  }

  /// ` (id N)` for the object `lookup` (a `*get(key, 0, 0)`) finds, for an
  /// error about an existing key; empty if it finds none.
  static func existingID(_ lookup: () -> Int32) -> String {
    let existing = lookup()
    return existing >= 0 ? " (id \(existing))" : ""
  }

  /// `IPC_STAT` into `info` with `call`; a missing object (EINVAL, EIDRM) is
  /// `.notFound`, with `missing` as the reason when given.
  static func status<Info>(
    _ info: Info, operation: String, object: String, missing: String,
    _ call: (inout Info) -> Int32, failure: (IPCError.Code) -> IPCError
  ) throws(IPCError) -> Info {
    var info = info
    switch once({ call(&info) }) {
    case .success:
      return info
    case .failure(.invalidArgument), .failure(.removed):
      throw IPCError(code: .notFound, operation: operation, object: object, reason: missing)
    case .failure(let code):
      throw failure(code)
    }
  }

  /// Why a control call (`msgctl`, `semctl`, `shmctl`) failed on object `id`,
  /// a `kind` ("message queue") called `short` ("queue") in a sentence; the
  /// permissions did not allow it `denied` ("to read it"). Nil where the code says it all.
  static func controlReason(
    _ code: IPCError.Code, id: Int32, kind: String, short: String, denied: String = "to do this"
  ) -> String? {
    switch code {
    case .invalidArgument, .removed: "no \(kind) has id \(id) (never made, or removed)"
    case .notPermitted: "only the \(short)'s owner, its creator or a privileged process may do this"
    case .permissionDenied: "the \(short)'s permissions do not allow this process \(denied)"
    default: nil
    }
  }
}
