import Glibc
import IPC
import IPCToolSupport

/// The loop of `ipc socket listen`: one poll over the listener and every
/// connected client, and reads that never wait, so no client holds up the
/// others or the deadline (one that says nothing, or stalls inside a
/// frame), until `count` messages are printed or the deadline passes.
struct SocketListening {
  let count: Int?
  let timeout: Duration?
  let showPeer: Bool
  private let deadline: ContinuousClock.Instant?
  private(set) var received = 0

  /// How long accepting pauses after the process ran out of descriptors:
  /// the pending connection keeps the listener readable, so polling it at
  /// once would spin.
  static let exhaustionPause = Duration.milliseconds(20)

  init(count: Int?, timeout: Duration?, showPeer: Bool) {
    self.count = count
    self.timeout = timeout
    self.showPeer = showPeer
    deadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
  }

  var isDone: Bool { count.map { received >= $0 } ?? false }

  /// Prints one message: its text with control characters escaped (one line
  /// per message, a tab only as the separator), then the sender's pid and
  /// uid; first a note of the descriptors that came with it (closed).
  mutating func show(_ bytes: [UInt8], peer: PeerCredentials?, closedDescriptors: Int) {
    // Descriptors a client passed along: this command has no use for them.
    if closedDescriptors > 0 {
      let count = closedDescriptors
      Output.error(
        "ipc socket listen: \(count) descriptor\(count == 1 ? "" : "s") came with the next message; closed")
    }
    let text = UsageError.shown(String(decoding: bytes, as: UTF8.self))
    if showPeer {
      Output.line(text + "\t" + (peer.map { "\($0.pid)\t\($0.uid)" } ?? "-\t-"))
    } else {
      Output.line(text)
    }
    received += 1
  }

  /// Prints a message as received with its descriptors, which it closes.
  mutating func show(_ message: ReceivedMessage, peer: PeerCredentials?) {
    for descriptor in message.descriptors { descriptor.close() }
    show(message.bytes, peer: peer, closedDescriptors: message.descriptors.count)
  }

  /// A connected client: its connection, its credentials (with --show-peer)
  /// and, on a stream, the part of a frame that has arrived.
  private struct Client {
    let connection: UnixConnection
    let peer: PeerCredentials?
    var frames = StreamFrameBuffer()
  }

  /// Accepts clients and prints their messages.
  mutating func run(_ listener: UnixListener) throws {
    var clients: [Client] = []
    defer { for client in clients { try? client.connection.close() } }
    // While out of descriptors: when to try accepting again, and whether that was said.
    var acceptResumes: ContinuousClock.Instant?
    var exhaustionReported = false
    while !isDone {
      if let resumes = acceptResumes, ContinuousClock.now >= resumes { acceptResumes = nil }
      let accepting = acceptResumes == nil
      let watched = (accepting ? [listener.fileDescriptor] : []) + clients.map(\.connection.fileDescriptor)
      guard let ready = try wait(for: watched, wakingAt: acceptResumes) else { return try timedOut() }
      let first = accepting ? 1 : 0
      // From the last, so removing a client keeps the indices before it valid.
      for index in ready.reversed() where !isDone {
        guard index >= first else {
          switch Result(catching: { () throws(IPCError) in try listener.tryAccept() }) {
          case .success(let connection):
            if let connection {
              clients.append(Client(connection: connection, peer: showPeer ? try? connection.peer : nil))
              exhaustionReported = false
            }
          case .failure(let error):
            guard Self.isExhaustion(error) else { throw error }
            // The connection stays queued: taken once a client leaves.
            if !exhaustionReported { Output.error("ipc socket listen: \(ErrorText.describe(error))") }
            exhaustionReported = true
            acceptResumes = ContinuousClock.now.advanced(by: Self.exhaustionPause)
          }
          continue
        }
        if !serve(&clients[index - first]) {
          try? clients[index - first].connection.close()
          clients.remove(at: index - first)
        }
      }
    }
  }

  /// Whether accepting failed for want of descriptors or memory, which
  /// clients that leave give back.
  private static func isExhaustion(_ error: IPCError) -> Bool {
    [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.code.rawValue)
  }

  /// Reads what `client` sent and prints its whole messages; false once it
  /// has ended (or broke the format: said on stderr).
  private mutating func serve(_ client: inout Client) -> Bool {
    do {
      guard client.connection.kind == .stream else {
        // A seqpacket record comes whole, so one that is ready never makes this wait.
        guard let message = try client.connection.receiveWithDescriptors() else { return false }
        show(message, peer: client.peer)
        return true
      }
      let open = try client.frames.read(from: client.connection.fileDescriptor)
      while !isDone, let bytes = try client.frames.next() {
        show(bytes, peer: client.peer, closedDescriptors: client.frames.takeClosedDescriptors())
      }
      if !open { try client.frames.checkEnd() }
      return open
    } catch let error as IPCError {
      dropped(ErrorText.describe(error))
    } catch let fault as StreamFrameBuffer.Fault {
      dropped(fault.reason)
    } catch {
      dropped("\(error)")
    }
    return false
  }

  /// One client's fault (it died mid-message) ends that client only.
  private func dropped(_ reason: String) {
    Output.error("ipc socket listen: dropped a client: \(reason)")
  }

  /// Prints the datagrams that arrive at `socket`.
  mutating func run(_ socket: UnixDatagramSocket) throws {
    while !isDone {
      guard try wait(for: [socket.fileDescriptor], wakingAt: nil) != nil else { return try timedOut() }
      switch Result(catching: { () throws(IPCError) in try socket.tryReceive() }) {
      case .success(let message):
        if let message { show(message, peer: message.sender) }
      case .failure(let error):
        // Its descriptors cut off (this process out of descriptors): that datagram only.
        guard error.code == .badMessage else { throw error }
        Output.error("ipc socket listen: dropped a datagram: \(ErrorText.describe(error))")
      }
    }
  }

  /// At the deadline: done, or with fewer than `count` messages, a failure.
  private func timedOut() throws {
    guard let count, received < count else { return }
    throw CommandFailure(
      "timed out after \(timeout ?? .zero) with \(received) of \(count) message\(count == 1 ? "" : "s") received"
    )
  }

  /// The indices of `descriptors` that are readable (or hung up), waiting
  /// until one is or `wake` comes (then none); nil if the deadline passed first.
  ///
  /// The corresponding C function is `poll`.
  private func wait(for descriptors: [Int32], wakingAt wake: ContinuousClock.Instant?) throws -> [Int]? {
    var entries = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    while true {
      var milliseconds: Int32 = -1
      if let end = [deadline, wake].compactMap({ $0 }).min() {
        let left = ContinuousClock.now.duration(to: end)
        guard left > .zero else { return end == deadline ? nil : [] }
        let (seconds, attoseconds) = left.components
        // Rounded up, so the wait never ends just before the deadline.
        milliseconds = Int32(
          clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
      }
      let ready = poll(&entries, nfds_t(entries.count), milliseconds)
      if ready < 0 {
        if errno == EINTR { continue }
        throw CommandFailure("poll failed: \(String(cString: strerror(errno)))")
      }
      if ready > 0 { return entries.indices.filter { entries[$0].revents != 0 } }
      if wake != nil && deadline.map({ ContinuousClock.now < $0 }) ?? true { return [] }
    }
  }
}
