import Glibc

/// What crosses from a parent to a child for one ``Inheritable`` object: its
/// kind and the id, name, path or descriptor the child rebuilds it from.
///
/// Made by the objects themselves (``Inheritable/inheritance()``). It is
/// itself `Inheritable`, so the variants that are not an object's default
/// can be handed too:
///
///     try ChildProcess.start(entryPoint: "worker", handing: ["jobs": Inheritance.descriptor(of: queue)])
public struct Inheritance: Hashable, Sendable, CustomStringConvertible, Inheritable {
  /// The kinds of object that can be handed over, as they are written in a
  /// child's environment.
  enum Kind: String, Sendable, CaseIterable {
    case systemVMessageQueue = "sysv-msg"
    case systemVSemaphoreSet = "sysv-sem"
    case systemVLock = "sysv-lock"
    case systemVSharedMemory = "sysv-shm"
    case posixMessageQueue = "posix-mq"
    case posixQueueDescriptor = "posix-mq-fd"
    case posixSemaphore = "posix-sem"
    case posixSharedMemory = "posix-shm"
    case namedPipe = "fifo"
    case pipeEnd = "pipe-end"

    /// `System V message queue`, as errors name the kind.
    var noun: String {
      switch self {
      case .systemVMessageQueue: "System V message queue"
      case .systemVSemaphoreSet: "System V semaphore set"
      case .systemVLock: "System V semaphore lock"
      case .systemVSharedMemory: "System V shared memory segment"
      case .posixMessageQueue: "POSIX message queue"
      case .posixQueueDescriptor: "POSIX message queue descriptor"
      case .posixSemaphore: "POSIX semaphore"
      case .posixSharedMemory: "POSIX shared memory object"
      case .namedPipe: "named pipe"
      case .pipeEnd: "pipe end"
      }
    }

    /// Whether the child inherits a descriptor for it.
    var carriesDescriptor: Bool { self == .pipeEnd || self == .posixQueueDescriptor }
  }

  let kind: Kind
  /// The System V id, or the descriptor (this process's before the spawn,
  /// the child's after it); 0 otherwise.
  var number: Int32
  /// The lock's index, the queue's access, the end's direction and kind, or
  /// a shared memory object's read-only flag; 0 otherwise.
  var detail: Int32
  /// The POSIX name or the path; empty otherwise.
  var name: String

  init(_ kind: Kind, number: Int32 = 0, detail: Int32 = 0, name: String = "") {
    self.kind = kind
    self.number = number
    self.detail = detail
    self.name = name
  }

  /// `System V message queue 32768`, `POSIX message queue /jobs`, `pipe end (descriptor 4)`.
  public var description: String {
    switch kind {
    case .systemVMessageQueue, .systemVSemaphoreSet, .systemVSharedMemory: "\(kind.noun) \(number)"
    case .systemVLock: "\(kind.noun) (semaphore \(detail) of set \(number))"
    case .posixMessageQueue, .posixSemaphore, .posixSharedMemory, .namedPipe: "\(kind.noun) \(name)"
    case .posixQueueDescriptor: "\(kind.noun) \(name) (descriptor \(number))"
    case .pipeEnd: "\(kind.noun) (descriptor \(number))"
    }
  }

  /// Returns itself.
  public func inheritance() throws(IPCError) -> Inheritance { self }

  /// Returns what was handed over, as it is.
  public static func inherit(_ inheritance: Inheritance) throws(IPCError) -> Inheritance { inheritance }

  /// Hands over a POSIX queue's open descriptor instead of its name: the
  /// child shares this very descriptor (its access, and a queue whose name
  /// was already unlinked). It opens as a `POSIX.MessageQueue`, like a name.
  public static func descriptor(of queue: POSIX.MessageQueue) throws(IPCError) -> Inheritance {
    let fd = queue.fileDescriptor
    guard fd >= 0 else {
      throw IPCError(
        code: .badDescriptor, operation: "posix_spawn", object: queue.description,
        reason: "the queue's descriptor was closed; there is nothing to hand to a child")
    }
    return Inheritance(.posixQueueDescriptor, number: fd, detail: queue.access.code, name: queue.name)
  }

  /// Throws unless this is one of `kinds`: the error names what was handed
  /// and what the child asked for.
  func expect(_ kinds: Kind..., as type: String) throws(IPCError) {
    guard !kinds.contains(kind) else { return }
    throw IPCError(
      code: .invalidArgument, operation: "inherit", object: description,
      reason: "the parent handed a \(kind.noun) (\(description)), not a \(type)")
  }

  // MARK: Removal

  /// Whether ``remove()`` can remove it: named objects, not bare descriptors.
  var isRemovable: Bool { kind != .pipeEnd }

  /// Removes the kernel object (or its name) through its own type's removal.
  /// An object that is already gone is not an error: a parent and its
  /// children may race to remove it.
  ///
  /// - Returns: whether this call removed it.
  @discardableResult
  func remove() throws(IPCError) -> Bool {
    do throws(IPCError) {
      switch kind {
      case .systemVMessageQueue: try SystemV.MessageQueue(validatedID: number).remove()
      case .systemVSemaphoreSet, .systemVLock: try SystemV.SemaphoreSet(id: number, count: 0).remove()
      case .systemVSharedMemory:
        // A segment still attached lives on after IPC_RMID, and a second
        // IPC_RMID succeeds again: SHM_DEST says it was already removed.
        let segment = SystemV.SharedMemory(id: number, size: 0)
        if (try? segment.stat())?.isMarkedForRemoval == true { return false }
        try segment.remove()
      case .posixMessageQueue, .posixQueueDescriptor: try POSIX.MessageQueue.unlink(name)
      case .posixSemaphore: try POSIX.Semaphore.unlink(name)
      case .posixSharedMemory: try POSIX.SharedMemory.unlink(name)
      case .namedPipe:
        // Only a FIFO itself: never a file, or a link, that took its place.
        var info = stat()
        guard lstat(name, &info) == 0, info.st_mode & S_IFMT == S_IFIFO else { return false }
        try NamedPipe(checkedPath: name).remove()
      case .pipeEnd: return false
      }
      return true
    } catch {
      switch error.code {
      case .notFound, .invalidArgument, .removed: return false
      default: throw IPCError(code: error.code, operation: "remove", object: description)
      }
    }
  }
}

extension POSIX.MessageQueue.Access {
  /// How the access travels in an ``Inheritance``.
  var code: Int32 {
    switch self {
    case .readOnly: 0
    case .writeOnly: 1
    case .readWrite: 2
    }
  }

  init?(code: Int32) {
    switch code {
    case 0: self = .readOnly
    case 1: self = .writeOnly
    case 2: self = .readWrite
    default: return nil
    }
  }
}
