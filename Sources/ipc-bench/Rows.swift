import CIPCBench
import IPC

/// Which implementation a measurement runs.
enum Implementation: String {
  case swift
  case c
}

/// One line of the results: a mechanism, a pattern and a message size, with
/// the parent's (timed) and the child's part for both implementations.
struct Row: Sendable {
  enum Kind: String {
    /// Ping-pong: the figure is nanoseconds per round trip.
    case roundTrip = "round trip"
    /// One way: the figure is nanoseconds per message (also shown as msgs/s, MB/s).
    case throughput
  }

  var name: String
  var kind: Kind
  var size: Int
  var iterations: Int
  var quickIterations: Int
  /// The Swift side of this row uses typed Codable messages, compared with raw C.
  var typed = false

  /// The parent's part, timed after the child has said it is ready.
  var parent: @Sendable (Implementation, SystemV.MessageQueue, Int, Int) throws -> Void
  /// The child's part.
  var child: @Sendable (Implementation, SystemV.MessageQueue, Int, Int) throws -> Void
}

/// The rows of every mechanism; later mechanisms add theirs here.
enum Rows {
  static let all: [Row] = systemV

  static let systemV: [Row] = [
    Row(
      name: "sysv-msg round trip 64 B", kind: .roundTrip, size: 64,
      iterations: 20_000, quickIterations: 1_000,
      parent: { impl, queue, count, size in try SystemVLoops.ping(impl, queue, count, size) },
      child: { impl, queue, count, size in try SystemVLoops.pong(impl, queue, count, size) }),
    Row(
      name: "sysv-msg throughput 64 B", kind: .throughput, size: 64,
      iterations: 400_000, quickIterations: 20_000,
      parent: { impl, queue, count, size in try SystemVLoops.receive(impl, queue, count, size) },
      child: { impl, queue, count, size in try SystemVLoops.send(impl, queue, count, size) }),
    Row(
      name: "sysv-msg throughput 4 KiB", kind: .throughput, size: 4096,
      iterations: 100_000, quickIterations: 5_000,
      parent: { impl, queue, count, size in try SystemVLoops.receive(impl, queue, count, size) },
      child: { impl, queue, count, size in try SystemVLoops.send(impl, queue, count, size) }),
    Row(
      name: "sysv-msg typed Codable round trip", kind: .roundTrip, size: 64,
      iterations: 20_000, quickIterations: 1_000, typed: true,
      parent: { impl, queue, count, size in try SystemVLoops.typedPing(impl, queue, count, size) },
      child: { impl, queue, count, size in try SystemVLoops.typedPong(impl, queue, count, size) }),
  ]
}

/// A Codable message of about 64 bytes of JSON, for the typed row.
struct BenchPing: TypedMessage {
  static let messageType = 1
  var sequence: Int
  var note: String
}

/// The reply to ``BenchPing``.
struct BenchPong: TypedMessage {
  static let messageType = 2
  var sequence: Int
  var note: String
}

/// System V message queue loops: the Swift layer, or the plain C baseline.
enum SystemVLoops {
  static func ping(_ impl: Implementation, _ queue: SystemV.MessageQueue, _ rounds: Int, _ size: Int)
    throws
  {
    switch impl {
    case .c: try check(cipcb_sysv_ping(queue.id, rounds, size), "cipcb_sysv_ping")
    case .swift:
      let out = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
      let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
      defer {
        out.deallocate()
        reply.deallocate()
      }
      out.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "p"))
      for _ in 0..<rounds {
        try queue.send(UnsafeRawBufferPointer(out), type: 1)
        _ = try queue.receive(.type(2), into: reply)
      }
    }
  }

  static func pong(_ impl: Implementation, _ queue: SystemV.MessageQueue, _ rounds: Int, _ size: Int)
    throws
  {
    switch impl {
    case .c: try check(cipcb_sysv_pong(queue.id, rounds, size), "cipcb_sysv_pong")
    case .swift:
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
      defer { buffer.deallocate() }
      for _ in 0..<rounds {
        let received = try queue.receive(.type(1), into: buffer)
        try queue.send(UnsafeRawBufferPointer(rebasing: buffer[0..<received.count]), type: 2)
      }
    }
  }

  static func send(_ impl: Implementation, _ queue: SystemV.MessageQueue, _ count: Int, _ size: Int)
    throws
  {
    switch impl {
    case .c: try check(cipcb_sysv_send(queue.id, count, size), "cipcb_sysv_send")
    case .swift:
      let out = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
      defer { out.deallocate() }
      out.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "s"))
      for _ in 0..<count { try queue.send(UnsafeRawBufferPointer(out), type: 1) }
    }
  }

  static func receive(_ impl: Implementation, _ queue: SystemV.MessageQueue, _ count: Int, _ size: Int)
    throws
  {
    switch impl {
    case .c: try check(cipcb_sysv_receive(queue.id, count, size), "cipcb_sysv_receive")
    case .swift:
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
      defer { buffer.deallocate() }
      for _ in 0..<count { _ = try queue.receive(.type(1), into: buffer) }
    }
  }

  static func typedPing(
    _ impl: Implementation, _ queue: SystemV.MessageQueue, _ rounds: Int, _ size: Int
  ) throws {
    guard impl == .swift else { return try ping(impl, queue, rounds, size) }
    let note = "typed message of about sixty-four bytes"
    for sequence in 0..<rounds {
      try queue.send(BenchPing(sequence: sequence, note: note))
      let reply = try queue.receive(BenchPong.self)
      guard reply.sequence == sequence else { throw BenchFailure("typed reply out of order") }
    }
  }

  static func typedPong(
    _ impl: Implementation, _ queue: SystemV.MessageQueue, _ rounds: Int, _ size: Int
  ) throws {
    guard impl == .swift else { return try pong(impl, queue, rounds, size) }
    for _ in 0..<rounds {
      let ping = try queue.receive(BenchPing.self)
      try queue.send(BenchPong(sequence: ping.sequence, note: ping.note))
    }
  }

  private static func check(_ status: Int32, _ function: String) throws {
    guard status == 0 else {
      throw IPCError(code: IPCError.Code(rawValue: -status), operation: function, object: "benchmark queue")
    }
  }
}

/// A benchmark run that went wrong.
struct BenchFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
