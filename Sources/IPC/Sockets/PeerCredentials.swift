import Glibc

/// Who is on the other end of a connection (`SO_PEERCRED`, as it was when
/// the peer connected or listened), or who sent one message
/// (`SCM_CREDENTIALS`). The kernel fills both: a peer cannot lie about them.
///
///     let client = try listener.accept()
///     guard try client.peer.uid == getuid() else { try client.close(); return }
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
  /// The process id.
  public let pid: pid_t
  /// The effective user id.
  public let uid: uid_t
  /// The effective group id.
  public let gid: gid_t

  /// Credentials from their parts.
  public init(pid: pid_t, uid: uid_t, gid: gid_t) {
    self.pid = pid
    self.uid = uid
    self.gid = gid
  }

  /// `pid 1234, uid 1000, gid 1000`.
  public var description: String { "pid \(pid), uid \(uid), gid \(gid)" }
}
