import Foundation
import IPC
import Synchronization

// pool-safety: every async wait of the library at once, more of them than the
// cooperative pool has threads, in a process of its own so that no other test
// holds the pool. PoolSafetyTests runs it and reads its verdict.

/// A flag one thread sets and another reads.
final class PeerFlag: Sendable {
  private let value = Atomic<Bool>(false)
  var isSet: Bool { value.load(ordering: .acquiring) }
  func set() { value.store(true, ordering: .releasing) }
}

/// A count any thread adds to.
final class PeerCounter: Sendable {
  private let count = Atomic<Int>(0)
  func add() { count.add(1, ordering: .relaxed) }
  var value: Int { count.load(ordering: .relaxed) }
}

/// One set of objects with one pending wait each, and how to feed them.
final class PoolObjects: @unchecked Sendable {
  let queue: SystemV.MessageQueue
  let posixQueue: POSIX.MessageQueue
  let pipe: (reader: PipeEnd, writer: PipeEnd)
  let fifo: NamedPipe
  let fifoReader: PipeEnd
  /// Open from the start: a FIFO without a writer reads as ended.
  let fifoWriter: PipeEnd
  let openedFIFO: NamedPipe
  let set: SystemV.SemaphoreSet
  let lock: SystemV.SemaphoreLock
  let semaphore: POSIX.Semaphore
  let child: ChildProcess
  let memory: POSIX.SharedMemory
  let region: SharedRegion
  let mutex: SharedMutex
  let regionName: String
  /// Unix sockets on abstract names (no files): a listener, a stream and a
  /// seqpacket connection, a datagram socket and a sender for it.
  let listener: UnixListener
  let stream: (client: UnixConnection, server: UnixConnection)
  let seqpacket: (client: UnixConnection, server: UnixConnection)
  let datagram: UnixDatagramSocket
  let datagramSender: UnixDatagramSocket
  /// Set once the mutex's holder thread has it; it lets go when `released` is set.
  let mutexHeld = PeerFlag()
  let released = PeerFlag()

  init(_ index: Int) throws {
    queue = try SystemV.MessageQueue.create()
    posixQueue = try POSIX.MessageQueue.create(
      "/ipc-test-pool-mq-\(getpid())-\(index)", maxMessages: 2, messageSize: 16)
    pipe = try AnonymousPipe.make()
    let path = "/tmp/ipc-test-pool-\(getpid())-\(index)"
    fifo = try NamedPipe.create(at: path + "-read")
    fifoReader = try fifo.openForReading(nonBlocking: true)
    fifoWriter = try fifo.openForWriting(nonBlocking: true)
    openedFIFO = try NamedPipe.create(at: path + "-open")
    set = try SystemV.SemaphoreSet.create(values: [0])
    lock = try SystemV.SemaphoreLock.create()
    try lock.lock()
    semaphore = try POSIX.Semaphore.create("/ipc-test-pool-sem-\(getpid())-\(index)", value: 0)
    child = try ChildProcess.start(executable: "/bin/sleep", arguments: ["60"])
    regionName = "/ipc-test-pool-shm-\(getpid())-\(index)"
    memory = try POSIX.SharedMemory.create(regionName, size: 4096)
    region = try memory.map()
    mutex = try region.initializeMutex(at: 0)
    let names = "ipc-test-pool-\(getpid())-\(index)"
    listener = try UnixListener.listen(on: .abstract(names + "-accept"))
    let streamListener = try UnixListener.listen(on: .abstract(names + "-stream"))
    stream.client = try UnixConnection.connect(to: .abstract(names + "-stream"))
    stream.server = try streamListener.accept()
    let packetListener = try UnixListener.listen(on: .abstract(names + "-seqpacket"), kind: .seqpacket)
    seqpacket.client = try UnixConnection.connect(to: .abstract(names + "-seqpacket"), kind: .seqpacket)
    seqpacket.server = try packetListener.accept()
    datagram = try UnixDatagramSocket.bind(to: .abstract(names + "-datagram"))
    datagramSender = try UnixDatagramSocket.unbound()
    Thread { [self] in
      guard (try? mutex.lock()) != nil else { return }
      mutexHeld.set()
      while !released.isSet { usleep(1_000) }
      try? mutex.unlock()
    }.start()
  }

  /// Starts one task per wait; each returns a word saying what it got,
  /// and counts itself in `ended`.
  func startWaits(_ ended: PeerCounter) -> [Task<String, any Error>] {
    let waits: [@Sendable () async throws -> String] = [
      { "queue \(try await self.queue.receive().bytes)" },
      { "posix \(try await self.posixQueue.receive().bytes)" },
      { "pipe \(try await self.pipe.reader.receive() ?? [])" },
      { "fifo \(try await self.fifoReader.receive() ?? [])" },
      {
        let end = try await self.openedFIFO.openForReading()
        try end.close()
        return "opened"
      },
      {
        try await self.set.wait(0)
        return "set"
      },
      {
        try await self.lock.lock()
        try self.lock.unlock()
        return "lock"
      },
      {
        try await self.semaphore.wait()
        return "semaphore"
      },
      { "child \(try await self.child.wait())" },
      { "mutex \(try await self.mutex.withLock(recover: {}) { 7 })" },
      { "stream \(try await self.stream.server.receive() ?? [])" },
      { "seqpacket \(try await self.seqpacket.server.receive() ?? [])" },
      { "accepted \(try await self.listener.accept().kind)" },
      { "datagram \(try await self.datagram.receive().bytes)" },
    ]
    return waits.map { wait in
      Task {
        defer { ended.add() }
        return try await wait()
      }
    }
  }

  static let expected = [
    "queue [1]", "posix [2]", "pipe [3]", "fifo [4]", "opened", "set", "lock", "semaphore",
    "child killed by SIGKILL (signal 9)", "mutex 7", "stream [5]", "seqpacket [6]", "accepted stream",
    "datagram [7]",
  ]

  func feed() throws {
    try queue.send([1], type: 1)
    try posixQueue.send([2])
    try pipe.writer.send([3])
    try fifoWriter.send([4])
    // Opening for writing blocks until the pending open for reading is in.
    let opened = try openedFIFO.openForWriting()
    try opened.close()
    try set.signal(0)
    try lock.unlock()
    try semaphore.post()
    try child.kill()
    try stream.client.send([5])
    try seqpacket.client.send([6])
    _ = try UnixConnection.connect(to: listener.address)
    try datagramSender.send([7], to: datagram.address ?? listener.address)
    released.set()
  }

  func remove() {
    released.set()
    try? child.kill()
    _ = try? child.wait()
    try? queue.remove()
    try? posixQueue.unlink()
    try? fifo.remove()
    try? openedFIFO.remove()
    try? set.remove()
    try? lock.remove()
    try? semaphore.unlink()
    try? memory.unlink()
    try? listener.close()
  }
}

/// Starts at least 4 x cores waits across every mechanism, runs an unrelated
/// task while all are pending, then feeds them (or, after 15 s without the
/// unrelated task, feeds them anyway: a blocking implementation then fails
/// instead of hanging). Prints one `check:` line per finding, then `verdict: ok`
/// or `verdict: failed`.
func poolSafety(_ context: ChildContext) throws {
  let cores = ProcessInfo.processInfo.activeProcessorCount
  let sets = max(1, (4 * cores + PoolObjects.expected.count - 1) / PoolObjects.expected.count)
  var objects: [PoolObjects] = []
  for index in 0..<sets { objects.append(try PoolObjects(index)) }
  let made = objects
  runAsync {
    var failures: [String] = []
    while !made.allSatisfy({ $0.mutexHeld.isSet }) { usleep(1_000) }
    let ended = PeerCounter()
    let pending = made.map { $0.startWaits(ended) }
    let count = pending.joined().count
    say("check: \(count) waits pending on \(cores) cores")
    if count < 4 * cores { failures.append("fewer than 4 x cores waits") }
    let checked = PeerFlag()
    let fedByTimer = PeerFlag()
    let feedErrors = Mutex<[String]>([])
    Thread {
      let deadline = ContinuousClock.now + .seconds(15)
      while !checked.isSet && ContinuousClock.now < deadline { usleep(1_000) }
      if !checked.isSet { fedByTimer.set() }
      for objects in made {
        do { try objects.feed() } catch { feedErrors.withLock { $0.append("\(error)") } }
      }
    }.start()
    // Time for every wait to settle in its wait; none can end before the feed.
    try? await Task.sleep(for: .milliseconds(200))
    let unrelated = await Task.detached { (1...10).reduce(0, +) }.value
    if unrelated != 55 { failures.append("the unrelated task computed \(unrelated)") }
    if fedByTimer.isSet {
      failures.append("the unrelated task ran only once the waits were fed: they held the pool")
    }
    if ended.value != 0 { failures.append("\(ended.value) waits ended before anything was fed") }
    checked.set()
    for tasks in pending {
      var results: [String] = []
      for task in tasks {
        do { results.append(try await task.value) } catch { results.append("error: \(error)") }
      }
      if results != PoolObjects.expected { failures.append("results \(results)") }
    }
    failures += feedErrors.withLock { $0 }
    made.forEach { $0.remove() }
    for failure in failures { say("check: \(failure)") }
    say(failures.isEmpty ? "verdict: ok" : "verdict: failed")
  }
}
