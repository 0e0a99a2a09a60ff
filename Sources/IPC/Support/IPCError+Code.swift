import Glibc

extension IPCError {
  /// An `errno` value with a name and a readable explanation. Like
  /// swift-system's `Errno` it is an `Error` itself, so internal helpers can
  /// carry it in a `Result`; public calls always throw a full ``IPCError``.
  ///
  /// Compare against the static members (`error.code == .removed`) or the raw
  /// value (`error.code.rawValue == EIDRM`).
  public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible, Error {
    /// The `errno` value.
    public var rawValue: Int32

    /// Wraps an `errno` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `EAGAIN`: the call would have blocked. Non-blocking sends report a full
    /// queue by returning false, not with this code.
    public static let wouldBlock = Code(rawValue: EAGAIN)
    /// `ENOMSG`: no message of the requested type. Non-blocking receives report
    /// it by returning nil, not with this code.
    public static let noMessage = Code(rawValue: ENOMSG)
    /// `ENOENT`: no object exists for that key, name or path.
    public static let notFound = Code(rawValue: ENOENT)
    /// `EEXIST`: an object already exists for that key or name.
    public static let exists = Code(rawValue: EEXIST)
    /// `EIDRM`: the object was removed while the call was using it.
    public static let removed = Code(rawValue: EIDRM)
    /// `EINTR`: a signal interrupted the call (retried internally; seen only in hooks).
    public static let interrupted = Code(rawValue: EINTR)
    /// `E2BIG`: a message is larger than the buffer that should receive it.
    public static let tooBig = Code(rawValue: E2BIG)
    /// `EINVAL`: an argument is invalid or outside a system limit.
    public static let invalidArgument = Code(rawValue: EINVAL)
    /// `EACCES`: the object's permissions do not allow the operation.
    public static let permissionDenied = Code(rawValue: EACCES)
    /// `EPERM`: the caller is neither owner nor creator nor privileged.
    public static let notPermitted = Code(rawValue: EPERM)
    /// `ENOSPC`: a system-wide limit on the number of objects was reached.
    public static let noSpace = Code(rawValue: ENOSPC)
    /// `ENOMEM`: the kernel could not allocate memory for the request.
    public static let noMemory = Code(rawValue: ENOMEM)
    /// `ETIMEDOUT`: a timeout expired before the operation could complete.
    public static let timedOut = Code(rawValue: ETIMEDOUT)
    /// `EBADMSG`: a received message could not be decoded (its bytes are kept).
    public static let badMessage = Code(rawValue: EBADMSG)
    /// `ENOSYS`: the kernel lacks the feature (for example `MSG_COPY`).
    public static let unsupported = Code(rawValue: ENOSYS)
    /// `ERANGE`: a value is out of the range the kernel accepts.
    public static let outOfRange = Code(rawValue: ERANGE)
    /// `EFAULT`: an address handed to the kernel is not accessible.
    public static let badAddress = Code(rawValue: EFAULT)
    /// `EPIPE`: a write to a pipe or socket whose reading end is closed. The
    /// toolkit reports it as this error, never by letting `SIGPIPE` kill the process.
    public static let brokenPipe = Code(rawValue: EPIPE)
    /// `EBADF`: the descriptor is closed, or not open for this operation
    /// (reading from a pipe's write end, sending on a read-only queue).
    public static let badDescriptor = Code(rawValue: EBADF)

    /// `EMSGSIZE`: a message is larger than a POSIX queue's message size, or a
    /// receive buffer smaller than it.
    public static let messageTooLong = Code(rawValue: EMSGSIZE)
    /// `EMFILE`: the process has too many descriptors open, or (POSIX queues)
    /// the user's `RLIMIT_MSGQUEUE` bytes are used up.
    public static let tooManyOpen = Code(rawValue: EMFILE)
    /// `ENAMETOOLONG`: a name or path is longer than the system allows.
    public static let nameTooLong = Code(rawValue: ENAMETOOLONG)
    /// `EBUSY`: the object is in use (a POSIX queue already has a notification
    /// registered, by this process or another).
    public static let busy = Code(rawValue: EBUSY)

    /// `EOVERFLOW`: a POSIX semaphore's value would pass `SEM_VALUE_MAX`.
    public static let overflow = Code(rawValue: EOVERFLOW)

    /// `EOWNERDEAD`: the holder of a robust ``SharedMutex`` died holding it; the
    /// caller now holds it and should repair the data it guards.
    public static let ownerDied = Code(rawValue: EOWNERDEAD)
    /// `ENOTRECOVERABLE`: a ``SharedMutex`` whose holder died was unlocked
    /// without being marked consistent; it can no longer be locked.
    public static let notRecoverable = Code(rawValue: ENOTRECOVERABLE)
    /// `EDEADLK`: the calling thread already holds the ``SharedMutex`` it tried to lock.
    public static let deadlock = Code(rawValue: EDEADLK)

    /// `ESRCH`: no such process: the child has exited and been reaped, so no
    /// signal can reach it.
    public static let noSuchProcess = Code(rawValue: ESRCH)
    /// `ECHILD`: the process is not an unwaited child of this one (something
    /// else reaped it, or `SIGCHLD` is ignored so the kernel did).
    public static let noChild = Code(rawValue: ECHILD)
    /// `ECANCELED`: the task awaiting the operation was cancelled; nothing was consumed.
    public static let cancelled = Code(rawValue: ECANCELED)
    /// `ENOEXEC`: a file to run is not in a format the kernel can execute.
    public static let notExecutable = Code(rawValue: ENOEXEC)
    /// `ECONNREFUSED`: nothing listens at a Unix socket's address (a stale
    /// socket file, or an abstract name no socket holds).
    public static let connectionRefused = Code(rawValue: ECONNREFUSED)
    /// `EADDRINUSE`: a socket is already bound to the address.
    public static let addressInUse = Code(rawValue: EADDRINUSE)

    private static let names: [Int32: String] = [
      EAGAIN: "EAGAIN", ENOMSG: "ENOMSG", ENOENT: "ENOENT", EEXIST: "EEXIST",
      EIDRM: "EIDRM", EINTR: "EINTR", E2BIG: "E2BIG", EINVAL: "EINVAL",
      EACCES: "EACCES", EPERM: "EPERM", ENOSPC: "ENOSPC", ENOMEM: "ENOMEM",
      ETIMEDOUT: "ETIMEDOUT", EBADMSG: "EBADMSG", ENOSYS: "ENOSYS",
      ERANGE: "ERANGE", EFAULT: "EFAULT", EBADF: "EBADF", EMSGSIZE: "EMSGSIZE",
      EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG", EMFILE: "EMFILE",
      ENFILE: "ENFILE", ENOTDIR: "ENOTDIR", EBUSY: "EBUSY", ENXIO: "ENXIO", EISDIR: "EISDIR",
      ELOOP: "ELOOP", EROFS: "EROFS", EOVERFLOW: "EOVERFLOW", EOWNERDEAD: "EOWNERDEAD",
      ENOTRECOVERABLE: "ENOTRECOVERABLE", EDEADLK: "EDEADLK",
      ESRCH: "ESRCH", ECHILD: "ECHILD", ECANCELED: "ECANCELED", ENOEXEC: "ENOEXEC", ETXTBSY: "ETXTBSY",
      ECONNREFUSED: "ECONNREFUSED", EADDRINUSE: "EADDRINUSE", EPROTOTYPE: "EPROTOTYPE", ENOTCONN: "ENOTCONN",
      ECONNRESET: "ECONNRESET", ENOTSOCK: "ENOTSOCK",
    ]

    /// The symbolic name, such as `EIDRM`.
    public var name: String { Self.names[rawValue] ?? "errno \(rawValue)" }

    /// The C library's explanation of the code (`strerror`).
    public var explanation: String { String(cString: strerror(rawValue)) }

    /// The symbolic name.
    public var description: String { name }

    /// Lets a `Code` be matched against an `errno` value in a `switch`.
    public static func ~= (code: Code, errno: Int32) -> Bool { code.rawValue == errno }
  }
}
