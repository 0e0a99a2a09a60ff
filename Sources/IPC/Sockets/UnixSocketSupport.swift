import CIPCShims
import Glibc

/// What the socket types share: making and binding sockets (with stale
/// files reclaimed), sending and receiving through the shim's `sendmsg` and
/// `recvmsg`, and the errors that name what went wrong.
enum UnixSocketSupport {
  /// `SCM_MAX_FD`: the most descriptors one message carries.
  static let maxDescriptors = Int(CIPC_SCM_MAX_FD)

  // MARK: Making and binding

  /// A new close-on-exec `AF_UNIX` socket of `kind`.
  static func makeSocket(_ kind: UnixSocketKind, nonblocking: Bool, object: String) throws(IPCError) -> Int32
  {
    switch once({ cipc_unix_socket(kind.code, nonblocking) }) {
    case .success(let fd): return fd
    case .failure(let code): throw IPCError(code: code, operation: "socket", object: object)
    }
  }

  /// Clears `O_NONBLOCK`: the library's sockets do blocking I/O, and its
  /// timed, non-blocking and async forms pass `MSG_DONTWAIT` instead.
  static func makeBlocking(_ fd: Int32, object: @autoclosure () -> String) throws(IPCError) {
    let flags = fcntl(fd, F_GETFL)
    if flags < 0 || (flags & O_NONBLOCK != 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
      throw IPCError(code: IPCError.Code(rawValue: errno), operation: "fcntl", object: object())
    }
  }

  /// Waits until `fd` is ready for `events`, where a blocking call found it
  /// would block: another holder of the socket's open file description (the
  /// process that passed it, say) set `O_NONBLOCK` on it. The blocking call
  /// then waits, as documented, instead of spinning or taking "would block"
  /// for the end. Each wait is at most a minute, then the call tries again.
  static func waitWhileNonBlocking(_ fd: Int32, for events: Int16) {
    Readiness.wait(descriptor: fd, events: events, for: .seconds(60))
  }

  /// Checks a file mode given for a socket file.
  static func checkMode(_ mode: mode_t, operation: String, object: String) throws(IPCError) {
    guard mode & ~0o777 == 0 else {
      throw IPCError(
        code: .invalidArgument, operation: operation, object: object,
        reason: "mode 0o\(String(mode, radix: 8)) has bits outside the permission bits 0o777")
    }
  }

  /// Binds `fd` to `address`; a path gets exactly `mode`. A stale socket
  /// file (connecting to it is refused) is removed and the bind tried again;
  /// a live socket or a file that is not a socket is `.exists`, left alone.
  ///
  /// - Returns: the bound file's identity (nil for an abstract name), so
  ///   that close removes that file and no other.
  static func bind(_ fd: Int32, to address: UnixSocketAddress, kind: UnixSocketKind, mode: mode_t)
    throws(IPCError) -> FileIdentity?
  {
    var reclaimed = false
    while true {
      let result = address.withName { name, length, abstract in
        once { cipc_unix_bind(fd, name, length, abstract, mode) }
      }
      switch result {
      case .success:
        guard let path = address.path else { return nil }
        return FileIdentity.of(path: path)?.0
      case .failure(.addressInUse) where !reclaimed:
        guard let path = address.path else { throw inUse(address) }
        guard try reclaimStale(path, address: address, kind: kind) else { continue }
        reclaimed = true
      case .failure(.addressInUse):
        throw inUse(address)
      case .failure(let code):
        throw bindError(code, address: address)
      }
    }
  }

  /// Removes the socket file at `path` if no one listens on it (a connect
  /// is refused). Returns true if it removed it; false if the file vanished
  /// meanwhile (bind again). Throws `.exists` for a live socket or a file
  /// that is not a socket, which are never removed.
  private static func reclaimStale(_ path: String, address: UnixSocketAddress, kind: UnixSocketKind)
    throws(IPCError) -> Bool
  {
    guard let (identity, mode) = FileIdentity.of(path: path) else { return false }
    guard mode & S_IFMT == S_IFSOCK else {
      throw IPCError(
        code: .exists, operation: "bind", object: address.description,
        reason: "\(fileKind(mode)) is at this path and it is not a socket; it is never removed:"
          + " choose another path or remove it yourself")
    }
    // A listener or bound datagram socket at this path, as the kernel lists
    // it, is live: asked first, so that a live server sees no probe connection.
    if liveKind(at: address) != nil {
      throw IPCError(
        code: .exists, operation: "bind", object: address.description,
        reason: "a server listens at this path (a live socket); it is never taken over")
    }
    let probe = try makeSocket(kind, nonblocking: true, object: address.description)
    defer { _ = Glibc.close(probe) }
    let result = address.withName { name, length, abstract in
      retryingInterrupts(.connect) { cipc_unix_connect(probe, name, length, abstract) }
    }
    switch result {
    case .failure(.connectionRefused):
      // Stale: no one listens. Remove it only if it is still the file just probed.
      guard FileIdentity.of(path: path)?.0 == identity else { return false }
      guard unlink(path) == 0 else {
        let code = errno
        if code == ENOENT { return false }  // gone meanwhile: bind again
        throw staleNotRemoved(IPCError.Code(rawValue: code), path: path, address: address)
      }
      return true
    case .success, .failure(.wouldBlock), .failure(IPCError.Code(rawValue: EPROTOTYPE)):
      throw IPCError(
        code: .exists, operation: "bind", object: address.description,
        reason: "a server listens at this path (a live socket); it is never taken over")
    case .failure(let code):
      throw IPCError(
        code: .exists, operation: "bind", object: address.description,
        reason: "a socket file is at this path and whether a server still listens there could not be"
          + " checked (connect failed: \(code.explanation) [\(code.name)]); it is left alone")
    }
  }

  /// The error of a stale socket file that could not be removed, which
  /// would otherwise surface as a puzzling "address in use" from the bind.
  private static func staleNotRemoved(_ code: IPCError.Code, path: String, address: UnixSocketAddress)
    -> IPCError
  {
    let directory = parentDirectory(path)
    let why =
      switch code {
      case .notPermitted:
        "it belongs to another user and \(directory) has the sticky bit (as /tmp has), or it is immutable"
      case .permissionDenied: "this user may not write to \(directory)"
      case IPCError.Code(rawValue: EROFS): "\(directory) is on a read-only file system"
      default: code.explanation
      }
    return IPCError(
      code: code, operation: "unlink", object: address.description,
      reason: "a stale socket file (no server listens on it) is at this path and cannot be removed to"
        + " reclaim it: \(why); remove it as its owner, or choose another path")
  }

  /// The kind of a socket bound at `address` (listening, or bound and not
  /// listening yet), or nil if none is listed (this network namespace only).
  ///
  /// The kernel's socket table is read through netlink (sock_diag), where a
  /// name is bytes with a length: a path holding a newline cannot forge
  /// another entry, as it can a line of /proc/net/unix, which is read only
  /// where the kernel has no sock_diag for Unix sockets.
  static func liveKind(at address: UnixSocketAddress) -> UnixSocketKind? {
    var list: UnsafeMutablePointer<cipc_unix_socket_entry>?
    var count = 0
    guard cipc_unix_sockets(&list, &count) == 0 else { return liveKindInProcTable(at: address) }
    defer { free(list) }
    let wanted = Array(address.name.utf8)
    for entry in UnsafeBufferPointer(start: list, count: list == nil ? 0 : count) {
      let named = withUnsafeBytes(of: entry.name) { raw in
        let name = raw.prefix(min(entry.nameLength, raw.count))
        // An abstract name follows a NUL byte; a path starts with none.
        return address.isAbstract
          ? name.first == 0 && name.dropFirst().elementsEqual(wanted) : name.elementsEqual(wanted)
      }
      guard named else { continue }
      // As below: listening, or bound and unconnected, keeps a name live.
      let bound = entry.state == CIPC_UNIX_LISTENING || entry.state == CIPC_UNIX_UNCONNECTED
      switch entry.kind {
      case 0 where bound: return .stream
      case 1 where bound: return .seqpacket
      case 2: return .datagram
      default: continue
      }
    }
    return nil
  }

  /// ``liveKind(at:)`` from /proc/net/unix, for a kernel without sock_diag.
  private static func liveKindInProcTable(at address: UnixSocketAddress) -> UnixSocketKind? {
    guard let table = ProcFile.read("/proc/net/unix") else { return nil }
    let wanted = address.description
    for line in table.split(separator: "\n").dropFirst() {
      // Num RefCount Protocol Flags Type St Inode Path (the path may hold spaces).
      let fields = line.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: true)
      guard fields.count == 8, fields[7] == wanted,
        let flags = Int(fields[3], radix: 16), let type = Int(fields[4], radix: 16),
        let state = Int(fields[5], radix: 16)
      else { continue }
      // Listening, or bound and not listening yet (unconnected): one between
      // its bind and its listen refuses connections as a stale file does, and
      // must not lose its file to a racing listener. Connections a server
      // accepted show its path too (connected): they do not keep it live.
      let bound = flags & 0x10000 != 0 || state == 1  // __SO_ACCEPTCON, SS_UNCONNECTED
      switch type {
      case 1 where bound: return .stream
      case 5 where bound: return .seqpacket
      case 2: return .datagram
      default: continue
      }
    }
    return nil
  }

  private static func inUse(_ address: UnixSocketAddress) -> IPCError {
    IPCError(
      code: .exists, operation: "bind", object: address.description,
      reason: address.isAbstract
        ? "another socket holds this abstract name; it is never taken over"
        : "another socket was bound at this path meanwhile; it is never taken over")
  }

  private static func bindError(_ code: IPCError.Code, address: UnixSocketAddress) -> IPCError {
    let directory = address.path.map(parentDirectory) ?? ""
    let reason: String? =
      switch code {
      case .notFound: "the directory \(directory) does not exist; create it first"
      case IPCError.Code(rawValue: ENOTDIR): "a component of \(directory) is not a directory"
      case .permissionDenied: "no permission to create a file in \(directory)"
      case IPCError.Code(rawValue: EROFS): "\(directory) is on a read-only file system"
      default: nil
      }
    return IPCError(code: code, operation: "bind", object: address.description, reason: reason)
  }

  static func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  static func fileKind(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFREG: "a regular file"
    case S_IFDIR: "a directory"
    case S_IFLNK: "a symbolic link"
    case S_IFIFO: "a named pipe"
    case S_IFSOCK: "a socket"
    default: "a special file"
    }
  }

  /// Removes the socket file at `address` if it is still `identity`.
  static func unlinkBound(_ address: UnixSocketAddress, identity: FileIdentity?) {
    guard let path = address.path, let identity, FileIdentity.of(path: path)?.0 == identity else { return }
    _ = unlink(path)
  }

  // MARK: Connecting

  /// The error of a failed connect to `address`, worded for a student.
  static func connectError(_ code: IPCError.Code, address: UnixSocketAddress, kind: UnixSocketKind)
    -> IPCError
  {
    var reason: String?
    switch code {
    case .connectionRefused:
      if let live = liveKind(at: address), live != kind {
        reason = wrongKind(kind, live: live)
      } else if let path = address.path, let (_, mode) = FileIdentity.of(path: path),
        mode & S_IFMT != S_IFSOCK
      {
        reason = "connection refused: \(fileKind(mode)) is at this path, not a socket"
      } else if address.isAbstract {
        reason = "connection refused: no socket holds this abstract name (is the server running?)"
      } else {
        reason =
          "connection refused: the socket file is there but no server listens on it"
          + " (a stale file left by a server that exited?)"
      }
    case .notFound:
      reason = "no socket file at this path (is the server running, and is the path right?)"
    case .permissionDenied:
      reason =
        "no permission: connecting needs write permission on the socket file (0600 by default:"
        + " its owner only) and search permission on its directories"
    case IPCError.Code(rawValue: EPROTOTYPE):
      reason = wrongKind(kind, live: liveKind(at: address))
    default:
      break
    }
    return IPCError(code: code, operation: "connect", object: address.description, reason: reason)
  }

  /// Why a `kind` socket cannot reach the socket at an address, whose kind
  /// is `live` if the kernel's table told (a path's socket that closed
  /// meanwhile, or one of another network namespace, is not listed).
  private static func wrongKind(_ kind: UnixSocketKind, live: UnixSocketKind?) -> String {
    guard let live else {
      let others = UnixSocketKind.allCases.filter { $0 != kind }.map { "a \($0) socket" }
      return "the socket there is not a \(kind) socket (most likely \(others.joined(separator: " or ")));"
        + " use the kind the server uses"
    }
    return "the socket there is a \(live) socket, not a \(kind) socket; use the kind the server uses"
  }

  // MARK: Descriptors to send

  /// The descriptors of `objects`, checked: at most 253, none closed.
  static func descriptors(of objects: [any DescriptorPassable], object: @autoclosure () -> String)
    throws(IPCError) -> [Int32]
  {
    guard objects.count <= maxDescriptors else {
      throw IPCError(
        code: .invalidArgument, operation: "sendmsg", object: object(),
        reason: "\(objects.count) descriptors exceed the limit of \(maxDescriptors) per message"
          + " (SCM_MAX_FD); nothing was sent: send them in several messages")
    }
    var descriptors: [Int32] = []
    descriptors.reserveCapacity(objects.count)
    for passable in objects { descriptors.append(try passable.passableDescriptor) }
    return descriptors
  }

  // MARK: Sending

  /// One `sendmsg` of `header` then `bytes` with `descriptors` (to `address`
  /// for a datagram), retried on EINTR. Returns the bytes sent.
  static func sendOnce(
    _ fd: Int32, header: UnsafeRawBufferPointer?, bytes: UnsafeRawBufferPointer, descriptors: [Int32],
    to address: UnixSocketAddress?, flags: Int32
  ) -> Result<Int, IPCError.Code> {
    descriptors.withUnsafeBufferPointer { fds in
      let send = { (name: UnsafePointer<CChar>?, length: Int, abstract: Bool) -> Result<Int, IPCError.Code> in
        retryingInterrupts(.write) {
          cipc_unix_send(
            fd, header?.baseAddress, header?.count ?? 0, bytes.baseAddress, bytes.count, fds.baseAddress,
            fds.count, name, length, abstract, flags | Int32(MSG_NOSIGNAL))
        }
      }
      guard let address else { return send(nil, 0, false) }
      return address.withName { name, length, abstract in send(name, length, abstract) }
    }
  }

  // MARK: Receiving

  /// What arrived besides the bytes of one `recvmsg`.
  struct Arrivals: Sendable {
    /// Descriptors (owned: close or adopt each one).
    var descriptors: [Int32] = []
    var credentials: PeerCredentials?
    var from: UnixSocketAddress?
    /// `MSG_TRUNC`, `MSG_CTRUNC`.
    var flags: Int32 = 0

    var truncated: Bool { flags & Int32(MSG_TRUNC) != 0 }
    var controlTruncated: Bool { flags & Int32(MSG_CTRUNC) != 0 }

    /// Closes every descriptor (those nobody asked for).
    mutating func closeDescriptors() {
      for fd in descriptors { _ = Glibc.close(fd) }
      descriptors = []
    }

    /// Nothing arrived.
    init() {}

    /// The uid and gid the kernel reports for none (`/proc/sys/kernel/overflowuid`, default).
    private static let overflowID: UInt32 = 65534

    /// What `cipc_unix_receive` found: descriptors, credentials and, if
    /// `withSender`, the sender's address. Read through the pointer: the
    /// struct is 1 KiB of descriptor room, mostly unused.
    init(_ received: UnsafePointer<cipc_unix_received>, withSender: Bool) {
      flags = received.pointee.flags
      let count = received.pointee.descriptorCount
      if count > 0 {
        descriptors = Array(
          UnsafeBufferPointer(
            start: cipc_unix_received_descriptors(received), count: min(count, maxDescriptors)))
      }
      // pid 0 with the overflow ids is the kernel's "none recorded": the
      // message was queued before anyone asked for credentials.
      if received.pointee.hasCredentials,
        received.pointee.pid != 0 || received.pointee.uid != Self.overflowID
          || received.pointee.gid != Self.overflowID
      {
        credentials = PeerCredentials(
          pid: received.pointee.pid, uid: received.pointee.uid, gid: received.pointee.gid)
      }
      let addressLength = received.pointee.addressLength
      if withSender, addressLength > 0 {
        var address = received.pointee.address
        // The name points into `address`: read it before the closure returns.
        from = withUnsafePointer(to: &address) { pointer -> UnixSocketAddress? in
          var name: UnsafePointer<CChar>?
          var abstract = false
          let length = cipc_unix_address_name(pointer, addressLength, &name, &abstract)
          guard let name, length > 0 else { return nil }
          return UnixSocketAddress(
            reportedName: UnsafeRawBufferPointer(start: name, count: length), isAbstract: abstract)
        }
      }
    }

    /// The descriptors as owned objects.
    mutating func takeDescriptors() -> [ReceivedDescriptor] {
      defer { descriptors = [] }
      return descriptors.map(ReceivedDescriptor.init(adopting:))
    }
  }

  /// One `recvmsg` into `buffer` with room for 253 descriptors and
  /// credentials, `MSG_CMSG_CLOEXEC` and `flags`, retried on EINTR.
  /// Every descriptor that arrived is in the arrivals, whatever else happened.
  /// The sender's address is read only if `withSender` (a datagram's: on a
  /// connection it is always the same, and making it a String per message
  /// showed in the benchmark).
  static func receiveOnce(
    _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: Int32, withSender: Bool = true
  ) -> Result<(Int, Arrivals), IPCError.Code> {
    var received = cipc_unix_received()
    let result = retryingInterrupts(.read) {
      cipc_unix_receive_spilling(fd, buffer.baseAddress, buffer.count, nil, 0, withSender, flags, &received)
    }
    return result.map { ($0, Arrivals(&received, withSender: withSender)) }
  }

  /// The error of descriptors that came with a message received by a call
  /// that does not take them: they were closed; the bytes are kept.
  static func unexpectedDescriptors(_ count: Int, bytes: [UInt8], operation: String, object: String)
    -> IPCError
  {
    IPCError(
      code: .badMessage, operation: operation, object: object,
      reason: "\(count) descriptor\(count == 1 ? "" : "s") arrived with this message and"
        + " \(count == 1 ? "was" : "were") closed; use receiveWithDescriptors() to take them."
        + " The message's bytes are kept in the error's payload",
      payload: bytes)
  }

  /// The error of a message whose descriptors were cut off (`MSG_CTRUNC`).
  static func descriptorsCut(_ count: Int, bytes: [UInt8], operation: String, object: String) -> IPCError {
    IPCError(
      code: .badMessage, operation: operation, object: object,
      reason: "descriptors sent with this message were cut off (MSG_CTRUNC: the process may be at its"
        + " limit of open files, see ulimit -n); the \(count) that arrived were closed. The message's"
        + " bytes are kept in the error's payload",
      payload: bytes)
  }
}
