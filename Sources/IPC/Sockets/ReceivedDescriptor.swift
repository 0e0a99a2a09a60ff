import CIPCShims
import Glibc
import Synchronization

/// A descriptor that arrived in a message on a Unix socket (`SCM_RIGHTS`):
/// owned by this object, close-on-exec (received with `MSG_CMSG_CLOEXEC`),
/// and closed in `deinit` unless taken.
///
/// ``kind`` says what it is; ``take(as:)`` rebuilds the library type, and
/// ``takeDescriptor()`` hands over the raw number.
///
///     for descriptor in message.descriptors where descriptor.kind == .pipe {
///       let end = try descriptor.take(as: PipeEnd.self)
///     }
public final class ReceivedDescriptor: Sendable, CustomStringConvertible {
  /// What a received descriptor refers to, from `fstat` and `fstatfs`.
  public enum Kind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A pipe or FIFO (``PipeEnd``).
    case pipe
    /// A socket (``UnixConnection``, ``UnixDatagramSocket``, or a socket
    /// pair's end as a ``PipeEnd``).
    case socket
    /// A POSIX message queue (a file of the mqueue filesystem).
    case posixMessageQueue
    /// A POSIX shared memory object (a file of the tmpfs on /dev/shm).
    case sharedMemory
    /// A regular file or directory.
    case file
    /// Anything else (a device, an eventfd, ...).
    case other

    /// The kind's name, as in errors: `pipe`, `posixMessageQueue`...
    public var description: String { rawValue }
  }

  /// The descriptor, until taken or closed.
  private let descriptor: OwnedDescriptor
  /// What the descriptor refers to.
  public let kind: Kind

  /// Takes ownership of `fd`, which arrived in a message.
  init(adopting fd: Int32) {
    descriptor = OwnedDescriptor(fd)
    kind = Self.kind(of: fd)
  }

  /// The descriptor, or -1 once taken or closed. It stays owned by this
  /// object: do not close it yourself.
  public var fileDescriptor: Int32 { descriptor.current }

  /// `received pipe (fd 7)`, or `received pipe (taken)`.
  public var description: String {
    let fd = fileDescriptor
    return "received \(kind) (\(fd < 0 ? "taken" : "fd \(fd)"))"
  }

  /// Rebuilds the library type `T` from this descriptor, which `T` then owns.
  ///
  /// - Throws: `.invalidArgument` naming both kinds if the descriptor is not
  ///   a `T` (it then stays here, open); `.badDescriptor` if it was taken.
  public func take<T: DescriptorPassable>(as type: T.Type) throws(IPCError) -> T {
    try T.adopting(self)
  }

  /// Hands over the raw descriptor: the caller owns it from now on and must
  /// close it. -1 if it was taken already.
  public func takeDescriptor() -> Int32 { descriptor.take() }

  /// Closes the descriptor now; does nothing if it was taken or closed.
  /// The corresponding C function is `close`.
  public func close() { descriptor.close() }

  // MARK: Internals for adopters

  /// The descriptor if it is one of `kinds`, still owned here; else the
  /// error that names both kinds.
  func descriptor(ifOneOf kinds: Set<Kind>, for typeName: String) throws(IPCError) -> Int32 {
    let fd = try descriptor.live(
      "take", object: description, reason: "this descriptor was taken already; it can be taken once")
    guard kinds.contains(kind) else { throw wrongKind(typeName) }
    return fd
  }

  /// The `.invalidArgument` of a descriptor taken as the wrong type.
  func wrongKind(_ typeName: String, detail: String? = nil) -> IPCError {
    IPCError(
      code: .invalidArgument, operation: "take", object: description,
      reason: "this descriptor is a \(kind)\(detail.map { " (\($0))" } ?? ""), not a \(typeName);"
        + " it stays open here: take it as what it is")
  }

  /// Releases the descriptor to an adopter that has just checked it.
  func release() -> Int32 { takeDescriptor() }

  /// What `/proc/self/fd/N` points to: a path, `pipe:[inode]`, ...
  static func target(of fd: Int32) -> String? {
    let path = "/proc/self/fd/\(fd)"
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink(path, &buffer, buffer.count - 1)
    guard count > 0 else { return nil }
    return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// A `/proc/self/fd` target without the ` (deleted)` of an unlinked file.
  static func withoutDeleted(_ target: String) -> String {
    target.hasSuffix(" (deleted)") ? String(target.dropLast(" (deleted)".count)) : target
  }

  private static func kind(of fd: Int32) -> Kind {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return .other }
    switch info.st_mode & S_IFMT {
    case S_IFIFO: return .pipe
    case S_IFSOCK: return .socket
    case S_IFREG:
      switch cipc_filesystem_type(fd) {
      case CIPC_MQUEUE_MAGIC: return .posixMessageQueue
      case CIPC_TMPFS_MAGIC where target(of: fd)?.hasPrefix("/dev/shm/") == true: return .sharedMemory
      default: return .file
      }
    case S_IFDIR: return .file
    default: return .other
    }
  }
}

extension ReceivedDescriptor: DescriptorPassable {
  /// The descriptor, to pass on as it came.
  public var passableDescriptor: Int32 {
    get throws(IPCError) {
      try descriptor.live(
        "sendmsg", object: description,
        reason: "this descriptor was taken or closed; there is nothing to pass")
    }
  }

  /// Moves the descriptor into a new ``ReceivedDescriptor`` of any kind.
  public static func adopting(_ descriptor: ReceivedDescriptor) throws(IPCError) -> ReceivedDescriptor {
    _ = try descriptor.descriptor(ifOneOf: Set(Kind.allCases), for: "descriptor")
    return ReceivedDescriptor(adopting: descriptor.release())
  }
}
