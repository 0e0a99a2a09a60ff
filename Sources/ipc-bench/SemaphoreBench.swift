import CIPCBench
import Glibc
import IPC

/// The loops of a mechanism that carries no message: ping and pong are one
/// V and one P on each side, `size` is always 0, and there is no one-way
/// pattern to measure.
protocol SignalLoops: MessageLoops {}

extension SignalLoops {
  func send(count: Int, size: Int) throws { throw BenchFailure.roundTripsOnly }
  func receive(count: Int, size: Int) throws { throw BenchFailure.roundTripsOnly }
}

/// A fresh private System V set of two semaphores per measurement, both 0:
/// the parent's V on semaphore 0 wakes the child, the child's V on semaphore
/// 1 wakes the parent. The child gets the set's id.
final class SystemVSemaphoreFixture: RegisteredFixture {
  let id: Int32
  var entries: [CleanupEntry] = []
  /// Removing the set ends the parent's blocked semop with EIDRM.
  static let removalWakesTheParent = true

  init(size: Int) throws {
    let (id, entry) = try CleanupEntry.made(
      {
        let id = cipcb_semset_create(2)
        try check(min(id, 0), "semget", "benchmark semaphore set")
        return id
      }, register: CleanupEntry.semaphoreSet, remove: { _ = cipcb_semset_remove($0) })
    self.id = id
    entries = [entry]
  }

  var childArguments: [String] { ["--id", "\(id)"] }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    try Self.loops(impl, id: id)
  }

  deinit { remove() }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    guard let id = Int32(try arguments.string("--id")) else { throw BenchFailure("child: bad --id") }
    return try loops(impl, id: id)
  }

  private static func loops(_ impl: Implementation, id: Int32) throws -> any MessageLoops {
    switch impl {
    case .c: CSystemVSemaphoreLoops(set: id)
    case .swift: try SwiftSystemVSemaphoreLoops(id: id)
    }
  }
}

/// The plain C baseline: semop on one semaphore at a time, sem_flg 0.
struct CSystemVSemaphoreLoops: SignalLoops {
  let set: Int32

  func ping(rounds: Int, size: Int) throws {
    try check(cipcb_semset_ping(set, rounds), "cipcb_semset_ping", "benchmark semaphore set")
  }

  func pong(rounds: Int, size: Int) throws {
    try check(cipcb_semset_pong(set, rounds), "cipcb_semset_pong", "benchmark semaphore set")
  }
}

/// The Swift side of the System V semaphore row, through `SystemV.SemaphoreSet`:
/// the same loops as `cipcb_semset_*` in sysv_sem.c.
struct SwiftSystemVSemaphoreLoops: SignalLoops {
  private let set: SystemV.SemaphoreSet

  /// Opens the set with id `id`, before the clock starts.
  init(id: Int32) throws { set = try SystemV.SemaphoreSet.open(id: id) }

  func ping(rounds: Int, size: Int) throws {
    for _ in 0..<rounds {
      try set.signal(0)
      try set.wait(1)
    }
  }

  func pong(rounds: Int, size: Int) throws {
    for _ in 0..<rounds {
      try set.wait(0)
      try set.signal(1)
    }
  }
}

/// Two fresh POSIX named semaphores per measurement, both 0: the parent
/// posts "to child" and waits on "to parent", the child the other way round.
/// The child gets their names; once both sides have opened them the names
/// are unlinked, before the clock starts.
final class POSIXSemaphoreFixture: RegisteredFixture {
  let toChild: String
  let toParent: String
  var entries: [CleanupEntry]
  /// Nothing wakes a blocked sem_wait but a post, which the loop would count
  /// as the child's: the watchdog ends the run instead.
  static let removalWakesTheParent = false

  init(size: Int) throws {
    (toChild, toParent) = UniqueName.directions(under: "/")
    entries = try CleanupEntry.makeNamed([toChild, toParent], register: CleanupEntry.namedSemaphore) {
      name in
      try check(cipcb_sem_create(name), "sem_open", name)
    } unmake: { name in
      _ = sem_unlink(name)
    }
  }

  var childArguments: [String] { ["--to-child", toChild, "--to-parent", toParent] }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    try removingNames { try Self.loops(impl, toChild: toChild, toParent: toParent) }
  }

  deinit { remove() }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    try loops(
      impl, toChild: try arguments.string("--to-child"), toParent: try arguments.string("--to-parent"))
  }

  private static func loops(_ impl: Implementation, toChild: String, toParent: String) throws
    -> any MessageLoops
  {
    switch impl {
    case .c: try CPOSIXSemaphoreLoops(toChild: toChild, toParent: toParent)
    case .swift: try SwiftPOSIXSemaphoreLoops(toChild: toChild, toParent: toParent)
    }
  }
}

/// The plain C baseline: sem_post and sem_wait on the two semaphores.
final class CPOSIXSemaphoreLoops: SignalLoops {
  private let toChild: UnsafeMutablePointer<sem_t>
  private let toParent: UnsafeMutablePointer<sem_t>

  init(toChild toChildName: String, toParent toParentName: String) throws {
    toChild = try Self.open(toChildName)
    do {
      toParent = try Self.open(toParentName)
    } catch {
      _ = cipcb_sem_close(toChild)
      throw error
    }
  }

  deinit {
    _ = cipcb_sem_close(toChild)
    _ = cipcb_sem_close(toParent)
  }

  func ping(rounds: Int, size: Int) throws {
    try check(cipcb_sem_ping(toChild, toParent, rounds), "cipcb_sem_ping", "benchmark semaphores")
  }

  func pong(rounds: Int, size: Int) throws {
    try check(cipcb_sem_pong(toChild, toParent, rounds), "cipcb_sem_pong", "benchmark semaphores")
  }

  private static func open(_ name: String) throws -> UnsafeMutablePointer<sem_t> {
    guard let semaphore = cipcb_sem_open(name) else {
      throw IPCError(code: IPCError.Code(rawValue: errno), operation: "sem_open", object: name)
    }
    return semaphore
  }
}

/// The Swift side of the POSIX semaphore row, through `POSIX.Semaphore`: the
/// same loops as `cipcb_sem_*` in posix_sem.c.
final class SwiftPOSIXSemaphoreLoops: SignalLoops {
  private let toChild: POSIX.Semaphore
  private let toParent: POSIX.Semaphore

  /// Opens both semaphores by name, before the clock starts.
  init(toChild: String, toParent: String) throws {
    self.toChild = try POSIX.Semaphore.open(toChild)
    self.toParent = try POSIX.Semaphore.open(toParent)
  }

  func ping(rounds: Int, size: Int) throws {
    for _ in 0..<rounds {
      try toChild.post()
      try toParent.wait()
    }
  }

  func pong(rounds: Int, size: Int) throws {
    for _ in 0..<rounds {
      try toChild.wait()
      try toParent.post()
    }
  }
}
