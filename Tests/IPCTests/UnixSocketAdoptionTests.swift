import Foundation
import IPC
import Synchronization
import Testing

/// Sockets that arrive in a message and are taken as the library's types: a
/// non-blocking one (a Python socket with a timeout) still gives blocking
/// calls that wait, and a listening socket is no connection.
@Suite("Unix sockets, adopted from a message")
struct UnixSocketAdoptionTests {
  /// Passes both ends of a new socket pair of `kind` over a connection, the
  /// first made non-blocking, and takes them back as `T`.
  private func passedPair<T: DescriptorPassable>(_ kind: UnixSocketKind, as: T.Type) throws -> (T, T) {
    let type = [UnixSocketKind.stream: SOCK_STREAM, .seqpacket: SOCK_SEQPACKET, .datagram: SOCK_DGRAM][kind]
    var ends: [Int32] = [-1, -1]
    #expect(socketpair(AF_UNIX, Int32(type?.rawValue ?? 0) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
    defer { for end in ends { close(end) } }
    #expect(fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK) == 0)
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    try client.send([1], passing: [try RawDescriptor(ends[0]), try RawDescriptor(ends[1])])
    let message = try #require(try server.receiveWithDescriptors())
    #expect(message.descriptors.count == 2)
    return (try message.descriptors[0].take(as: T.self), try message.descriptors[1].take(as: T.self))
  }

  /// Sets `O_NONBLOCK` on `fd`, as another holder of its open file description may at any time.
  private func setNonBlocking(_ fd: Int32) {
    #expect(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0)
  }

  /// The CPU time this thread has used.
  private func threadCPUTime() -> Duration {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
  }

  /// Runs `body` on a thread of its own; the result once it returns.
  private func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> () -> Result<
    T, any Error
  >? {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      let outcome = Result { try body() }
      result.withLock { $0 = outcome }
      done.signal()
    }
    return {
      _ = done.wait(timeout: .now() + 30)
      return result.withLock { $0 }
    }
  }

  @Test(arguments: [UnixSocketKind.stream, .seqpacket])
  func aNonBlockingSocketIsMadeBlockingAndItsBlockingCallsWaitEvenIfSetAgain(kind: UnixSocketKind) throws {
    let (first, second) = try passedPair(kind, as: UnixConnection.self)
    #expect(fcntl(first.fileDescriptor, F_GETFL) & O_NONBLOCK == 0, "made blocking")
    // Set again behind the connection's back: a blocking receive still waits
    // for the message (it took "would block" for the end of the stream, or
    // spun on it), without using the CPU while it waits.
    setNonBlocking(first.fileDescriptor)
    let received = onThread { [threadCPUTime] () throws -> ([UInt8]?, Duration) in
      let before = threadCPUTime()
      let bytes = try first.receive()
      return (bytes, threadCPUTime() - before)
    }
    usleep(300_000)
    try second.send(Array("late".utf8))
    let (bytes, used) = try #require(received()).get()
    #expect(bytes == Array("late".utf8))
    #expect(used < .milliseconds(100), "the wait used \(used) of CPU")
    // Sends larger than the socket's buffers wait for room and are whole
    // (they stopped at EAGAIN, a stream with part of a frame sent): one 4 MB
    // stream message, or 50 records of 64 KiB.
    let messages =
      kind == .stream
      ? [[UInt8](repeating: 0xAB, count: 4_000_000)]
      : (0..<50).map { [UInt8](repeating: UInt8($0), count: 65536) }
    let sent = onThread { for message in messages { try first.send(message) } }
    usleep(100_000)
    for message in messages { #expect(try second.receive(timeout: .seconds(30)) == message) }
    _ = try #require(sent()).get()
    try first.send(Array("after".utf8))
    #expect(try second.receive(timeout: .seconds(30)) == Array("after".utf8))
  }

  @Test func aNonBlockingDatagramSocketIsMadeBlockingAndItsReceiveWaits() throws {
    let (first, second) = try passedPair(.datagram, as: UnixDatagramSocket.self)
    #expect(fcntl(first.fileDescriptor, F_GETFL) & O_NONBLOCK == 0, "made blocking")
    setNonBlocking(first.fileDescriptor)
    let received = onThread { [threadCPUTime] () throws -> ([UInt8], Duration) in
      let before = threadCPUTime()
      let bytes = try first.receive().bytes
      return (bytes, threadCPUTime() - before)
    }
    usleep(300_000)
    // A socket pair is connected both ways: a send without an address reaches the other end.
    #expect(
      Array("late".utf8).withUnsafeBytes { send(second.fileDescriptor, $0.baseAddress, $0.count, 0) } == 4)
    let (bytes, used) = try #require(received()).get()
    #expect(bytes == Array("late".utf8))
    #expect(used < .milliseconds(100), "the wait used \(used) of CPU")
  }

  @Test func aListeningSocketIsNoConnectionAndStaysOpen() throws {
    let (listener, client, server) = try connectedPair(AbstractNames.next())
    defer { try? listener.close() }
    let other = try UnixListener.listen(on: AbstractNames.next())
    defer { try? other.close() }
    try client.send([1], passing: [try RawDescriptor(other.fileDescriptor)])
    let message = try #require(try server.receiveWithDescriptors())
    let passed = try #require(message.descriptors.first)
    let error = thrownError { () throws(IPCError) in try passed.take(as: UnixConnection.self) }
    #expect(error?.code == .invalidArgument)
    #expect(
      error?.reason.contains("(a listening socket), not a UnixConnection") == true, "\(error?.reason ?? "")")
    #expect(fcntl(passed.fileDescriptor, F_GETFD) != -1, "it stays open, to be taken as what it is")
  }
}
