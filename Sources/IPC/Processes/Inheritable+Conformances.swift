import Glibc

// How each of the library's objects crosses to a child: System V objects by
// id, POSIX objects by name, named pipes by path, pipe ends by descriptor.

extension SystemV.MessageQueue: Inheritable {
  /// The queue's id. The child's ``open(id:)`` checks it still exists.
  public func inheritance() throws(IPCError) -> Inheritance { Inheritance(.systemVMessageQueue, number: id) }

  /// Opens the queue by id (`msgctl(IPC_STAT)`).
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Self {
    try inheritance.expect(.systemVMessageQueue, as: "System V message queue")
    return try open(id: inheritance.number)
  }
}

extension SystemV.SemaphoreSet: Inheritable {
  /// The set's id.
  public func inheritance() throws(IPCError) -> Inheritance { Inheritance(.systemVSemaphoreSet, number: id) }

  /// Opens the set by id (`semctl(IPC_STAT)`, which reads its size).
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Self {
    try inheritance.expect(.systemVSemaphoreSet, .systemVLock, as: "System V semaphore set")
    return try open(id: inheritance.number)
  }
}

extension SystemV.SemaphoreLock: Inheritable {
  /// The set's id and the semaphore's index.
  public func inheritance() throws(IPCError) -> Inheritance {
    Inheritance(.systemVLock, number: set.id, detail: Int32(clamping: index))
  }

  /// Opens the set by id and takes the same semaphore as the lock.
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Self {
    try inheritance.expect(.systemVLock, as: "System V semaphore lock")
    return try SystemV.SemaphoreLock(
      set: try .open(id: inheritance.number), index: Int(inheritance.detail))
  }
}

extension SystemV.SharedMemory: Inheritable {
  /// The segment's id.
  public func inheritance() throws(IPCError) -> Inheritance { Inheritance(.systemVSharedMemory, number: id) }

  /// Opens the segment by id (`shmctl(IPC_STAT)`, which reads its size).
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Self {
    try inheritance.expect(.systemVSharedMemory, as: "System V shared memory segment")
    return try open(id: inheritance.number)
  }
}

extension POSIX.MessageQueue: Inheritable {
  /// The queue's name and this descriptor's access; the child opens the name
  /// again. ``Inheritance/descriptor(of:)`` hands the descriptor instead.
  public func inheritance() throws(IPCError) -> Inheritance {
    Inheritance(.posixMessageQueue, detail: access.code, name: name)
  }

  /// Opens the queue by name with the parent's access (`mq_open`), or takes
  /// ownership of the inherited descriptor (`mq_getattr` checks it is a queue).
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> POSIX.MessageQueue {
    try inheritance.expect(.posixMessageQueue, .posixQueueDescriptor, as: "POSIX message queue")
    let access = Access(code: inheritance.detail) ?? .readWrite
    guard inheritance.kind == .posixQueueDescriptor else { return try open(inheritance.name, access: access) }
    return try POSIX.MessageQueue(name: inheritance.name, access: access, descriptor: inheritance.number)
  }
}

extension POSIX.Semaphore: Inheritable {
  /// The semaphore's name.
  public func inheritance() throws(IPCError) -> Inheritance { Inheritance(.posixSemaphore, name: name) }

  /// Opens the semaphore by name (`sem_open`).
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> POSIX.Semaphore {
    try inheritance.expect(.posixSemaphore, as: "POSIX semaphore")
    return try open(inheritance.name)
  }
}

extension POSIX.SharedMemory: Inheritable {
  /// The object's name, and whether this process opened it read-only.
  public func inheritance() throws(IPCError) -> Inheritance {
    Inheritance(.posixSharedMemory, detail: isReadOnly ? 1 : 0, name: name)
  }

  /// Opens the object by name (`shm_open`), read-only if the parent's was.
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> POSIX.SharedMemory {
    try inheritance.expect(.posixSharedMemory, as: "POSIX shared memory object")
    return try open(inheritance.name, readOnly: inheritance.detail == 1)
  }
}

extension NamedPipe: Inheritable {
  /// The FIFO's path; the child opens its ends itself.
  public func inheritance() throws(IPCError) -> Inheritance { Inheritance(.namedPipe, name: path) }

  /// The FIFO at the path (`stat` checks it is one).
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Self {
    try inheritance.expect(.namedPipe, as: "named pipe")
    return try open(at: inheritance.name)
  }
}

extension PipeEnd: Inheritable {
  /// The end's descriptor, direction and kind; the child inherits a copy.
  public func inheritance() throws(IPCError) -> Inheritance {
    let fd = fileDescriptor
    guard fd >= 0 else {
      throw IPCError(
        code: .badDescriptor, operation: "posix_spawn", object: description,
        reason: "this end was closed; there is nothing to hand to a child")
    }
    let (kindCode, path): (Int32, String) =
      switch kind {
      case .anonymous: (0, "")
      case .socket: (1, "")
      case .named(let path): (2, path)
      }
    return Inheritance(.pipeEnd, number: fd, detail: direction.code + 4 * kindCode, name: path)
  }

  /// Takes ownership of the inherited descriptor (close-on-exec from then on).
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> PipeEnd {
    try inheritance.expect(.pipeEnd, as: "pipe end")
    let direction = Direction(code: inheritance.detail % 4) ?? .both
    let kind: Kind =
      switch inheritance.detail / 4 {
      case 1: .socket
      case 2: .named(inheritance.name)
      default: .anonymous
      }
    _ = fcntl(inheritance.number, F_SETFD, FD_CLOEXEC)
    return PipeEnd(adopting: inheritance.number, direction: direction, kind: kind)
  }
}

extension PipeEnd.Direction {
  /// How the direction travels in an ``Inheritance``.
  var code: Int32 {
    switch self {
    case .reading: 0
    case .writing: 1
    case .both: 2
    }
  }

  init?(code: Int32) {
    switch code {
    case 0: self = .reading
    case 1: self = .writing
    case 2: self = .both
    default: return nil
    }
  }
}
