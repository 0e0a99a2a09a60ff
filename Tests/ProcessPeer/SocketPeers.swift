import Glibc
import IPC

// Entry points that talk over Unix sockets: each takes the server's address
// (PATH or @NAME) as its first argument and the kind as its second.

func socketPeers() -> [String: EntryPoints.Body] {
  [
    "socket-echo": socketEcho,
    "socket-partial-frame": socketPartialFrame,
    "socket-as-nobody": socketAsNobody,
    "socket-pass": socketPass,
    "socket-take": socketTake,
    "socket-datagram": socketDatagram,
    "socket-burst": socketBurst,
  ]
}

private func address(_ context: ChildContext) throws(IPCError) -> UnixSocketAddress {
  try UnixSocketAddress(parsing: context.arguments.first ?? "")
}

private func kind(_ context: ChildContext) -> UnixSocketKind {
  context.arguments.dropFirst().first.flatMap(UnixSocketKind.init(rawValue:)) ?? .stream
}

/// Sends every message back until the end of the stream.
private func socketEcho(_ context: ChildContext) throws {
  let connection = try UnixConnection.connect(to: address(context), kind: kind(context))
  while let message = try connection.receive() { try connection.send(message) }
}

/// Sends a header announcing 100 bytes and 10 of them, then dies (SIGKILL).
private func socketPartialFrame(_ context: ChildContext) throws {
  let connection = try UnixConnection.connect(to: address(context))
  let partial: [UInt8] = [100, 0, 0, 0] + Array(repeating: 7, count: 10)
  guard send(connection.fileDescriptor, partial, partial.count, Int32(MSG_NOSIGNAL)) == partial.count else {
    exit(3)
  }
  say("sent")
  raise(SIGKILL)
}

/// Becomes nobody, connects, says hello and prints how it went.
private func socketAsNobody(_ context: ChildContext) throws {
  guard setgroups(0, nil) == 0, setgid(65534) == 0, setuid(65534) == 0 else { exit(3) }
  let connection = try UnixConnection.connect(to: address(context), kind: kind(context))
  // The server may close before the hello is sent: then the send is refused.
  do {
    try connection.send(Array("hello".utf8))
    let reply = try connection.receive()
    say(reply.map { "reply: \(String(decoding: $0, as: UTF8.self))" } ?? "refused: closed")
  } catch {
    say("refused: \(error.code)")
  }
}

/// Hands the server a pipe's read end, a POSIX shared memory object and a
/// POSIX queue (arguments 3 and 4: their names, made by the server), writes
/// a frame into the pipe and a value into the memory, then waits for the
/// server to close.
private func socketPass(_ context: ChildContext) throws {
  let connection = try UnixConnection.connect(to: address(context), kind: kind(context))
  let (reader, writer) = try AnonymousPipe.make()
  let memory = try POSIX.SharedMemory.open(context.arguments[2])
  let queue = try POSIX.MessageQueue.open(context.arguments[3], access: .writeOnly)
  try memory.map().store(Int64(4242), at: 0)
  try writer.send(Array("through the pipe".utf8))
  try queue.send(Array("through the queue".utf8))
  try connection.send(Array("three objects".utf8), passing: [reader, memory, queue])
  try reader.close()
  try memory.close()
  try queue.close()
  say("passed")
  _ = try connection.receive()
}

/// Takes the pipe end the server passes and sends a frame through it.
private func socketTake(_ context: ChildContext) throws {
  let connection = try UnixConnection.connect(to: address(context), kind: kind(context))
  guard let message = try connection.receiveWithDescriptors(), let passed = message.descriptors.first else {
    exit(4)
  }
  let end = try passed.take(as: PipeEnd.self)
  try end.send(Array("from \(getpid()) via \(String(decoding: message.bytes, as: UTF8.self))".utf8))
  say("sent on \(end.direction)")
}

/// Sends one datagram from a bound socket (argument 2: its path) and prints the reply.
private func socketDatagram(_ context: ChildContext) throws {
  let own = try UnixDatagramSocket.bind(to: UnixSocketAddress(parsing: context.arguments[1]))
  defer { try? own.close() }
  try own.send(Array("ping".utf8), to: address(context))
  let reply = try own.receive()
  say("reply: \(String(decoding: reply.bytes, as: UTF8.self))")
}

/// Sends 60 small messages back to back, "message I"; every third carries
/// the read end of a fresh pipe whose write end sent a frame "I" into it.
/// Then waits for the server to close.
private func socketBurst(_ context: ChildContext) throws {
  let connection = try UnixConnection.connect(to: address(context))
  for index in 0..<60 {
    let bytes = Array("message \(index)".utf8)
    guard index % 3 == 0 else {
      try connection.send(bytes)
      continue
    }
    let (reader, writer) = try AnonymousPipe.make()
    try writer.send(Array("\(index)".utf8))
    try connection.send(bytes, passing: [reader])
  }
  say("sent")
  _ = try connection.receive()
}
