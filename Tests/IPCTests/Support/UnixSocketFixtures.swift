import Foundation
import IPC

extension UnixSocketKind {
  /// The kinds with a connection: those a listener accepts.
  static let connected: [UnixSocketKind] = [.stream, .seqpacket]
}

/// Runs `body` with a new private directory (mode 0700) for socket files,
/// `TMPDIR/ipc-test-sock-XXXXXX`, removed afterwards with whatever it holds,
/// also when the body fails.
func withSocketDirectory<R>(_ body: (String) throws -> R) throws -> R {
  var template = Array("\(NSTemporaryDirectory())/ipc-test-sock-XXXXXX".utf8CString)
  guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
    throw IPCError(code: IPCError.Code(rawValue: errno), operation: "mkdtemp", object: "socket directory")
  }
  let directory = String(cString: made)
  defer { try? FileManager.default.removeItem(atPath: directory) }
  return try body(directory)
}

/// A Python 3 peer of the socket tests: `python3 -c` with a prelude that
/// speaks the library's formats on a socket of `KIND` (`TYPE` is its
/// `socket.SOCK_*`): `send(s, payload, fds=())` (a stream frame is
/// `struct.pack("<I", len)` and the payload; a seqpacket message one record;
/// descriptors go with `socket.send_fds`), `receive(s)`,
/// `receive_with_fds(s)` (`socket.recv_fds`: payload, descriptors, whether
/// MSG_CTRUNC cut them) and `peer(s)` (`SO_PEERCRED`: pid, uid, gid).
enum PythonPeer {
  static func start(kind: UnixSocketKind, _ body: String) throws -> SpawnedProcess {
    try SpawnedProcess("/usr/bin/env", ["python3", "-c", prelude(kind) + body])
  }

  /// `text` as a Python string literal.
  static func literal(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
  }

  private static func prelude(_ kind: UnixSocketKind) -> String {
    """
    import mmap, os, socket, stat, struct
    KIND = \(literal(kind.rawValue))
    TYPE = socket.SOCK_STREAM if KIND == "stream" else socket.SOCK_SEQPACKET

    def exactly(s, n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise SystemExit("end of stream after %d of %d bytes" % (len(data), n))
            data += chunk
        return data

    def send(s, payload, fds=()):
        data = struct.pack("<I", len(payload)) + payload if KIND == "stream" else payload
        if fds:
            sent = socket.send_fds(s, [data], list(fds))
            if sent != len(data):
                raise SystemExit("send_fds sent %d of %d bytes" % (sent, len(data)))
        else:
            s.sendall(data)

    def receive(s):
        if KIND == "stream":
            (n,) = struct.unpack("<I", exactly(s, 4))
            return exactly(s, n)
        return s.recv(65536)

    def receive_with_fds(s):
        if KIND == "stream":
            header, fds, flags, _ = socket.recv_fds(s, 4, 8)
            header += exactly(s, 4 - len(header))
            (n,) = struct.unpack("<I", header)
            payload = exactly(s, n)
        else:
            payload, fds, flags, _ = socket.recv_fds(s, 65536, 8)
        return payload, fds, bool(flags & socket.MSG_CTRUNC)

    def peer(s):
        return struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))


    """
  }
}
