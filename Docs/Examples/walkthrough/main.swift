import Glibc
import IPC

struct Greeting: TypedMessage {  // sent as JSON, with message type 1
  static let messageType = 1
  var from, text: String
}
struct EndOfStream: TypedMessage { static let messageType = 3 }  // a sender's last message

func sender(_ context: ChildContext) throws {
  let queue = try context.open("queue", as: SystemV.MessageQueue.self)
  try queue.send(Greeting(from: "sender", text: "Hello from the sender"))
  try queue.send(EndOfStream())
}

func batchSender(_ context: ChildContext) throws {
  let queue = try context.open("queue", as: SystemV.MessageQueue.self)
  for number in 0..<20 {
    try queue.send(Array("Batch message \(number)".utf8), type: 2)  // plain text, message type 2
    usleep(50_000)  // time.sleep(0.05)
  }
  try queue.send(EndOfStream())
}

func receiver(_ context: ChildContext) throws {
  let queue = try context.open("queue", as: SystemV.MessageQueue.self)
  var ended = 0
  while ended < 2 {  // until both senders are done: no sleep(2), no terminate()
    let message = try queue.receive()  // the oldest message of any type, like queue.get()
    switch message.type {
    case Greeting.messageType: print("Received JSON:", try message.decode(Greeting.self))
    case EndOfStream.messageType: ended += 1
    default: print("Received text:", message.text)
    }
  }
}

// A child runs its entry point here and exits; the parent goes on.
EntryPoints(["sender": sender, "batch": batchSender, "receiver": receiver]).runIfChild()

do {
  let supervisor = try Supervisor()  // one failure stops the others; so does Ctrl-C
  let queue = try supervisor.removeWhenFinished(SystemV.MessageQueue.create())  // Queue(), removed however the run ends
  for role in ["receiver", "sender", "batch"] {  // Process(target=role).start()
    try ChildProcess.start(entryPoint: role, handing: ["queue": queue], in: supervisor)
  }
  exit(supervisor.wait().exitCode)  // join() them all: 0 if each child exited with 0
} catch {
  print("error: \(error)")
  exit(1)
}
