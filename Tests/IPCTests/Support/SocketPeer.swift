import Foundation
import IPC
import Synchronization

/// The other end for a fuzzed `ipc socket send`: a thread that listens on the
/// sandbox's socket names (of the kind the round asks for), accepts every
/// client and takes whatever arrives, so the command gets past `connect` to
/// its send, instead of failing at once for want of a server.
final class SocketPeer: @unchecked Sendable {
  private let stop = Atomic<Bool>(false)
  private let done = DispatchSemaphore(value: 0)

  /// Listens on `addresses` (those that cannot be bound are skipped) with
  /// sockets of `kind`, until ``finish()``.
  init(addresses: [String], kind: UnixSocketKind) {
    var listeners: [UnixListener] = []
    var inboxes: [UnixDatagramSocket] = []
    for text in addresses {
      guard let address = try? UnixSocketAddress(parsing: text) else { continue }
      if kind == .datagram {
        if let inbox = try? UnixDatagramSocket.bind(to: address) { inboxes.append(inbox) }
      } else if let listener = try? UnixListener.listen(on: address, kind: kind) {
        listeners.append(listener)
      }
    }
    let thread = Thread { [self, listeners, inboxes] in
      defer { done.signal() }
      var clients: [UnixConnection] = []
      while !stop.load(ordering: .relaxed) {
        for listener in listeners {
          if let client = try? listener.accept(timeout: .milliseconds(5)) { clients.append(client) }
        }
        for inbox in inboxes { _ = try? inbox.receive(timeout: .milliseconds(5)) }
        for client in clients { _ = try? client.tryReceive() }
        if listeners.isEmpty && inboxes.isEmpty { usleep(5_000) }
      }
      for client in clients { try? client.close() }
      for listener in listeners { try? listener.close() }
      for inbox in inboxes { try? inbox.close() }
    }
    thread.start()
  }

  /// The kind a round's words ask for with `--kind` (stream if none, or one that does not parse).
  static func kind(in words: [String]) -> UnixSocketKind {
    for (index, word) in words.enumerated() {
      if word.hasPrefix("--kind="), let kind = UnixSocketKind(rawValue: String(word.dropFirst(7))) {
        return kind
      }
      if word == "--kind", index + 1 < words.count, let kind = UnixSocketKind(rawValue: words[index + 1]) {
        return kind
      }
    }
    return .stream
  }

  /// Stops the thread and waits until it has closed everything (and removed the socket file).
  func finish() {
    stop.store(true, ordering: .relaxed)
    done.wait()
  }
}
