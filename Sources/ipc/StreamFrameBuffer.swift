import CIPCShims
import Glibc

/// The frames of one stream client of `ipc socket listen`, put together from
/// reads that never wait: a client that sends part of a frame and stalls
/// keeps its bytes here and holds up no other client, nor the deadline. The
/// format is the library's (a 4-byte little-endian length, then the bytes).
struct StreamFrameBuffer {
  /// Bytes read; those before `consumed` were handed out as messages.
  private var bytes: [UInt8] = []
  private var consumed = 0
  /// Descriptors passed along since the last message (closed on arrival).
  private(set) var closedDescriptors = 0

  /// What a client did wrong, worded for the listener's stderr.
  struct Fault: Error {
    var reason: String
  }

  private static let headerSize = 4
  private static let maxPayload = Int(Int32.max)
  private static let readSize = 64 * 1024

  /// One read from `fd` that never waits: appends what arrived (descriptors
  /// that came along are closed and counted). False at the end of the
  /// stream. The corresponding C function is `recvmsg` with `MSG_DONTWAIT`.
  mutating func read(from fd: Int32) throws(Fault) -> Bool {
    // What was handed out goes; an idle client keeps no memory.
    if consumed == bytes.count { bytes = [] } else { bytes.removeFirst(consumed) }
    consumed = 0
    var received = cipc_unix_received()
    var count = 0
    var code: Int32 = 0
    withUnsafeTemporaryAllocation(byteCount: Self.readSize, alignment: 1) { scratch in
      repeat {
        count = cipc_unix_receive(fd, scratch.baseAddress, scratch.count, Int32(MSG_DONTWAIT), &received)
      } while count < 0 && errno == EINTR
      code = errno
      if count > 0 { bytes.append(contentsOf: scratch[..<count]) }
    }
    withUnsafeBytes(of: received.descriptors) { raw in
      for fd in raw.bindMemory(to: Int32.self).prefix(received.descriptorCount) { _ = close(fd) }
    }
    closedDescriptors += received.descriptorCount
    if received.flags & Int32(MSG_CTRUNC) != 0 {
      throw Fault(
        reason: "descriptors sent with a message were cut off (MSG_CTRUNC: this process may be at its"
          + " limit of open files, see ulimit -n); those that arrived were closed")
    }
    if count > 0 { return true }
    if count == 0 || code == ECONNRESET { return false }
    if code == EAGAIN || code == EWOULDBLOCK { return true }
    throw Fault(reason: "reading failed: \(String(cString: strerror(code)))")
  }

  /// The payload of the next whole frame, if one has arrived.
  mutating func next() throws(Fault) -> [UInt8]? {
    guard let length = try announced(), bytes.count - consumed >= Self.headerSize + length else { return nil }
    let start = consumed + Self.headerSize
    consumed = start + length
    return Array(bytes[start..<consumed])
  }

  /// The descriptors counted so far, and the count started again.
  mutating func takeClosedDescriptors() -> Int {
    defer { closedDescriptors = 0 }
    return closedDescriptors
  }

  /// At the end of the stream: a fault if it ended inside a frame.
  func checkEnd() throws(Fault) {
    let left = bytes.count - consumed
    guard left > 0 else { return }
    guard let length = try announced() else {
      throw Fault(reason: "the stream ended after \(left) of \(Self.headerSize) header bytes of a message")
    }
    throw Fault(
      reason: "the stream ended after \(left - Self.headerSize) of \(length) bytes of a message")
  }

  /// The payload length the next frame's header announces, once the header is whole.
  private func announced() throws(Fault) -> Int? {
    guard bytes.count - consumed >= Self.headerSize else { return nil }
    let length = bytes[consumed..<(consumed + Self.headerSize)].reversed().reduce(0) { $0 << 8 | Int($1) }
    guard length <= Self.maxPayload else {
      throw Fault(
        reason: "a message header announces \(length) bytes, more than the limit of \(Self.maxPayload): the"
          + " client does not frame its messages (a 4-byte little-endian length, then the bytes)")
    }
    return length
  }
}
