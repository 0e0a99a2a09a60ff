extension CleanupCandidate {
  /// The six kinds of kernel object a cleanup looks at.
  ///
  /// The raw value is the kind's name in owner records and in `ipc clean`'s table.
  public enum Kind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// A System V message queue (`msgget`), named by its id.
    case systemVQueue = "sysv-msg"
    /// A System V semaphore set (`semget`), named by its id.
    case systemVSemaphoreSet = "sysv-sem"
    /// A System V shared memory segment (`shmget`), named by its id.
    case systemVSharedMemory = "sysv-shm"
    /// A POSIX message queue (`mq_open`), named by its name.
    case posixQueue = "posix-mq"
    /// A POSIX named semaphore (`sem_open`), the file /dev/shm/sem.NAME.
    case posixSemaphore = "posix-sem"
    /// A POSIX shared memory object (`shm_open`), the file /dev/shm/NAME.
    case posixSharedMemory = "posix-shm"

    /// The raw value, such as `sysv-msg`.
    public var description: String { rawValue }

    /// Whether each IPC namespace has its own objects of this kind (System V
    /// and POSIX queues), rather than files every process with the same
    /// /dev/shm sees (POSIX semaphores and shared memory).
    public var isPerIPCNamespace: Bool {
      self != .posixSemaphore && self != .posixSharedMemory
    }

    /// Whether it is a System V kind, named by a kernel id.
    public var isSystemV: Bool {
      switch self {
      case .systemVQueue, .systemVSemaphoreSet, .systemVSharedMemory: true
      case .posixQueue, .posixSemaphore, .posixSharedMemory: false
      }
    }
  }
}
