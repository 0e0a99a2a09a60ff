import CIPCShims
import Glibc
import IPC

/// The named Unix-domain sockets of this user: the kernel's socket table
/// read through NETLINK_SOCK_DIAG (unix_diag), which gives each name as
/// bytes with a length and each socket's owner. (/proc/net/unix gives
/// neither: a newline in a path there forges another line.) The pids come
/// from the processes that hold a socket, whose /proc/PID/fd links read
/// `socket:[INODE]`.
enum UnixSocketTable {
  /// One named socket.
  struct Entry: Equatable {
    /// A path (`./@x` for a file named `@x`, as UnixSocketAddress prints
    /// it), or `@name` for an abstract name.
    var address: String
    /// stream, datagram or seqpacket (or "other" for another type).
    var kind: String
    /// listening, connected or bound (or the kernel's state number).
    var state: String
    var inode: UInt64
    /// The socket's owner, where the kernel reports it (Linux 5.3 and later).
    var uid: uid_t?
  }

  /// Every named socket of this network namespace, or the errno of a
  /// kernel without sock_diag for Unix sockets.
  ///
  /// The corresponding C functions are `socket(AF_NETLINK,
  /// NETLINK_SOCK_DIAG)`, `sendto` and `recv`.
  static func sockets() -> Result<[Entry], IPCError.Code> {
    var list: UnsafeMutablePointer<cipc_unix_socket_entry>?
    var count = 0
    guard cipc_unix_sockets(&list, &count) == 0 else { return .failure(IPCError.Code(rawValue: errno)) }
    defer { free(list) }
    return .success(UnsafeBufferPointer(start: list, count: list == nil ? 0 : count).map(entry))
  }

  private static func entry(_ socket: cipc_unix_socket_entry) -> Entry {
    let bytes = withUnsafeBytes(of: socket.name) { Array($0.prefix(min(socket.nameLength, $0.count))) }
    let address: String
    if bytes.first == 0 {
      address = "@" + String(decoding: bytes.dropFirst(), as: UTF8.self)
    } else {
      let path = String(decoding: bytes, as: UTF8.self)
      address = (try? UnixSocketAddress.path(path).description) ?? path
    }
    let kind =
      switch socket.kind {
      case 0: "stream"
      case 1: "seqpacket"
      case 2: "datagram"
      default: "other"
      }
    let state =
      switch socket.state {
      case CIPC_UNIX_LISTENING: "listening"
      case CIPC_UNIX_CONNECTED: "connected"
      case CIPC_UNIX_UNCONNECTED: "bound"
      default: "state \(socket.state)"
      }
    return Entry(
      address: address, kind: kind, state: state, inode: UInt64(socket.inode),
      uid: socket.hasUID ? socket.uid : nil)
  }

  /// The socket inodes held by the processes of user `uid`, each with the
  /// pids that hold it (sorted). Processes that end meanwhile, or whose
  /// descriptors this user may not read, are skipped.
  static func holders(uid: uid_t) -> [UInt64: [Int]] {
    var holders: [UInt64: [Int]] = [:]
    guard let proc = opendir("/proc") else { return [:] }
    defer { closedir(proc) }
    while let entry = readdir(proc) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard let pid = Int(name), pid > 0 else { continue }
      var info = stat()
      guard stat("/proc/\(pid)", &info) == 0, info.st_uid == uid else { continue }
      for inode in socketInodes(of: pid) { holders[inode, default: []].append(pid) }
    }
    return holders.mapValues { Array(Set($0)).sorted() }
  }

  /// The inodes in the `socket:[INODE]` links of /proc/PID/fd.
  private static func socketInodes(of pid: Int) -> [UInt64] {
    let folder = "/proc/\(pid)/fd"
    guard let directory = opendir(folder) else { return [] }
    defer { closedir(directory) }
    var inodes: [UInt64] = []
    var target = [CChar](repeating: 0, count: 64)
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard Int(name) != nil else { continue }
      let length = readlink(folder + "/" + name, &target, target.count - 1)
      guard length > 0 else { continue }
      let link = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      guard link.hasPrefix("socket:["), link.hasSuffix("]"),
        let inode = UInt64(link.dropFirst("socket:[".count).dropLast())
      else { continue }
      inodes.append(inode)
    }
    return inodes
  }
}
