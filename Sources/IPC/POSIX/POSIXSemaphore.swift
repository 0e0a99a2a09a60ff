import CIPCShims
import Glibc
import Synchronization

extension POSIX {
  /// A POSIX named semaphore: one counter shared between processes, changed
  /// by P (``wait()-6263q``) and V (``post()``).
  ///
  /// The semaphore is named like `/tickets`; on Linux it is the file
  /// /dev/shm/sem.tickets, mapped into each process that opens it. This object
  /// owns one opening of it, closed by ``close()`` or when the object is
  /// released. The semaphore itself lives until ``unlink()``.
  ///
  ///     let tickets = try POSIX.Semaphore.create("/tickets", value: 3)
  ///     try tickets.wait()      // P: take one, waiting while there are none
  ///     try tickets.post()      // V: give one back
  ///     try tickets.unlink()
  ///
  /// `wait` has a blocking form, a non-blocking form that returns false
  /// (``tryWait()``) and a form with a `Duration` timeout measured on the
  /// monotonic clock (``wait(timeout:)-wuv9``). Blocking calls are retried when a
  /// signal interrupts them (EINTR). Unlike System V sets, a POSIX semaphore
  /// has no undo: a process that dies after a wait does not give it back, and
  /// unlinking does not wake processes waiting on it.
  ///
  /// The object is `Sendable`: the semaphore's operations are atomic. Closing
  /// it while another thread uses it is a programming error, as with any
  /// descriptor.
  public final class Semaphore: Sendable, CustomStringConvertible {
    /// The semaphore's name, such as `/tickets`.
    public let name: String

    /// The `sem_t *` from `sem_open`, and the calls using it now: `close()`
    /// must not unmap it under a thread blocked in `sem_wait` (an async wait
    /// runs on a library thread), so the last call to leave closes it.
    // @unchecked: the sem_t is shared memory that sem_* calls use from any thread.
    private struct Opening: @unchecked Sendable {
      var semaphore: UnsafeMutablePointer<sem_t>?
      var users = 0
      var closeWhenUnused = false
    }
    private let opening: Mutex<Opening>

    /// The largest value a POSIX semaphore holds (`SEM_VALUE_MAX`).
    public static let maxValue = Int(Int32.max)

    /// The longest name after the '/': NAME_MAX less the 4 bytes of the
    /// `sem.` prefix glibc puts before it in /dev/shm.
    public static let maxNameLength = POSIXName.maxLength - 4

    private init(name: String, semaphore: UnsafeMutablePointer<sem_t>) {
      self.name = name
      self.opening = Mutex(Opening(semaphore: semaphore))
    }

    deinit {
      // No call is in flight: each holds this object.
      if let semaphore = opening.withLock({ $0.semaphore }) { sem_close(semaphore) }
    }

    /// `semaphore /name`, as errors name it.
    public var description: String { "semaphore \(name)" }

    // MARK: Creating and opening

    /// Creates a new semaphore named `name` holding `value`, failing if one exists.
    ///
    /// The corresponding C call is `sem_open(name, O_CREAT | O_EXCL, mode, value)`.
    ///
    /// - Parameters:
    ///   - name: '/' followed by 1 to 251 bytes without '/', such as `/tickets`.
    ///   - value: the initial value, 0 to `SEM_VALUE_MAX` (2147483647).
    ///   - permissions: the semaphore's mode, 0600 by default; set exactly,
    ///     whatever the process's umask.
    /// - Throws: `.exists` if the name is taken; `.invalidArgument` for a bad
    ///   name or value.
    public static func create(
      _ name: String, value: Int = 0, permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> Semaphore {
      try open(name, flags: O_CREAT | O_EXCL, value: value, permissions: permissions)
    }

    /// Opens the semaphore named `name`, creating it with `value` if there is none.
    ///
    /// `value` and `permissions` apply only when the semaphore is created. The
    /// corresponding C call is `sem_open(name, O_CREAT, mode, value)`.
    public static func openOrCreate(
      _ name: String, value: Int = 0, permissions: Permissions = .ownerReadWrite
    ) throws(IPCError) -> Semaphore {
      try open(name, flags: O_CREAT, value: value, permissions: permissions)
    }

    /// Opens the existing semaphore named `name`.
    ///
    /// The corresponding C call is `sem_open(name, 0)`.
    ///
    /// - Throws: `.notFound` if no semaphore has that name.
    public static func open(_ name: String) throws(IPCError) -> Semaphore {
      try open(name, flags: 0, value: 0, permissions: .ownerReadWrite)
    }

    private static func open(_ name: String, flags: Int32, value: Int, permissions: Permissions)
      throws(IPCError) -> Semaphore
    {
      try validate(name, operation: "sem_open")
      guard (0...maxValue).contains(value) else {
        throw IPCError(
          code: .invalidArgument, operation: "sem_open", object: "semaphore \(name)",
          reason: "initial value \(value) is outside 0 to \(maxValue) (SEM_VALUE_MAX)")
      }
      let mode = mode_t(permissions.rawValue)
      func call(_ flags: Int32) -> Result<UnsafeMutablePointer<sem_t>, IPCError.Code> {
        guard let semaphore = cipc_sem_open(name, flags, mode, UInt32(value)), semaphore != SEM_FAILED
        else { return .failure(IPCError.Code(rawValue: errno)) }
        return .success(semaphore)
      }
      let (result, created) = POSIXName.open(flags: flags, call)
      switch result {
      case .success(let semaphore):
        let path = "/dev/shm/sem." + name.dropFirst()
        // The umask narrowed the mode sem_open applied: set exactly what was asked.
        if created {
          _ = chmod(path, mode)
          var made = stat()
          let found = lstat(path, &made) == 0
          POSIXName.recordCreation(name, kind: POSIXName.RecordKind.semaphore, info: found ? made : nil)
        }
        // glibc maps an existing file without checking its size: a file too
        // short for a sem_t (not made by sem_open) would kill the first user
        // with SIGBUS.
        var info = stat()
        if !created, lstat(path, &info) == 0, Int(info.st_size) < MemoryLayout<sem_t>.size {
          sem_close(semaphore)
          throw IPCError(
            code: .invalidArgument, operation: "sem_open", object: "semaphore \(name)",
            reason: "\(path) is \(info.st_size) bytes, too short for a semaphore"
              + " (\(MemoryLayout<sem_t>.size)): it was not made by sem_open; unlink it")
        }
        return Semaphore(name: name, semaphore: semaphore)
      case .failure(let code):
        let reason: String? =
          switch code {
          case .notFound: "no semaphore is named \(name); create it first with Semaphore.create"
          case .exists: "a semaphore named \(name) already exists; open it, or unlink it first"
          case .permissionDenied:
            "the semaphore \(name) exists but its permissions do not allow this process in"
          default: nil
          }
        throw IPCError(code: code, operation: "sem_open", object: "semaphore \(name)", reason: reason)
      }
    }

    private static func validate(_ name: String, operation: String) throws(IPCError) {
      try POSIXName.validate(
        name, operation: operation, kind: "semaphore", maxLength: maxNameLength, example: "/tickets")
    }

    // MARK: P and V

    /// P: waits until the value is above zero, then takes one.
    ///
    /// The corresponding C function is `sem_wait`.
    public func wait() throws(IPCError) {
      try using("sem_wait") { (semaphore) throws(IPCError) in
        if case .failure(let code) = retryingInterrupts(.semWait, { sem_wait(semaphore) }) {
          throw operationError(code, "sem_wait")
        }
      }
    }

    /// P without waiting: takes one if the value is above zero now; otherwise
    /// returns false and changes nothing.
    ///
    /// The corresponding C function is `sem_trywait`.
    public func tryWait() throws(IPCError) -> Bool {
      try using("sem_trywait") { (semaphore) throws(IPCError) in
        switch retryingInterrupts(.semWait, { sem_trywait(semaphore) }) {
        case .success: return true
        case .failure(.wouldBlock): return false
        case .failure(let code): throw operationError(code, "sem_trywait")
        }
      }
    }

    /// P, waiting at most `timeout`; returns false, with the value unchanged,
    /// if the timeout expired.
    ///
    /// The deadline is on the monotonic clock (`sem_clockwait` with
    /// `CLOCK_MONOTONIC`, not `sem_timedwait`'s wall clock), so setting the
    /// clock changes nothing, and a signal does not restart the full timeout.
    public func wait(timeout: Duration) throws(IPCError) -> Bool {
      var deadline = MonotonicDeadline(after: timeout).absoluteTimespec
      return try using("sem_clockwait") { (semaphore) throws(IPCError) in
        switch retryingInterrupts(.semWait, { cipc_sem_wait_monotonic(semaphore, &deadline) }) {
        case .success: return true
        case .failure(.timedOut): return false
        case .failure(let code): throw operationError(code, "sem_clockwait")
        }
      }
    }

    /// V: adds one to the value, waking one waiting process.
    ///
    /// The corresponding C function is `sem_post`.
    ///
    /// - Throws: `.overflow` if the value is already `SEM_VALUE_MAX`; it is unchanged.
    public func post() throws(IPCError) {
      try using("sem_post") { (semaphore) throws(IPCError) in
        if case .failure(let code) = once({ sem_post(semaphore) }) {
          throw operationError(code, "sem_post")
        }
      }
    }

    /// The value now (0 while processes wait, on Linux).
    ///
    /// The corresponding C function is `sem_getvalue`.
    public func value() throws(IPCError) -> Int {
      try using("sem_getvalue") { (semaphore) throws(IPCError) in
        var value: Int32 = 0
        if case .failure(let code) = once({ sem_getvalue(semaphore, &value) }) {
          throw operationError(code, "sem_getvalue")
        }
        return Int(value)
      }
    }

    // MARK: Closing and unlinking

    /// Closes this opening now rather than when the object is released. The
    /// semaphore itself stays; later calls on this object fail with `EBADF`.
    /// A call still waiting (on another thread, or an async wait) keeps the
    /// mapping until it returns, so it never touches unmapped memory.
    ///
    /// The corresponding C function is `sem_close`.
    public func close() throws(IPCError) {
      let closeNow = try opening.withLock { (opening) throws(IPCError) -> UnsafeMutablePointer<sem_t>? in
        guard let semaphore = opening.semaphore, !opening.closeWhenUnused else {
          throw closedError("sem_close")
        }
        opening.closeWhenUnused = true
        guard opening.users == 0 else { return nil }
        opening.semaphore = nil
        return semaphore
      }
      if let closeNow, case .failure(let code) = once({ sem_close(closeNow) }) {
        throw operationError(code, "sem_close")
      }
    }

    /// Removes the semaphore's name. Processes that have it open keep using
    /// it; it is destroyed when the last of them closes it.
    ///
    /// The corresponding C function is `sem_unlink`.
    public func unlink() throws(IPCError) {
      try Self.unlink(name)
    }

    /// Removes the semaphore named `name`; see ``unlink()``.
    ///
    /// - Throws: `.notFound` if no semaphore has that name.
    public static func unlink(_ name: String) throws(IPCError) {
      try validate(name, operation: "sem_unlink")
      try POSIXName.unlink(
        name, operation: "sem_unlink", object: "semaphore \(name)", kind: "semaphore",
        recordKind: POSIXName.RecordKind.semaphore,
        forbidden: "only the semaphore's owner or a privileged process may unlink it"
      ) { sem_unlink($0) }
    }

    // MARK: Helpers

    /// Runs `body` with the open semaphore, counted as a user of it; an error
    /// naming `operation` if it was closed. The last user to leave a closed
    /// opening calls `sem_close`.
    @inline(__always)
    private func using<R>(
      _ operation: String, _ body: (UnsafeMutablePointer<sem_t>) throws(IPCError) -> R
    ) throws(IPCError) -> R {
      let semaphore = try opening.withLock { (opening) throws(IPCError) -> UnsafeMutablePointer<sem_t> in
        guard let semaphore = opening.semaphore, !opening.closeWhenUnused else {
          throw closedError(operation)
        }
        opening.users += 1
        return semaphore
      }
      defer {
        let closeNow = opening.withLock { opening -> Bool in
          opening.users -= 1
          guard opening.closeWhenUnused, opening.users == 0 else { return false }
          opening.semaphore = nil
          return true
        }
        if closeNow { sem_close(semaphore) }
      }
      return try body(semaphore)
    }

    private func closedError(_ operation: String) -> IPCError {
      IPCError(
        code: .badDescriptor, operation: operation, object: description,
        reason: "this semaphore object was closed; open the semaphore again to use it")
    }

    private func operationError(_ code: IPCError.Code, _ operation: String) -> IPCError {
      let reason: String? =
        switch code {
        case .overflow: "the value is already SEM_VALUE_MAX \(Self.maxValue); nothing changed"
        default: nil
        }
      return IPCError(code: code, operation: operation, object: description, reason: reason)
    }
  }
}
