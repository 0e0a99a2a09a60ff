import Glibc

/// The rule every POSIX IPC name follows, checked before the call so the error
/// can say the rule instead of the kernel's bare EINVAL or ENOENT.
enum POSIXName {
  /// The longest name after the leading '/': NAME_MAX, one directory entry.
  static let maxLength = Int(NAME_MAX)

  /// Throws `.invalidArgument` unless `name` is '/', then 1 to `maxLength`
  /// bytes with no other '/' and no NUL, and not `.` or `..`.
  ///
  /// `maxLength` is shorter where the C library adds to the name: a POSIX
  /// semaphore is the file /dev/shm/sem.NAME, so its name has 4 bytes less.
  static func validate(
    _ name: String, operation: String, kind: String, maxLength: Int = maxLength,
    example: String = "/orders"
  ) throws(IPCError) {
    let bytes = Array(name.utf8)
    let rule = "a \(kind) name is '/' followed by 1 to \(maxLength) bytes without '/', such as \(example)"
    func reject(_ problem: String) -> IPCError {
      IPCError(
        code: .invalidArgument, operation: operation, object: "name \"\(name)\"",
        reason: "\(problem): \(rule)")
    }
    guard bytes.first == UInt8(ascii: "/") else { throw reject("the name does not start with '/'") }
    let rest = bytes.dropFirst()
    guard !rest.isEmpty else { throw reject("the name is empty after '/'") }
    guard rest.count <= maxLength else {
      throw reject("the name is \(rest.count) bytes long after '/', more than the \(maxLength) allowed")
    }
    guard !rest.contains(UInt8(ascii: "/")) else { throw reject("the name has a '/' after the first") }
    guard !rest.contains(0) else { throw reject("the name contains a NUL byte") }
    guard rest != [UInt8(ascii: ".")], rest != [UInt8(ascii: "."), UInt8(ascii: ".")] else {
      throw reject("'.' and '..' are not names")
    }
  }

  /// The kinds of POSIX object in owner records (see ``OwnerRecords``),
  /// whose identity is the name without its leading '/'.
  enum RecordKind {
    static let queue = "posix-mq"
    static let semaphore = "posix-sem"
    static let sharedMemory = "posix-shm"
  }

  /// Writes the owner record of the object `name` of `kind` this process
  /// just made; `info` is its `fstat` or `stat`, whose inode tells it from a
  /// later object of the same name.
  static func recordCreation(_ name: String, kind: String, info: stat?) {
    OwnerRecords.record(
      kind: kind, identity: String(name.dropFirst()), instance: info.map { UInt64($0.st_ino) })
  }

  /// The `fstat` of descriptor `fd`, or nil.
  static func status(of fd: Int32) -> stat? {
    var info = stat()
    return fstat(fd, &info) == 0 ? info : nil
  }

  /// Removes `name` (already checked) with `call`: `mq_unlink`, `sem_unlink`
  /// or `shm_unlink`, named `operation`. A missing name is a `kind` that was
  /// never made or already unlinked; `forbidden` says who may unlink it.
  /// Once the name is gone, so is its owner record of `recordKind`.
  static func unlink(
    _ name: String, operation: String, object: String, kind: String, recordKind: String, forbidden: String,
    _ call: (String) -> Int32
  ) throws(IPCError) {
    let result = once({ call(name) })
    switch result {
    case .success, .failure(.notFound):
      OwnerRecords.forget(kind: recordKind, identity: String(name.dropFirst()))
    default: break
    }
    guard case .failure(let code) = result else { return }
    let reason: String? =
      switch code {
      case .notFound: "no \(kind) is named \(name) (never made, or unlinked)"
      case .permissionDenied: forbidden
      default: nil
      }
    throw IPCError(code: code, operation: operation, object: object, reason: reason)
  }

  /// Opens a POSIX object with `call(flags)` (flags 0, `O_CREAT`, or
  /// `O_CREAT | O_EXCL`) and tells whether this call created it, which decides
  /// whether its mode is this call's to set.
  ///
  /// Creating exclusively first is how the creator is known; for `O_CREAT`
  /// (open or create) an existing object is then opened, and if another
  /// process unlinks it in between, it is created after all.
  static func open<Handle>(
    flags: Int32, _ call: (Int32) -> Result<Handle, IPCError.Code>
  ) -> (result: Result<Handle, IPCError.Code>, created: Bool) {
    var result = call(flags == 0 ? 0 : O_CREAT | O_EXCL)
    var created = flags != 0
    while flags == O_CREAT, case .failure(.exists) = result {
      result = call(0)
      created = false
      if case .failure(.notFound) = result {
        result = call(O_CREAT | O_EXCL)
        created = true
      }
    }
    return (result, created)
  }
}
