/// Which implementation a measurement runs.
enum Implementation: String {
  case swift
  case c
}

/// One column of a row, one measurement each per repetition: the C loop, the
/// Swift layer's blocking form, or (async rows only) its async form awaited
/// in a task. The child runs the same blocking part for `.swift` and `.async`.
enum Column: String, Sendable {
  case c
  case swift
  case async

  /// The loops each process opens: an async column's are the Swift ones.
  var implementation: Implementation { self == .c ? .c : .swift }
}

/// The kernel mechanism a row measures, and the fixture that makes its objects.
enum Mechanism: String, CaseIterable, Sendable {
  case systemVQueue = "sysv-msg"
  case posixQueue = "posix-mq"
  case namedPipe = "named-pipe"
  case anonymousPipe = "anon-pipe"
  case socketPair = "socketpair"
  /// Unix-domain sockets by name (`UnixListener`, `UnixConnection`): framed
  /// stream, seqpacket records, and stream frames that each carry a descriptor.
  case unixStream = "unix-stream"
  case unixSeqpacket = "unix-seqpacket"
  /// The seqpacket rows' Swift loops against a plain C `recv` loop, which
  /// keeps none of the guarantees the library's receive keeps.
  case unixSeqpacketPlain = "unix-seqpacket-plain"
  case unixDescriptorPassing = "unix-fd-pass"
  case systemVSemaphore = "sysv-sem"
  case posixSemaphore = "posix-sem"
  case sharedMemorySemaphore = "shm+sem"
  case sharedRing = "shm-ring"
  case sharedChannel = "shm-channel"
  case signal = "signal"
  /// Child processes themselves: started and waited for, nothing exchanged.
  case process = "process"

  /// The fixture that makes a measurement's objects for this process and its
  /// peer; nil for `process`, whose row has neither: this process measures
  /// it alone (`SpawnBench`).
  var fixture: (any Fixture.Type)? {
    switch self {
    case .systemVQueue: SystemVFixture.self
    case .posixQueue: POSIXQueueFixture.self
    case .namedPipe: NamedPipeFixture.self
    case .anonymousPipe: AnonymousPipeFixture.self
    case .socketPair: SocketPairFixture.self
    case .unixStream: UnixStreamFixture.self
    case .unixSeqpacket: UnixSeqpacketFixture.self
    case .unixSeqpacketPlain: UnixSeqpacketPlainFixture.self
    case .unixDescriptorPassing: UnixDescriptorFixture.self
    case .systemVSemaphore: SystemVSemaphoreFixture.self
    case .posixSemaphore: POSIXSemaphoreFixture.self
    case .sharedMemorySemaphore: SharedMemorySemaphoreFixture.self
    case .sharedRing: SharedRingFixture.self
    case .sharedChannel: SharedChannelFixture.self
    case .signal: SignalFixture.self
    case .process: nil
    }
  }
}

/// How typed messages are encoded: the library's three coders.
enum TypedCoding: String, Sendable {
  /// `JSONMessageCoder`, the default.
  case json
  /// `BinaryMessageCoder`: compact, Swift to Swift.
  case binary
  /// `BitwiseMessageCoder`: a plain value's bytes behind a fingerprint.
  case bitwise
}

/// How the two processes exchange messages, or (`spawnAndWait`) what this
/// process does alone.
enum Pattern: Equatable, Sendable {
  /// Parent pings, child pongs.
  case roundTrip
  /// Child sends, parent receives.
  case throughput
  /// A round trip with typed Codable messages on the Swift side, raw bytes in C.
  case typedRoundTrip(TypedCoding)
  /// A round trip in which each side pauses (spins on the clock, no system
  /// call) for `pause` before it sends, so that the peer has gone to sleep
  /// in its wait: every message wakes a sleeper. The pauses are subtracted.
  case pausedRoundTrip
  /// The parent waits for a message that does not come (the child, attached,
  /// sends nothing for that long); the figure is the CPU time the wait took.
  case idle
  /// No peer and no message: this process starts a child that exits at once
  /// and waits for it, again and again (`SpawnBench`).
  case spawnAndWait
  /// A round trip whose `.async` column pings with the async forms, in a task;
  /// its `.c` and `.swift` columns are those of `roundTrip`.
  case asyncRoundTrip
  /// One way, the parent receiving with the async forms in its `.async`
  /// column; its `.c` and `.swift` columns are those of `throughput`.
  case asyncThroughput

  /// The pause before each message of a `pausedRoundTrip`: 100 µs, far longer
  /// than any spin before a wait sleeps (the channel's spins a few µs).
  static let pause: Int64 = 100_000

  /// Time a pattern spends pausing on purpose per iteration, subtracted from
  /// the measured time: two pauses per round of a `pausedRoundTrip`.
  var pauseNanosecondsPerIteration: Double { self == .pausedRoundTrip ? Double(2 * Self.pause) : 0 }

  /// The parent's part: the timed one. An `.async` column awaits its loop in
  /// a task while this (main, not a pool) thread waits for it. Returns the
  /// figure when the pattern measures something other than elapsed time
  /// (`idle`: CPU nanoseconds per second waited), else nil.
  func runParent(_ loops: any MessageLoops, _ column: Column, count: Int, size: Int) throws -> Double? {
    switch (self, column) {
    case (.idle, _): return try loops.idleWait(milliseconds: count, size: size)
    case (.pausedRoundTrip, _): try loops.pausedPing(rounds: count, size: size, pause: Self.pause)
    case (.roundTrip, _), (.asyncRoundTrip, .c), (.asyncRoundTrip, .swift):
      try loops.ping(rounds: count, size: size)
    case (.throughput, _), (.asyncThroughput, .c), (.asyncThroughput, .swift):
      try loops.receive(count: count, size: size)
    case (.typedRoundTrip(let coding), _): try loops.typedPing(rounds: count, size: size, coding: coding)
    case (.asyncRoundTrip, .async):
      try AsyncBridge.run(loops) { try await $0.asyncPing(rounds: count, size: size) }
    case (.asyncThroughput, .async):
      try AsyncBridge.run(loops) { try await $0.asyncReceive(count: count, size: size) }
    case (.spawnAndWait, _): throw BenchFailure.noPeer
    }
    return nil
  }

  /// The child's part: the blocking one in every column.
  func runChild(_ loops: any MessageLoops, count: Int, size: Int) throws {
    switch self {
    case .roundTrip, .asyncRoundTrip: try loops.pong(rounds: count, size: size)
    case .throughput, .asyncThroughput: try loops.send(count: count, size: size)
    case .typedRoundTrip(let coding): try loops.typedPong(rounds: count, size: size, coding: coding)
    case .pausedRoundTrip: try loops.pausedPong(rounds: count, size: size, pause: Self.pause)
    case .idle: try loops.idleStay(milliseconds: count, size: size)
    case .spawnAndWait: throw BenchFailure.noPeer
    }
  }

  /// The parent awaits the async forms in one of this pattern's columns.
  var isAsync: Bool { self == .asyncRoundTrip || self == .asyncThroughput }
}

/// One line of the results: a mechanism, a pattern and a message size.
struct Row: Sendable {
  enum Kind: String {
    /// Ping-pong: the figure is nanoseconds per round trip.
    case roundTrip = "round trip"
    /// One way: the figure is nanoseconds per message (also shown as msgs/s, MB/s).
    case throughput
    /// A child started and waited for: the figure is nanoseconds per child.
    case spawnAndWait = "spawn+wait"
    /// A wait for nothing: the figure is nanoseconds of CPU per second waited.
    case idle

    /// What the figures measure, in the JSON report.
    var unit: String {
      switch self {
      case .roundTrip: "ns per round trip"
      case .throughput: "ns per message"
      case .spawnAndWait: "ns per spawn+wait"
      case .idle: "CPU ns per second waited"
      }
    }

    /// The table's unit, and the factor from nanoseconds to it.
    var tableUnit: (name: String, scale: Double) {
      switch self {
      case .roundTrip: ("µs/round trip", 1e-3)
      case .throughput: ("ns/message", 1)
      case .spawnAndWait: ("µs/spawn+wait", 1e-3)
      case .idle: ("% of a CPU", 1e-7)
      }
    }
  }

  var mechanism: Mechanism
  var pattern: Pattern
  /// Bytes per message; 0 for semaphores, which carry none.
  var size: Int
  var iterations: Int
  var quickIterations: Int
  /// Runs only when `--filter` selects it, never in a run of every row: it
  /// measures a path another row measures already, and would make `--quick`
  /// longer than it should be.
  var onRequest: Bool
  /// Child processes that take part: 2 for the 2-producer rows (each sends
  /// half the messages), else 1.
  var peers: Int

  init(_ mechanism: Mechanism, _ pattern: Pattern, _ size: Int, peers: Int = 1, onRequest: Bool = false) {
    self.mechanism = mechanism
    self.pattern = pattern
    self.size = size
    self.peers = peers
    self.onRequest = onRequest
    switch (pattern, size) {
    case (.throughput, ...1024), (.asyncThroughput, ...1024):
      (iterations, quickIterations) = (400_000, 20_000)
    case (.throughput, _), (.asyncThroughput, _): (iterations, quickIterations) = (100_000, 5_000)
    case (.roundTrip, _), (.typedRoundTrip, _), (.asyncRoundTrip, _):
      (iterations, quickIterations) = (20_000, 1_000)
    // A spawn costs hundreds of microseconds: about a second per measurement.
    case (.spawnAndWait, _): (iterations, quickIterations) = (2_000, 200)
    // Each round pauses 2 × 100 µs: about half a second per measurement.
    case (.pausedRoundTrip, _): (iterations, quickIterations) = (2_000, 200)
    // Milliseconds waited: one second (a fifth with --quick).
    case (.idle, _): (iterations, quickIterations) = (1_000, 200)
    }
    // A ring without system calls moves a block in tens of nanoseconds: ten
    // times as many, so that a measurement lasts milliseconds, not microseconds.
    switch (mechanism, pattern) {
    case (.sharedRing, _), (.sharedChannel, .roundTrip), (.sharedChannel, .throughput),
      (.sharedChannel, .typedRoundTrip(.bitwise)):
      (iterations, quickIterations) = (iterations * 10, quickIterations * 10)
    case (.sharedChannel, .typedRoundTrip(.binary)):
      (iterations, quickIterations) = (iterations * 3, quickIterations * 3)
    default: break
    }
  }

  /// The fixture that makes a measurement's objects; nil for a row with no
  /// peer. The channel's round trips need a channel each way.
  var fixture: (any Fixture.Type)? {
    switch (mechanism, pattern) {
    case (.sharedChannel, .roundTrip), (.sharedChannel, .pausedRoundTrip), (.sharedChannel, .typedRoundTrip):
      SharedChannelPairFixture.self
    case (.sharedChannel, .throughput) where peers == 2: TwoProducerChannelFixture.self
    default: mechanism.fixture
    }
  }

  /// What the C column measures when it is not the same protocol as the
  /// Swift one, as the table says it.
  var baseline: String? {
    switch (mechanism, pattern) {
    case (.sharedChannel, .roundTrip): "Swift channel vs C spin ring"
    case (.sharedChannel, .pausedRoundTrip): "Swift channel vs C POSIX semaphores"
    default: nil
    }
  }

  var name: String {
    // Semaphores carry nothing, so their names have no size.
    let bytes = size == 0 ? "" : size % 1024 == 0 ? " \(size / 1024) KiB" : " \(size) B"
    return switch pattern {
    case .roundTrip: "\(mechanism.rawValue) round trip\(bytes)"
    case .throughput: "\(mechanism.rawValue) throughput\(bytes)\(peers > 1 ? ", \(peers) producers" : "")"
    case .typedRoundTrip(.json): "\(mechanism.rawValue) typed Codable round trip"
    case .typedRoundTrip(.binary): "\(mechanism.rawValue) typed binary round trip"
    case .typedRoundTrip(.bitwise): "\(mechanism.rawValue) typed bitwise round trip"
    case .pausedRoundTrip: "\(mechanism.rawValue) parked round trip\(bytes)"
    case .idle: "\(mechanism.rawValue) idle consumer"
    case .spawnAndWait: "\(mechanism.rawValue) spawn+wait"
    case .asyncRoundTrip: "\(mechanism.rawValue) async round trip\(bytes)"
    case .asyncThroughput: "\(mechanism.rawValue) async throughput\(bytes)"
    }
  }

  var kind: Kind {
    switch pattern {
    case .roundTrip, .typedRoundTrip, .asyncRoundTrip, .pausedRoundTrip: .roundTrip
    case .throughput, .asyncThroughput: .throughput
    case .spawnAndWait: .spawnAndWait
    case .idle: .idle
    }
  }

  /// The Swift side of this row uses typed Codable messages, compared with raw C.
  var typed: Bool {
    if case .typedRoundTrip = pattern { return true }
    return false
  }

  /// The columns measured, in this order, every repetition: an async row adds
  /// its async form to the C loop and the blocking Swift form.
  var columns: [Column] { pattern.isAsync ? [.c, .swift, .async] : [.c, .swift] }
}

/// Every row, in the order they run (`onRequest` rows only under a `--filter`).
enum Rows {
  static let all: [Row] = [
    Row(.systemVQueue, .roundTrip, 64),
    Row(.systemVQueue, .throughput, 64),
    Row(.systemVQueue, .throughput, 4096),
    Row(.systemVQueue, .typedRoundTrip(.json), 64),
    Row(.systemVQueue, .typedRoundTrip(.binary), 64),
    Row(.systemVQueue, .typedRoundTrip(.bitwise), 64),
    Row(.systemVQueue, .asyncRoundTrip, 64),
    Row(.systemVQueue, .asyncThroughput, 64),
    Row(.posixQueue, .roundTrip, 64),
    Row(.posixQueue, .throughput, 64),
    Row(.posixQueue, .throughput, 4096),
    Row(.posixQueue, .asyncRoundTrip, 64),
    Row(.posixQueue, .asyncThroughput, 64),
    Row(.namedPipe, .roundTrip, 64),
    Row(.namedPipe, .throughput, 64),
    // PipeEnd's async reads, as anon-pipe's rows measure them (a FIFO reads
    // through a second, non-blocking descriptor; a socket with MSG_DONTWAIT).
    Row(.namedPipe, .asyncRoundTrip, 64, onRequest: true),
    Row(.namedPipe, .asyncThroughput, 64, onRequest: true),
    Row(.anonymousPipe, .roundTrip, 64),
    Row(.anonymousPipe, .throughput, 64),
    Row(.anonymousPipe, .throughput, 4096),
    Row(.anonymousPipe, .asyncRoundTrip, 64),
    Row(.anonymousPipe, .asyncThroughput, 64),
    Row(.socketPair, .roundTrip, 64),
    Row(.socketPair, .throughput, 64),
    Row(.socketPair, .asyncRoundTrip, 64, onRequest: true),
    Row(.socketPair, .asyncThroughput, 64, onRequest: true),
    Row(.unixStream, .roundTrip, 64),
    Row(.unixStream, .throughput, 64),
    Row(.unixSeqpacket, .roundTrip, 64),
    Row(.unixSeqpacket, .throughput, 64),
    Row(.unixSeqpacketPlain, .throughput, 64),
    Row(.unixDescriptorPassing, .roundTrip, 64),
    Row(.systemVSemaphore, .roundTrip, 0),
    Row(.posixSemaphore, .roundTrip, 0),
    Row(.sharedMemorySemaphore, .throughput, 64),
    Row(.sharedMemorySemaphore, .throughput, 4096),
    Row(.sharedRing, .throughput, 64),
    Row(.sharedChannel, .throughput, 64),
    Row(.sharedChannel, .throughput, 4096),
    Row(.sharedChannel, .throughput, 64, peers: 2),
    Row(.sharedChannel, .throughput, 4096, peers: 2),
    Row(.sharedChannel, .roundTrip, 64),
    Row(.sharedChannel, .pausedRoundTrip, 64),
    Row(.sharedChannel, .idle, 64),
    Row(.sharedChannel, .typedRoundTrip(.bitwise), 64),
    Row(.sharedChannel, .typedRoundTrip(.binary), 64),
    Row(.sharedChannel, .typedRoundTrip(.json), 64),
    Row(.signal, .roundTrip, 0),
    Row(.process, .spawnAndWait, 0),
  ]
}

/// A benchmark run that went wrong.
struct BenchFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }

  /// A one-way pattern asked of a mechanism that carries no message.
  static let roundTripsOnly = BenchFailure("semaphores carry no messages: round trips only")

  /// A round trip asked of a mechanism measured one way only.
  static let throughputOnly = BenchFailure("shared-memory rows measure one way only: throughput")

  /// A one-way pattern asked of the loops of a channel each way.
  static let pairRoundTripsOnly = BenchFailure("a channel each way is for round trips only")

  /// A peer's part asked of a row that has no peer.
  static let noPeer = BenchFailure("spawn+wait rows have no peer: this process measures them alone")
}
