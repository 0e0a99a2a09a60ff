import Glibc
import IPC

/// The demo's messages as they cross a shared channel: one Codable value
/// each, in the binary coder's format (both ends are this program), so the
/// kind travels inside the message and a receive gives back a typed value.
enum ChannelDemoMessage: Codable {
  case greeting(DemoCommand.Greeting)
  case batch(String)
  case end(DemoCommand.EndOfStream)

  init(_ message: DemoMessage) {
    switch message {
    case .greeting(let greeting): self = .greeting(greeting)
    case .batch(let text): self = .batch(text)
    case .end(let end): self = .end(end)
    }
  }

  var demoMessage: DemoMessage {
    switch self {
    case .greeting(let greeting): .greeting(greeting)
    case .batch(let text): .batch(text)
    case .end(let end): .end(end)
    }
  }
}

/// A `SharedChannel` in POSIX shared memory: the two senders are its
/// producers (one slot each), the receiver its consumer. Once both senders
/// have said they are done, the receiver also waits for the channel's own
/// end of stream: every producer that attached has closed (or died), and
/// every message is read.
final class SharedChannelDemoChannel: DemoChannel {
  /// Two producer slots of 16 KiB each: the demo's messages are short.
  static let producers = 2
  static let ringSize = 1 << 14
  private let producer: SharedChannelProducer?
  private let consumer: SharedChannelConsumer?
  private let coder = BinaryMessageCoder()
  let greetingFormat = "binary Codable"

  /// The parent's object: shared memory of the channel's size, laid out as
  /// an empty channel before any child starts.
  static func make(in group: DemoGroup) throws -> POSIX.SharedMemory {
    let size = try SharedChannel.requiredSize(producers: producers, ringSize: ringSize)
    let memory = try group.make(POSIX.SharedMemory.create("/ipc-demo-\(getpid())-channel", size: size)) {
      "shared memory \($0.name)"
    }
    try SharedChannel.initialize(in: try memory.map(), producers: producers, ringSize: ringSize)
    return memory
  }

  /// A child's side of the channel in `memory`.
  init(_ memory: POSIX.SharedMemory, receiving: Bool) throws {
    let region = try memory.map()
    consumer = receiving ? try SharedChannelConsumer(region) : nil
    producer = receiving ? nil : try SharedChannelProducer(region)
  }

  func send(_ message: DemoMessage) throws {
    guard let producer else { throw CommandFailure("the receiver sends nothing") }
    try producer.send(ChannelDemoMessage(message), coder: coder)
  }

  func receive() throws -> DemoMessage {
    guard let consumer else { throw CommandFailure("a sender receives nothing") }
    // An end of stream before both senders said they were done means only
    // that every producer that has come so far is gone: the other may not
    // have attached yet. Wait for it, a while.
    for _ in 0..<1000 {
      if let message = try consumer.receive(ChannelDemoMessage.self, coder: coder) {
        return message.demoMessage
      }
      usleep(10_000)
    }
    throw CommandFailure("the channel's stream ended for 10 s before both senders said they were done")
  }

  func finish() throws {
    guard let consumer else { return }
    if let extra = try consumer.receive() {
      throw CommandFailure("\(extra.count) bytes arrived after both senders said they were done")
    }
    Output.line("receiver: end of stream: both producers have closed the channel")
  }
}
