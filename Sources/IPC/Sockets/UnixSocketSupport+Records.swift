import CIPCShims
import Glibc
import Synchronization

/// How a seqpacket receive attempt ended.
enum RecordOutcome {
  case end
  case message([UInt8], UnixSocketSupport.Arrivals)
  case count(Int, UnixSocketSupport.Arrivals)
  /// A record that filled `count` bytes of the caller's buffer and brought
  /// no descriptor: most records, kept free of any `Arrivals` work.
  case fitted(Int)
}

// Datagram records (and seqpacket ones when no spill room can be had): the
// length is peeked first (the peek closes the copies of descriptors it
// installs), then the record is taken whole in one recvmsg, so a caller's
// buffer that is too small never cuts a message. A connection's seqpacket
// records take one recvmsg with a spill room instead: takeRecord, below.
extension UnixSocketSupport {
  /// Peeks at the next record's length (waiting if `wait`), then takes it
  /// whole; nil if none is there (or another receiver took it first).
  static func attemptRecord(
    _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer?, wait: Bool, endsWithoutCredentials: Bool,
    object description: @autoclosure () -> String
  ) throws(IPCError) -> RecordOutcome? {
    var isRecord = false
    let length: Int
    switch retryingInterrupts(.read, { cipc_unix_peek(fd, wait ? 0 : Int32(MSG_DONTWAIT), &isRecord) }) {
    case .success(let count) where isRecord || !endsWithoutCredentials: length = count
    case .success: return .end
    case .failure(.wouldBlock): return nil
    case .failure(let code) where code.rawValue == ECONNRESET: return .end
    case .failure(let code): throw IPCError(code: code, operation: "recvmsg", object: description())
    }
    // The record is there: take it without waiting (nil if another thread did).
    let flags = Int32(MSG_DONTWAIT)
    if let buffer, length <= buffer.count {
      switch receiveOnce(fd, into: buffer, flags: flags) {
      case .success(let (count, arrivals)): return .count(count, arrivals)
      case .failure(.wouldBlock): return nil
      case .failure(let code): throw IPCError(code: code, operation: "recvmsg", object: description())
      }
    }
    var outcome: Result<(Int, Arrivals), IPCError.Code> = .failure(.wouldBlock)
    let bytes = [UInt8](unsafeUninitializedCapacity: length) { storage, initialized in
      outcome = receiveOnce(fd, into: UnsafeMutableRawBufferPointer(storage), flags: flags)
      initialized = min((try? outcome.get().0) ?? 0, length)
    }
    switch outcome {
    case .success(let (count, arrivals)):
      var arrivals = arrivals
      if arrivals.truncated || count != length {
        // Another receiver took the peeked record: this one was cut.
        let n = arrivals.descriptors.count
        arrivals.closeDescriptors()
        throw IPCError(
          code: .badMessage, operation: "recvmsg", object: description(),
          reason: "a record of \(count) bytes arrived where one of \(length) was announced: another thread"
            + " received from this socket at the same time; receive from one thread at a time"
            + (n > 0 ? " (its \(n) descriptors were closed)" : ""),
          payload: bytes)
      }
      guard let buffer else { return .message(bytes, arrivals) }
      throw tooBig(bytes, buffer: buffer, arrivals: &arrivals, object: description())
    case .failure(.wouldBlock): return nil
    case .failure(let code): throw IPCError(code: code, operation: "recvmsg", object: description())
    }
  }

  static func tooBig(
    _ bytes: [UInt8], buffer: UnsafeMutableRawBufferPointer, arrivals: inout Arrivals,
    object description: String
  ) -> IPCError {
    let n = arrivals.descriptors.count
    arrivals.closeDescriptors()
    return IPCError(
      code: .tooBig, operation: "recvmsg", object: description,
      reason: "a message of \(bytes.count) bytes is longer than the buffer of \(buffer.count) bytes;"
        + " it was taken from the socket and is kept in the error's payload"
        + (n > 0 ? " (\(n) descriptors that came with it were closed)" : ""),
      payload: bytes)
  }
}

/// The room a connection's seqpacket receive spills a record into when the
/// caller's buffer is too small (or when the caller gave none): large
/// enough for any record a peer can send, so a record is taken in one
/// `recvmsg` and never cut. Allocated on first need and kept; a receive
/// takes it for the call and gives it back (a second receiver at the same
/// time gets one of its own). Behind the bytes lies the call's
/// `cipc_unix_received`, which then needs no zeroing per record.
final class RecordSpill: Sendable {
  /// What one call holds: the spill bytes and the room for what came alongside.
  struct Room {
    let bytes: UnsafeMutableRawBufferPointer
    let received: UnsafeMutablePointer<cipc_unix_received>
  }

  /// The room's address as bits (0: none kept), exchanged whole, so one
  /// call at a time owns it.
  private let room = Atomic<UInt>(0)

  /// The largest record a peer can send without privileges: a seqpacket
  /// send fails with EMSGSIZE above its send buffer less 32 bytes, and
  /// `SO_SNDBUF` is capped at twice `net.core.wmem_max`.
  static let size: Int = {
    let wmemMax = ProcFile.integer("/proc/sys/net/core/wmem_max") ?? 212_992
    return 2 * min(max(wmemMax, 4096), 1 << 28)
  }()

  /// `size`, and where the `cipc_unix_received` starts (after the bytes,
  /// aligned), kept here: a static's lazy check on every record showed.
  private let byteCount: Int
  private let receivedOffset: Int

  init() {
    byteCount = Self.size
    let alignment = MemoryLayout<cipc_unix_received>.alignment
    receivedOffset = (byteCount + alignment - 1) / alignment * alignment
  }

  deinit { free(UnsafeMutableRawPointer(bitPattern: room.load(ordering: .acquiring))) }

  /// The room, for one call; nil if it cannot be allocated.
  func take() -> Room? {
    let kept = UnsafeMutableRawPointer(bitPattern: room.exchange(0, ordering: .acquiringAndReleasing))
    guard let start = kept ?? malloc(receivedOffset + MemoryLayout<cipc_unix_received>.size) else {
      return nil
    }
    return Room(
      bytes: UnsafeMutableRawBufferPointer(start: start, count: byteCount),
      received: (start + receivedOffset).bindMemory(to: cipc_unix_received.self, capacity: 1))
  }

  /// Gives the room back after a call.
  func give(_ taken: Room) {
    let other = room.exchange(UInt(bitPattern: taken.bytes.baseAddress), ordering: .acquiringAndReleasing)
    if other != 0 { free(UnsafeMutableRawPointer(bitPattern: other)) }  // a second receiver's room
  }
}

extension UnixConnection {
  /// Takes the next record in one `recvmsg` (waiting if `wait`): into
  /// `buffer` when it fits, the rest (or all of it, without a buffer) into
  /// the connection's spill room; nil if none is there. With `SO_PASSCRED`
  /// on, every record carries credentials and the end of the stream none.
  /// (A method of the connection, not a function given its description as a
  /// closure: that closure's retain of the connection showed per record.)
  func takeRecord(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer?, wait: Bool) throws(IPCError)
    -> RecordOutcome?
  {
    let spill = recordSpill
    guard let room = spill.take() else {
      return try UnixSocketSupport.attemptRecord(
        fd, into: buffer, wait: wait, endsWithoutCredentials: true, object: description)
    }
    defer { spill.give(room) }
    let first = buffer ?? UnsafeMutableRawBufferPointer(start: nil, count: 0)
    let flags = Int32(MSG_TRUNC) | (wait ? 0 : Int32(MSG_DONTWAIT))
    let received = room.received
    let result = retryingInterrupts(.read) {
      cipc_unix_receive_spilling(
        fd, first.baseAddress, first.count, room.bytes.baseAddress, room.bytes.count, false, flags, received)
    }
    let length: Int
    switch result {
    case .success(let count): length = count
    case .failure(.wouldBlock): return nil
    case .failure(let code) where code.rawValue == ECONNRESET: return .end
    case .failure(let code): throw IPCError(code: code, operation: "recvmsg", object: description)
    }
    // What came besides the bytes is read only when there is something to
    // deliver: a record into the caller's buffer needs only its length.
    let plain = received.pointee.descriptorCount == 0 && received.pointee.flags & Int32(MSG_CTRUNC) == 0
    if length == 0 && plain && !received.pointee.hasCredentials { return .end }
    if plain, let buffer, length <= buffer.count { return .fitted(length) }
    var arrivals = UnixSocketSupport.Arrivals(received, withSender: false)
    if let buffer, length <= buffer.count { return .count(length, arrivals) }
    let inFirst = min(length, first.count)
    let kept = min(length - inFirst, room.bytes.count)
    var bytes = Array(first[..<inFirst])
    bytes += room.bytes[..<kept]
    guard inFirst + kept == length else {
      // Only a peer with CAP_NET_ADMIN (SO_SNDBUFFORCE) can send a larger record.
      let n = arrivals.descriptors.count
      arrivals.closeDescriptors()
      throw IPCError(
        code: .tooBig, operation: "recvmsg", object: description,
        reason:
          "a record of \(length) bytes is larger than any this socket expects (\(RecordSpill.size) bytes,"
          + " twice net.core.wmem_max); its first \(bytes.count) bytes are kept in the error's payload,"
          + " the rest was lost" + (n > 0 ? " (\(n) descriptors that came with it were closed)" : ""),
        payload: bytes)
    }
    guard let buffer else { return .message(bytes, arrivals) }
    throw UnixSocketSupport.tooBig(bytes, buffer: buffer, arrivals: &arrivals, object: description)
  }
}
