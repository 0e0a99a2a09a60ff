import Glibc
import IPC

/// A mechanism `ipc stress` can torture, by the name its option takes.
enum StressMechanism: String, CaseIterable, Sendable {
  case systemVQueue = "sysv-queue"
  case posixQueue = "posix-queue"
  case pipe
  case fifo
  case sharedMemoryRing = "shm-ring"

  /// Whether messages travel as fixed frames (on a byte stream or in a ring's slots).
  var isStream: Bool { self != .systemVQueue && self != .posixQueue }

  /// The child's end of the mechanism, from what the parent handed it as "channel".
  func endpoint(in context: ChildContext, producing: Bool) throws -> StressEndpoint {
    switch self {
    case .systemVQueue:
      let queue = try context.open("channel", as: SystemV.MessageQueue.self)
      return StressEndpoint(
        send: { bytes throws(IPCError) in try queue.send(bytes, type: 1) },
        receive: { buffer throws(IPCError) in try queue.receive(into: buffer).count })
    case .posixQueue:
      let queue = try context.open("channel", as: POSIX.MessageQueue.self)
      return StressEndpoint(
        send: { bytes throws(IPCError) in try queue.send(bytes) },
        receive: { buffer throws(IPCError) in try queue.receive(into: buffer).count })
    case .pipe:
      return .stream(try context.open("channel", as: PipeEnd.self))
    case .fifo:
      let pipe = try context.open("channel", as: NamedPipe.self)
      // The parent holds both ends open all along: neither open waits.
      return .stream(producing ? try pipe.openForWriting() : try pipe.openForReading())
    case .sharedMemoryRing:
      let memory = try context.open("channel", as: SystemV.SharedMemory.self)
      guard memory.size == StressRing.size else {
        throw CommandFailure("segment \(memory.id) has \(memory.size) bytes, not \(StressRing.size)")
      }
      return .ring(try StressRing.open(try memory.attach()))
    }
  }
}

/// One party's way to send or receive a stress message.
struct StressEndpoint {
  /// Sends the message in the bytes (for a stream: a whole frame).
  let send: (UnsafeRawBufferPointer) throws(IPCError) -> Void
  /// Receives one message into the buffer (``StressMessage/frameSize`` bytes); its length.
  let receive: (UnsafeMutableRawBufferPointer) throws(IPCError) -> Int

  /// A ring in shared memory: every message is one frame in a slot.
  static func ring(_ ring: StressRing) -> StressEndpoint {
    StressEndpoint(
      send: { bytes throws(IPCError) in try ring.put(bytes) },
      receive: { buffer throws(IPCError) in
        try ring.take(into: buffer)
        return StressMessage.frameSize
      })
  }

  /// A pipe end: every message is one frame, written and read whole.
  static func stream(_ end: PipeEnd) -> StressEndpoint {
    StressEndpoint(
      send: { bytes throws(IPCError) in try end.write(bytes) },
      receive: { buffer throws(IPCError) in
        try end.read(filling: buffer)
        return buffer.count
      })
  }
}

/// The objects of one mechanism's run, made by the parent: registered with
/// the supervisor that removes them, handed to the children, and checked
/// afterwards to be gone.
final class StressObjects {
  let mechanism: StressMechanism
  /// What producers and consumers are handed as "channel".
  let forProducers: any Inheritable
  let forConsumers: any Inheritable
  /// The parent's own way in, for the stop messages.
  let parentEnd: StressEndpoint
  /// `queue 5`, `POSIX queue /ipc-stress-…`: how the lines name the object.
  let label: String
  /// Whether the object still exists (a leftover), checked after teardown.
  private let stillThere: () -> Bool
  /// The ends the parent keeps open until teardown (pipes, FIFO, POSIX queue descriptor).
  private var keep: [PipeEnd] = []
  private var queue: POSIX.MessageQueue?
  private var ring: SharedRegion?

  /// Makes the mechanism's object, registered with `supervisor` for removal
  /// unless `leak` (the debug-only fault that proves the leftover check).
  init(_ mechanism: StressMechanism, supervisor: Supervisor, leak: Bool = false) throws {
    self.mechanism = mechanism
    func registered<Object: Inheritable>(_ make: () throws(IPCError) -> Object) throws(IPCError) -> Object {
      leak ? try make() : try supervisor.removeWhenFinished(try make())
    }
    switch mechanism {
    case .systemVQueue:
      let queue = try registered { () throws(IPCError) in try SystemV.MessageQueue.create() }
      (forProducers, forConsumers) = (queue, queue)
      parentEnd = StressEndpoint(
        send: { bytes throws(IPCError) in try queue.send(bytes, type: 1) },
        receive: { buffer throws(IPCError) in try queue.receive(into: buffer).count })
      label = "System V queue \(queue.id)"
      stillThere = { SystemVTable.lists(queue.id, in: "msg") }
    case .posixQueue:
      let name = "/" + StressNames.next()
      let queue = try registered { () throws(IPCError) in
        try POSIX.MessageQueue.create(name, messageSize: StressMessage.frameSize)
      }
      self.queue = queue
      (forProducers, forConsumers) = (queue, queue)
      parentEnd = StressEndpoint(
        send: { bytes throws(IPCError) in try queue.send(bytes) },
        receive: { buffer throws(IPCError) in try queue.receive(into: buffer).count })
      label = "POSIX queue \(name)"
      stillThere = { access("/dev/mqueue" + name, F_OK) == 0 }
    case .pipe:
      let (reader, writer) = try AnonymousPipe.make()
      keep = [reader, writer]
      (forProducers, forConsumers) = (writer, reader)
      parentEnd = .stream(writer)
      label = "an anonymous pipe"
      // Nothing named: the pipe goes with its last descriptor.
      stillThere = { false }
    case .fifo:
      let path = "/tmp/" + StressNames.next() + ".fifo"
      let pipe = try registered { () throws(IPCError) in try NamedPipe.create(at: path) }
      // Held open all along: children's opens never wait, consumers never
      // see the end of the stream, producers never get EPIPE.
      let reader = try pipe.openForReading(nonBlocking: true)
      let writer = try pipe.openForWriting()
      keep = [reader, writer]
      (forProducers, forConsumers) = (pipe, pipe)
      parentEnd = .stream(writer)
      label = "FIFO \(path)"
      stillThere = {
        var info = stat()
        return lstat(path, &info) == 0
      }
    case .sharedMemoryRing:
      let memory = try registered { () throws(IPCError) in
        try SystemV.SharedMemory.create(size: StressRing.size)
      }
      let region = try memory.attach()
      ring = region
      (forProducers, forConsumers) = (memory, memory)
      parentEnd = .ring(try StressRing.initialize(region))
      label = "System V segment \(memory.id) for the ring"
      stillThere = { SystemVTable.lists(memory.id, in: "shm") }
    }
  }

  /// Closes the parent's ends; the supervisor removes the named object.
  func close() {
    for end in keep { try? end.close() }
    keep = []
    try? queue?.close()
    queue = nil
    try? ring?.close()
    ring = nil
  }

  /// Whether the object outlived the run.
  var isLeftOver: Bool { stillThere() }
}

/// Names for the run's POSIX objects: `ipc-stress-PID-N-` and 64 random bits
/// in hex, so nobody can take one first (and the create is exclusive anyway).
enum StressNames {
  // Only the parent's main thread makes objects.
  nonisolated(unsafe) private static var counter = 0

  static func next() -> String {
    counter += 1
    return "ipc-stress-\(getpid())-\(counter)-\(String(UInt64.random(in: .min ... .max), radix: 16))"
  }
}

/// What /proc/sysvipc lists.
enum SystemVTable {
  /// Whether /proc/sysvipc/`table` (msg, sem, shm) lists the id `id`.
  static func lists(_ id: Int32, in table: String) -> Bool {
    guard let text = readAll("/proc/sysvipc/\(table)") else { return false }
    return text.split(separator: "\n").dropFirst().contains { line in
      line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "\(id)"
    }
  }

  /// The whole file: /proc files are read until a read returns 0.
  private static func readAll(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { _ = Glibc.close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
