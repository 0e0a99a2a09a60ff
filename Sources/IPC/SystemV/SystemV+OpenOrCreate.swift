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
}
