import Glibc
import IPC

/// What the demo's messages are, whatever carries them.
enum DemoMessage {
  case greeting(DemoCommand.Greeting)
  case batch(String)
  case end(DemoCommand.EndOfStream)
}

/// The demo's three roles talk through one of these; each mechanism has its
/// own way of telling the kinds of message apart.
protocol DemoChannel {
  func send(_ message: DemoMessage) throws
  func receive() throws -> DemoMessage
  /// The receiver has every sender's end-of-stream message: anything the
  /// mechanism itself says at the end (a shared channel's end of stream).
  func finish() throws
  /// How the greeting travels, as the receiver's line says it.
  var greetingFormat: String { get }
}

extension DemoChannel {
  func finish() throws {}
  var greetingFormat: String { "JSON" }
}

/// A System V queue routes by message type: greeting 1, batch 2, end 3.
struct SystemVDemoChannel: DemoChannel {
  let queue: SystemV.MessageQueue

  func send(_ message: DemoMessage) throws {
    switch message {
    case .greeting(let greeting): try queue.send(greeting)
    case .batch(let text): try queue.send(Array(text.utf8), type: DemoCommand.Kind.batch)
    case .end(let end): try queue.send(end)
    }
  }

  func receive() throws -> DemoMessage {
    let message = try queue.receive()
    switch message.type {
    case DemoCommand.Kind.greeting: return .greeting(try message.decode(DemoCommand.Greeting.self))
    case DemoCommand.Kind.end: return .end(try message.decode(DemoCommand.EndOfStream.self))
    default: return .batch(message.text)
    }
  }
}

/// A POSIX queue has no message types, so the kind travels as the priority:
/// greeting 2, batch 1, end 0. A sender's end-of-stream, sent last at the
/// lowest priority, is received only after everything it sent before.
struct POSIXDemoChannel: DemoChannel {
  let queue: POSIX.MessageQueue

  func send(_ message: DemoMessage) throws {
    switch message {
    case .greeting(let greeting): try queue.send(greeting, priority: 2)
    case .batch(let text): try queue.send(Array(text.utf8), priority: 1)
    case .end(let end): try queue.send(end, priority: 0)
    }
  }

  func receive() throws -> DemoMessage {
    let message = try queue.receive()
    switch message.priority {
    case 2: return .greeting(try message.decode(DemoCommand.Greeting.self))
    case 0: return .end(try message.decode(DemoCommand.EndOfStream.self))
    default: return .batch(message.text)
    }
  }
}

/// A named pipe carries one frame per message: a kind byte (G greeting,
/// B batch, E end) and the JSON or text. Frames of at most PIPE_BUF bytes from
/// the two senders never interleave. The receiver also holds a write end of
/// its own, so the stream does not end when the first sender closes before the
/// second has opened; it stops after both end-of-stream messages instead.
struct PipeDemoChannel: DemoChannel {
  let end: PipeEnd
  var keepOpen: PipeEnd? = nil

  /// The receiver's side: read end (not waiting for a writer), and its own write end.
  static func receiver(_ pipe: NamedPipe) throws -> PipeDemoChannel {
    let reader = try pipe.openForReading(nonBlocking: true)
    return PipeDemoChannel(end: reader, keepOpen: try pipe.openForWriting())
  }

  func send(_ message: DemoMessage) throws {
    let coder = JSONMessageCoder()
    switch message {
    case .greeting(let greeting): try end.send(Array("G".utf8) + coder.encode(greeting))
    case .batch(let text): try end.send(Array("B\(text)".utf8))
    case .end(let end): try self.end.send(Array("E".utf8) + coder.encode(end))
    }
  }

  func receive() throws -> DemoMessage {
    guard let frame = try end.receive() else {
      throw CommandFailure("the pipe ended before both senders said they were done")
    }
    return try Self.decode(frame)
  }

  /// The message in one frame: its kind byte, then the JSON or text.
  static func decode(_ frame: [UInt8]) throws -> DemoMessage {
    guard let kind = frame.first else {
      throw CommandFailure("an empty frame arrived; every frame has a kind")
    }
    let body = Array(frame.dropFirst())
    let coder = JSONMessageCoder()
    switch kind {
    case UInt8(ascii: "G"): return .greeting(try coder.decode(DemoCommand.Greeting.self, from: body))
    case UInt8(ascii: "E"): return .end(try coder.decode(DemoCommand.EndOfStream.self, from: body))
    default: return .batch(String(decoding: body, as: UTF8.self))
    }
  }
}

/// The mechanism `ipc demo --mechanism` chose: how the parent makes its
/// object, and how each child opens it again.
enum DemoMechanism: String, CaseIterable {
  case systemV = "sysv"
  case posix
  case pipe
  case socket
  case channel

  /// The name the parent hands its object under; it also tells a child
  /// which mechanism it runs over.
  var handedName: String {
    switch self {
    case .systemV: "sysv-queue"
    case .posix: "posix-queue"
    case .pipe: "fifo"
    case .socket: "socket"
    case .channel: "shared-channel"
    }
  }

  /// Makes the object the children share, registered with `group`'s
  /// supervisor for removal; returns what the children are handed and how
  /// "demo: made ..." names it. A socket's abstract name is no object: the
  /// receiver listens on it, the children get it as an argument, and it
  /// vanishes with the receiver's socket (even after a SIGKILL).
  func make(in group: DemoGroup) throws -> (handed: [String: any Inheritable], made: String) {
    if self == .socket {
      return ([:], "abstract socket name \(SocketDemo.address(for: getpid()))")
    }
    let (object, made) = try makeObject(in: group)
    return ([handedName: object], made)
  }

  private func makeObject(in group: DemoGroup) throws -> (object: any Inheritable, made: String) {
    switch self {
    case .systemV:
      let queue = try group.make(SystemV.MessageQueue.create()) { "queue \($0.id)" }
      return (queue, "private message queue \(queue.id)")
    case .posix:
      let queue = try group.make(
        POSIX.MessageQueue.create("/ipc-demo-\(getpid())", maxMessages: 10, messageSize: 512)
      ) { "queue \($0.name)" }
      return (queue, "POSIX message queue \(queue.name)")
    case .pipe:
      let pipe = try group.make(NamedPipe.create(at: "/tmp/ipc-demo-\(getpid()).fifo")) { "pipe \($0.path)" }
      return (pipe, "named pipe \(pipe.path)")
    case .channel:
      let memory = try SharedChannelDemoChannel.make(in: group)
      return (memory, "shared channel in POSIX shared memory \(memory.name)")
    case .socket:
      throw CommandFailure("a socket demo makes no object")
    }
  }

  /// A child's channel: the object its parent handed over, opened as its own
  /// type. The receiver of a pipe also keeps a write end (see ``PipeDemoChannel``).
  static func channel(in context: ChildContext, receiving: Bool) throws -> any DemoChannel {
    if let address = SocketDemo.address(in: context) {
      let label = context.entryPoint == DemoCommand.Role.batch ? "batch sender" : "sender"
      return receiving ? try SocketDemo.Server(address) : try SocketDemo.client(of: address, as: label)
    }
    guard let mechanism = allCases.first(where: { context.names.contains($0.handedName) }) else {
      throw CommandFailure(
        "\(context.entryPoint) was handed no demo queue or pipe, only [\(context.names.joined(separator: ", "))]"
      )
    }
    switch mechanism {
    case .systemV:
      return SystemVDemoChannel(queue: try context.open(mechanism.handedName, as: SystemV.MessageQueue.self))
    case .posix:
      return POSIXDemoChannel(queue: try context.open(mechanism.handedName, as: POSIX.MessageQueue.self))
    case .pipe:
      let pipe = try context.open(mechanism.handedName, as: NamedPipe.self)
      return receiving ? try PipeDemoChannel.receiver(pipe) : PipeDemoChannel(end: try pipe.openForWriting())
    case .channel:
      return try SharedChannelDemoChannel(
        try context.open(mechanism.handedName, as: POSIX.SharedMemory.self), receiving: receiving)
    case .socket:
      throw CommandFailure("\(context.entryPoint) was given no socket address")
    }
  }
}
