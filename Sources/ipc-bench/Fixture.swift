import CIPCBench
import Glibc
import IPC
import IPCToolSupport

/// One process's side of a row. Making one (opening or adopting what it
/// needs) happens before the clock starts; only the pattern's function is timed.
protocol MessageLoops {
  /// `rounds` times: send `size` bytes, then wait for the reply.
  func ping(rounds: Int, size: Int) throws
  /// `rounds` times: receive a message of `size` bytes and send it back.
  func pong(rounds: Int, size: Int) throws
  /// Sends `count` messages of `size` bytes.
  func send(count: Int, size: Int) throws
  /// Receives `count` messages of `size` bytes.
  func receive(count: Int, size: Int) throws
  /// Ping with typed Codable messages encoded by `coding` (only where a row
  /// asks for it).
  func typedPing(rounds: Int, size: Int, coding: TypedCoding) throws
  /// Pong with typed Codable messages.
  func typedPong(rounds: Int, size: Int, coding: TypedCoding) throws
  /// Ping with a pause of `pause` nanoseconds before each message, so that
  /// the peer has gone to sleep when it comes (the parked round trip).
  func pausedPing(rounds: Int, size: Int, pause: Int64) throws
  /// Pong with the same pause before each reply.
  func pausedPong(rounds: Int, size: Int, pause: Int64) throws
  /// Waits `milliseconds` for a message that does not come, and returns the
  /// CPU time this spent, in nanoseconds per second waited.
  func idleWait(milliseconds: Int, size: Int) throws -> Double
  /// The peer of `idleWait`: stays for longer than that wait, then sends one
  /// message so that the waiting side can finish.
  func idleStay(milliseconds: Int, size: Int) throws
  /// Ping with the async forms, awaited in a task (the `.async` column of an
  /// async row); the child pongs with the blocking ones.
  func asyncPing(rounds: Int, size: Int) async throws
  /// Receives `count` messages with the async forms, awaited in a task.
  func asyncReceive(count: Int, size: Int) async throws
}

extension MessageLoops {
  func typedPing(rounds: Int, size: Int, coding: TypedCoding) throws {
    throw BenchFailure("no typed loop for this mechanism")
  }
  func typedPong(rounds: Int, size: Int, coding: TypedCoding) throws {
    throw BenchFailure("no typed loop for this mechanism")
  }
  func pausedPing(rounds: Int, size: Int, pause: Int64) throws {
    throw BenchFailure("no paused loop for this mechanism")
  }
  func pausedPong(rounds: Int, size: Int, pause: Int64) throws {
    throw BenchFailure("no paused loop for this mechanism")
  }
  func idleWait(milliseconds: Int, size: Int) throws -> Double {
    throw BenchFailure("no idle loop for this mechanism")
  }
  func idleStay(milliseconds: Int, size: Int) throws { throw BenchFailure("no idle loop for this mechanism") }
  func asyncPing(rounds: Int, size: Int) async throws {
    throw BenchFailure("no async loop for this mechanism")
  }
  func asyncReceive(count: Int, size: Int) async throws {
    throw BenchFailure("no async loop for this mechanism")
  }
}

/// The kernel objects of one measurement, made fresh by the parent before it
/// starts the child, and removed afterwards whatever happened.
///
/// The order of a measurement (see `Runner.measure`):
/// 1. `init(size:)` makes the objects and registers every name for cleanup;
/// 2. the child starts with `childArguments` and the `inherited` descriptors,
///    then `childStarted()` closes the parent's copies of the child's ends;
/// 3. the child opens its side (`childLoops`), says "ready" on the control
///    channel and waits for "go";
/// 4. `parentLoops(_:)` opens the parent's side; once it returns both sides
///    hold everything open, and names (queues, FIFOs) are already removed;
/// 5. "go", the timed loops, then `remove()`.
protocol Fixture: AnyObject {
  /// Makes the objects for one measurement of messages of `size` bytes.
  init(size: Int) throws

  /// How the child finds the objects: `--key value` arguments of its entry
  /// point (`ChildContext.arguments`, read with `ChildArguments`).
  var childArguments: [String] { get }

  /// Descriptors the child inherits, at fixed numbers in the child: handed
  /// with `descriptors:`, as the library closes every other one in the child.
  var inherited: [(child: Int32, parent: Int32)] { get }

  /// The child is running: the parent closes its copies of the child's ends,
  /// so that a child that ends means end-of-stream or EPIPE for the parent.
  func childStarted()

  /// The child runs as process `pid` (for a peer addressed by pid: signals).
  func childRunning(as pid: pid_t)

  /// The parent's side, opened after the child is ready, before the clock starts.
  func parentLoops(_ impl: Implementation) throws -> any MessageLoops

  /// The child failed while the parent runs its timed loop: make the
  /// parent's blocked call return. Runs on the watchdog thread. False if
  /// nothing can (the watchdog then ends the run).
  func childFailed() -> Bool

  /// Closes and removes everything that is left (idempotent).
  func remove()

  /// The child's side, from the arguments the fixture gave it.
  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
}

/// The `--key value` pairs a child's entry point was started with, read by
/// the tools' one parser: every name a fixture hands its child is declared here.
struct ChildArguments {
  /// Every option a fixture or the runner gives a child.
  static let names = [
    "--row", "--impl", "--count", "--cpu", "--id", "--to-child", "--to-parent", "--message-size", "--segment",
    "--set", "--address", "--peer",
  ]
  static let options = names.map { Option<String>.text($0, valueName: "VALUE", help: "set by the parent") }
  static let spec = CommandSpec("ipc-bench child", abstract: "a measurement's peer", options: options)

  private let parsed: ParsedArguments

  init(_ arguments: [String]) throws {
    do {
      parsed = try Self.spec.parse(arguments)
    } catch {
      throw BenchFailure("child: \(error.message)")
    }
  }

  func string(_ key: String) throws -> String {
    guard let option = Self.options.first(where: { $0.declaration.name == key }), let value = parsed[option]
    else {
      throw BenchFailure("child: missing \(key)")
    }
    return value
  }

  func integer(_ key: String) throws -> Int {
    guard let value = Int(try string(key)) else { throw BenchFailure("child: \(key) needs a number") }
    return value
  }

  /// A System V id (`--segment`, `--set`).
  func id(_ key: String) throws -> Int32 {
    guard let value = Int32(try string(key)) else { throw BenchFailure("child: bad \(key)") }
    return value
  }
}

/// An object registered for cleanup in CIPCBench (cleanup.c): removed by the
/// measurement, by the watchdog, or by the handler of SIGINT, SIGTERM and SIGHUP.
struct CleanupEntry {
  let number: Int32
  let object: String

  /// Registers a System V queue.
  static func systemV(_ id: Int32) throws -> CleanupEntry {
    try CleanupEntry(cipcb_cleanup_add_sysv(id), "queue \(id)")
  }

  /// Registers a POSIX message queue name, before the queue is made.
  static func messageQueue(_ name: String) throws -> CleanupEntry {
    try CleanupEntry(cipcb_cleanup_add_mq(name), name)
  }

  /// Registers a System V semaphore set.
  static func semaphoreSet(_ id: Int32) throws -> CleanupEntry {
    try CleanupEntry(cipcb_cleanup_add_semset(id), "semaphore set \(id)")
  }

  /// Registers a System V shared memory segment.
  static func sharedMemory(_ id: Int32) throws -> CleanupEntry {
    try CleanupEntry(cipcb_cleanup_add_shm(id), "shared memory segment \(id)")
  }

  /// Registers a POSIX named semaphore's name, before the semaphore is made.
  static func namedSemaphore(_ name: String) throws -> CleanupEntry {
    try CleanupEntry(cipcb_cleanup_add_sem(name), name)
  }

  /// Registers a file to unlink, before the file is made.
  static func file(_ path: String) throws -> CleanupEntry {
    try CleanupEntry(cipcb_cleanup_add_path(path), path)
  }

  private init(_ number: Int32, _ object: String) throws {
    try check(number < 0 ? number : 0, "cleanup registration", object)
    self.number = number
    self.object = object
  }

  /// Removes the object and forgets the entry (main thread).
  func remove() {
    let status = cipcb_cleanup_remove(number)
    if status != 0 {
      Report.progress("ipc-bench: cannot remove \(object): \(String(cString: strerror(-status)))")
    }
  }

  /// Removes the object now, leaving the entry to `remove()` (watchdog thread).
  func removeNow() { _ = cipcb_cleanup_remove_now(number) }

  /// Makes an object known only once it exists (a System V id) with `make` and
  /// registers it with `register`, the handled signals held in between: a run
  /// ended at that moment removes it too. If registering fails, the object is
  /// removed with `remove` before the error is rethrown.
  static func made<Object>(
    _ make: () throws -> Object, register: (Object) throws -> CleanupEntry, remove: (Object) -> Void
  ) throws -> (object: Object, entry: CleanupEntry) {
    cipcb_cleanup_hold_signals(1)
    defer { cipcb_cleanup_hold_signals(0) }
    let object = try make()
    do {
      return (object, try register(object))
    } catch {
      remove(object)
      throw error
    }
  }

  /// Makes each name's object with `make`, an exclusive create that fails if
  /// the name exists, then registers it with `register`, the handled signals
  /// held in between (a run ended at that moment still removes it). Only an
  /// object this process made is ever registered, so a cleanup never removes
  /// someone else's. If any step fails, what was made so far is removed
  /// (`unmake` for one made but not registered) before the error is rethrown.
  static func makeNamed(
    _ names: [String], register: (String) throws -> CleanupEntry, make: (String) throws -> Void,
    unmake: (String) -> Void
  ) throws -> [CleanupEntry] {
    var entries: [CleanupEntry] = []
    do {
      for name in names {
        cipcb_cleanup_hold_signals(1)
        defer { cipcb_cleanup_hold_signals(0) }
        try make(name)
        do {
          entries.append(try register(name))
        } catch {
          unmake(name)
          throw error
        }
      }
    } catch {
      entries.forEach { $0.remove() }
      throw error
    }
    return entries
  }
}

/// Names unique to this process and measurement, and unpredictable:
/// "ipc-bench-PID-N-" and 64 random bits in hex, so no other user can take a
/// name first (the create is exclusive anyway, and only what this process
/// made is registered for cleanup).
enum UniqueName {
  // Only the main thread makes fixtures.
  nonisolated(unsafe) private static var counter = 0

  static func next() -> String {
    counter += 1
    return "ipc-bench-\(getpid())-\(counter)-\(String(UInt64.random(in: .min ... .max), radix: 16))"
  }
}

/// Turns a C function's 0 or -errno into an error about `object`.
func check(_ status: Int32, _ function: String, _ object: String) throws {
  guard status == 0 else {
    throw IPCError(code: IPCError.Code(rawValue: -status), operation: function, object: object)
  }
}

/// A descriptor result: the descriptor, or the error errno names.
func descriptor(_ result: Int32, _ function: String, _ object: String) throws -> Int32 {
  guard result >= 0 else {
    throw IPCError(code: IPCError.Code(rawValue: errno), operation: function, object: object)
  }
  return result
}

/// Closes `fd` if it is open and marks it closed.
func closeDescriptor(_ fd: inout Int32) {
  if fd >= 0 { _ = close(fd) }
  fd = -1
}
