import CIPCBench
import IPC

/// A fresh private System V queue per measurement; the child gets its id.
final class SystemVFixture: RegisteredFixture {
  let queue: SystemV.MessageQueue
  var entries: [CleanupEntry] = []
  /// Removing the queue ends the parent's blocked msgsnd or msgrcv with EIDRM.
  static let removalWakesTheParent = true

  init(size: Int) throws {
    let (queue, entry) = try CleanupEntry.made(
      { try SystemV.MessageQueue.create() }, register: { try .systemV($0.id) }, remove: { try? $0.remove() })
    self.queue = queue
    entries = [entry]
  }

  var childArguments: [String] { ["--id", "\(queue.id)"] }

  func parentLoops(_ impl: Implementation) throws -> any MessageLoops {
    SystemVLoops(impl: impl, queue: queue)
  }

  deinit { remove() }

  static func childLoops(_ impl: Implementation, _ arguments: ChildArguments, size: Int) throws
    -> any MessageLoops
  {
    guard let id = Int32(try arguments.string("--id")) else { throw BenchFailure("child: bad --id") }
    return SystemVLoops(impl: impl, queue: try SystemV.MessageQueue.open(id: id))
  }
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

/// `BenchPing` as a plain value for the bitwise coder: a sequence number
/// and 48 bytes more, 56 in all (68 with the coder's fingerprint), as the
/// channel's `BenchPlain`.
struct BenchPlainPing: TypedMessage, BitwiseCopyable {
  static let messageType = 1
  var sequence: Int
  var a = 1, b = 2, c = 3, d = 4, e = 5, f = 6
}

/// The reply to ``BenchPlainPing``.
struct BenchPlainPong: TypedMessage, BitwiseCopyable {
  static let messageType = 2
  var sequence: Int
  var a = 1, b = 2, c = 3, d = 4, e = 5, f = 6
}

/// System V message queue loops: the Swift layer, or the plain C baseline.
/// Round trips send type 1 and answer with type 2 on the one queue.
struct SystemVLoops: MessageLoops {
  let impl: Implementation
  let queue: SystemV.MessageQueue

  func ping(rounds: Int, size: Int) throws {
    switch impl {
    case .c: try check(cipcb_sysv_ping(queue.id, rounds, size), "cipcb_sysv_ping", "benchmark queue")
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

  func pong(rounds: Int, size: Int) throws {
    switch impl {
    case .c: try check(cipcb_sysv_pong(queue.id, rounds, size), "cipcb_sysv_pong", "benchmark queue")
    case .swift:
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
      defer { buffer.deallocate() }
      for _ in 0..<rounds {
        let received = try queue.receive(.type(1), into: buffer)
        try queue.send(UnsafeRawBufferPointer(rebasing: buffer[0..<received.count]), type: 2)
      }
    }
  }

  func send(count: Int, size: Int) throws {
    switch impl {
    case .c: try check(cipcb_sysv_send(queue.id, count, size), "cipcb_sysv_send", "benchmark queue")
    case .swift:
      let out = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
      defer { out.deallocate() }
      out.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "s"))
      for _ in 0..<count { try queue.send(UnsafeRawBufferPointer(out), type: 1) }
    }
  }

  func receive(count: Int, size: Int) throws {
    switch impl {
    case .c: try check(cipcb_sysv_receive(queue.id, count, size), "cipcb_sysv_receive", "benchmark queue")
    case .swift:
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
      defer { buffer.deallocate() }
      for _ in 0..<count { _ = try queue.receive(.type(1), into: buffer) }
    }
  }

  // The async forms (the async column runs the Swift loops): a message
  // already there is taken without a hop; an empty queue hands the msgrcv to
  // one of the library's waiting threads.
  func asyncPing(rounds: Int, size: Int) async throws {
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
    let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
    defer {
      out.deallocate()
      reply.deallocate()
    }
    out.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "p"))
    for _ in 0..<rounds {
      try await queue.send(UnsafeRawBufferPointer(out), type: 1)
      _ = try await queue.receive(.type(2), into: reply)
    }
  }

  func asyncReceive(count: Int, size: Int) async throws {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
    defer { buffer.deallocate() }
    for _ in 0..<count { _ = try await queue.receive(.type(1), into: buffer) }
  }

  func typedPing(rounds: Int, size: Int, coding: TypedCoding) throws {
    guard impl == .swift else { return try ping(rounds: rounds, size: size) }
    switch coding {
    case .json: try codablePing(rounds, JSONMessageCoder())
    case .binary: try codablePing(rounds, BinaryMessageCoder())
    case .bitwise:
      let coder = BitwiseMessageCoder()
      for sequence in 0..<rounds {
        try queue.send(BenchPlainPing(sequence: sequence), coder: coder)
        let reply = try queue.receive(BenchPlainPong.self, coder: coder)
        guard reply.sequence == sequence else { throw BenchFailure("typed reply out of order") }
      }
    }
  }

  func typedPong(rounds: Int, size: Int, coding: TypedCoding) throws {
    guard impl == .swift else { return try pong(rounds: rounds, size: size) }
    switch coding {
    case .json: try codablePong(rounds, JSONMessageCoder())
    case .binary: try codablePong(rounds, BinaryMessageCoder())
    case .bitwise:
      let coder = BitwiseMessageCoder()
      for _ in 0..<rounds {
        let ping = try queue.receive(BenchPlainPing.self, coder: coder)
        try queue.send(BenchPlainPong(sequence: ping.sequence), coder: coder)
      }
    }
  }

  private func codablePing<Coder: MessageCoder>(_ rounds: Int, _ coder: Coder) throws {
    let note = "typed message of about sixty-four bytes"
    for sequence in 0..<rounds {
      try queue.send(BenchPing(sequence: sequence, note: note), coder: coder)
      let reply = try queue.receive(BenchPong.self, coder: coder)
      guard reply.sequence == sequence else { throw BenchFailure("typed reply out of order") }
    }
  }

  private func codablePong<Coder: MessageCoder>(_ rounds: Int, _ coder: Coder) throws {
    for _ in 0..<rounds {
      let ping = try queue.receive(BenchPing.self, coder: coder)
      try queue.send(BenchPong(sequence: ping.sequence, note: ping.note), coder: coder)
    }
  }
}
