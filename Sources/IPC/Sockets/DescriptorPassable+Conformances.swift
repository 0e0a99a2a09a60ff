import CIPCShims
import Glibc

// The library's other descriptor-owning objects, as passed in messages.

extension PipeEnd: DescriptorPassable {
  /// The end's descriptor.
  public var passableDescriptor: Int32 {
    get throws(IPCError) { try passable(fileDescriptor, description) }
  }

  /// A pipe or FIFO (its direction from `fcntl(F_GETFL)`, its path from
  /// `/proc/self/fd`), or a Unix stream socket as a duplex end.
  public static func adopting(_ descriptor: ReceivedDescriptor) throws(IPCError) -> PipeEnd {
    let fd = try descriptor.descriptor(ifOneOf: [.pipe, .socket], for: "PipeEnd")
    if descriptor.kind == .socket {
      var isUnix = false
      guard cipc_socket_kind(fd, &isUnix) == UnixSocketKind.stream.code, isUnix else {
        throw descriptor.wrongKind("PipeEnd", detail: "not a Unix stream socket")
      }
      return PipeEnd(adopting: descriptor.release(), direction: .both, kind: .socket)
    }
    let direction: Direction =
      switch fcntl(fd, F_GETFL) & O_ACCMODE {
      case O_RDONLY: .reading
      case O_WRONLY: .writing
      default: .both
      }
    let target = ReceivedDescriptor.target(of: fd) ?? ""
    let kind: Kind = target.hasPrefix("/") ? .named(ReceivedDescriptor.withoutDeleted(target)) : .anonymous
    return PipeEnd(adopting: descriptor.release(), direction: direction, kind: kind)
  }
}

extension POSIX.MessageQueue: DescriptorPassable {
  /// The queue's descriptor.
  public var passableDescriptor: Int32 {
    get throws(IPCError) { try passable(fileDescriptor, description) }
  }

  /// A POSIX queue descriptor (a file of the mqueue filesystem); its name
  /// from `/proc/self/fd`, its access from `fcntl(F_GETFL)`, its limits
  /// from `mq_getattr`.
  public static func adopting(_ descriptor: ReceivedDescriptor) throws(IPCError) -> POSIX.MessageQueue {
    let fd = try descriptor.descriptor(ifOneOf: [.posixMessageQueue], for: "POSIX.MessageQueue")
    let access: Access =
      switch fcntl(fd, F_GETFL) & O_ACCMODE {
      case O_RDONLY: .readOnly
      case O_WRONLY: .writeOnly
      default: .readWrite
      }
    let name = posixName(of: fd)
    return try POSIX.MessageQueue(name: name, access: access, descriptor: descriptor.release())
  }
}

extension POSIX.SharedMemory: DescriptorPassable {
  /// The object's descriptor.
  public var passableDescriptor: Int32 {
    get throws(IPCError) { try passable(descriptor.load(ordering: .acquiring), description) }
  }

  /// A POSIX shared memory object (a file of /dev/shm); its name from
  /// `/proc/self/fd`, read-only if it was opened so (`fcntl(F_GETFL)`).
  public static func adopting(_ descriptor: ReceivedDescriptor) throws(IPCError) -> POSIX.SharedMemory {
    let fd = try descriptor.descriptor(ifOneOf: [.sharedMemory], for: "POSIX.SharedMemory")
    let name = posixName(of: fd)
    let readOnly = fcntl(fd, F_GETFL) & O_ACCMODE == O_RDONLY
    return POSIX.SharedMemory(name: name, descriptor: descriptor.release(), isReadOnly: readOnly)
  }
}

/// The descriptor of an object to pass, or `.badDescriptor` once it is closed.
private func passable(_ fd: Int32, _ object: String) throws(IPCError) -> Int32 {
  guard fd >= 0 else {
    throw IPCError(
      code: .badDescriptor, operation: "sendmsg", object: object,
      reason: "it was closed; there is nothing to pass")
  }
  return fd
}

/// The POSIX name (`/orders`) of a queue or shared memory descriptor, from
/// its /proc/self/fd target (`/orders` on the mqueue file system,
/// `/dev/shm/orders` on tmpfs; ` (deleted)` once unlinked).
private func posixName(of fd: Int32) -> String {
  let target = ReceivedDescriptor.target(of: fd).map(ReceivedDescriptor.withoutDeleted) ?? "/"
  return "/" + (target.split(separator: "/").last.map(String.init) ?? "")
}
