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

/// The mechanism `ipc demo --mechanism` chose, and how the parent makes,
/// names and removes its object.
enum DemoMechanism: String, CaseIterable {
  case systemV = "sysv"
  case posix
}
