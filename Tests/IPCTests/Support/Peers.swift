/// The plain-C peers (Tests/Peers) that use the raw system calls, run to
/// their end (at most 20 s) with `arguments`.
enum Peers {
  /// sysv_sem_peer: System V semaphore sets.
  static func systemVSemaphore(_ arguments: String...) throws -> SpawnedProcess {
    try run(Tools.semPeer, arguments)
  }

  /// posix_sem_peer: POSIX named semaphores.
  static func posixSemaphore(_ arguments: String...) throws -> SpawnedProcess {
    try run(Tools.posixSemPeer, arguments)
  }

  /// sysv_shm_peer: System V shared memory segments.
  static func systemVSharedMemory(_ arguments: String...) throws -> SpawnedProcess {
    try run(Tools.shmPeer, arguments)
  }

  /// posix_shm_peer: POSIX shared memory objects.
  static func posixSharedMemory(_ arguments: String...) throws -> SpawnedProcess {
    try run(Tools.posixShmPeer, arguments)
  }

  private static func run(_ peer: Result<String, SpawnFailure>, _ arguments: [String]) throws
    -> SpawnedProcess
  {
    try SpawnedProcess.run(try peer.get(), arguments, timeout: .seconds(20))
  }
}
