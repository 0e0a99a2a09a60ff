import Foundation
import IPC
import Testing

/// `ipc list --sockets` against names chosen to mislead it, bound by another
/// process (Python): a path with a newline that would forge a row of
/// /proc/net/unix, and a relative path spelled like an abstract name.
@Suite("ipc list --sockets")
struct SocketListingTests {
  /// The path holds a newline and, after it, a whole line in the format of
  /// /proc/net/unix (its own inode, a listening state, an abstract name).
  /// The listing shows the one socket there is, its name escaped, and no
  /// row for the forged name.
  @Test func aNewlineInAPathForgesNoRow() throws {
    try withSocketDirectory { directory in
      let forged = "@forged-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      let server = try ListingPeer.start(
        in: directory,
        """
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        name = "e\\n0: 2 0 10000 1 1 %d \(forged)" % os.fstat(s.fileno()).st_ino
        s.bind(name)
        s.listen()
        ready(name)
        """)
      defer { _ = server.wait(upTo: .zero) }
      let name = try ListingPeer.ready(server)
      let lines = try Tools.ipcLines("list", "--sockets")
      #expect(!lines.contains { $0.hasPrefix(forged) }, "a forged row: \(lines)")
      let shown = name.replacing("\n", with: "\\n")
      let row = lines.first { $0.hasPrefix(shown + " ") }
      // The table pads its columns: the last three words are the kind, the state and the pid.
      let words = row.map { $0.split(separator: " ").suffix(3).map(String.init) }
      #expect(words == ["stream", "listening", "\(server.pid)"], "\(lines)")
      let json = try Tools.ipc("list", "--sockets", "--json")
      let object = try #require(
        try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
      let rows = try #require(object["unix_sockets"] as? [[String: Any]])
      #expect(rows.contains { $0["address"] as? String == name })
      #expect(!rows.contains { ($0["address"] as? String)?.hasPrefix(forged) == true }, "\(rows)")
    }
  }

  /// A file named `@x` in the working directory and the abstract name `x`
  /// are different sockets and are listed as such: `./@x` and `@x`.
  @Test func aPathStartingWithAtIsNotShownAsAnAbstractName() throws {
    try withSocketDirectory { directory in
      let name = "ambiguous-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      let server = try ListingPeer.start(
        in: directory,
        """
        by_path = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        by_path.bind("@\(name)")
        by_path.listen()
        by_name = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        by_name.bind("\\0\(name)")
        by_name.listen()
        ready("")
        """)
      defer { _ = server.wait(upTo: .zero) }
      _ = try ListingPeer.ready(server)
      let words = try Tools.ipcLines("list", "--sockets").map { $0.split(separator: " ").map(String.init) }
      #expect(words.contains(["./@\(name)", "stream", "listening", "\(server.pid)"]), "\(words)")
      #expect(words.contains(["@\(name)", "seqpacket", "listening", "\(server.pid)"]), "\(words)")
    }
  }
}
