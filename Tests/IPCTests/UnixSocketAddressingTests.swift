import Foundation
import IPC
import Testing

/// Names and kinds that mislead: a printed address reads back as the same
/// address; a stale socket file that cannot be removed, and a client of the
/// wrong kind, get errors that say so (between real processes).
@Suite("Unix socket addresses and kinds")
struct UnixSocketAddressingTests {
  /// The file `@x` (relative to the working directory) and the abstract
  /// name `x` print differently, and each prints as text that parses back
  /// to the same address.
  @Test(arguments: ["@x", "./@x", "@", "x", "/tmp/@x.sock", "@@x"])
  func aPrintedAddressParsesBackToTheSameAddress(_ name: String) throws {
    let path = try UnixSocketAddress.path(name)
    let abstract = try UnixSocketAddress.abstract(name)
    #expect(path.description != abstract.description)
    #expect(try UnixSocketAddress(parsing: path.description) == path, "\(path.description)")
    #expect(try UnixSocketAddress(parsing: abstract.description) == abstract)
    #expect(path.path.map { $0 == name || $0 == "./" + name } == true, "names the same file")
  }

  /// A listener bound to the file `@NAME` in its working directory is
  /// listed, and refuses a second listener, as `./@NAME`, not as an
  /// abstract name it is not.
  @Test func aPathStartingWithAtIsBoundAndNamedAsAPath() throws {
    try withSocketDirectory { directory in
      let name = "@at-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      let server = try SpawnedProcess(
        Tools.ipc, ["socket", "listen", "./" + name, "--count", "1", "--timeout", "30"],
        workingDirectory: directory)
      #expect(eventually { TestSockets.isSocketFile(directory + "/" + name) }, "\(server.standardError)")
      let second = try SpawnedProcess(
        Tools.ipc, ["socket", "listen", "./" + name, "--timeout", "1"], workingDirectory: directory)
      #expect(second.wait())
      #expect(second.exitStatus == 1)
      #expect(second.standardError.contains(" ./\(name) "), "\(second.standardError)")
      #expect(try Tools.ipc("socket", "send", directory + "/" + name, "to the file").exitStatus == 0)
      #expect(server.wait())
      #expect(server.standardOutput == "to the file\n")
    }
  }

  /// A stale socket file in a sticky directory, owned by root: another user
  /// may not remove it (EPERM). The listener says so, naming the path and
  /// the unlink, instead of a puzzling "address in use"; the file stays.
  @Test(.enabled(if: getuid() == 0, "needs root to leave a file another user may not remove"))
  func aStaleFileThatCannotBeRemovedIsReportedAsSuch() throws {
    try withSocketDirectory { directory in
      #expect(chmod(directory, 0o1777) == 0)
      let path = directory + "/stale.sock"
      try leaveStaleSocketFile(at: path)
      #expect(chmod(path, 0o666) == 0, "so that another user may connect (and be refused)")
      let listener = try SpawnedProcess.run(
        "/usr/bin/setpriv",
        [
          "--reuid=65534", "--regid=65534", "--clear-groups", Tools.ipc, "socket", "listen", path,
          "--timeout", "1",
        ])
      #expect(listener.exitStatus == 1)
      let lines = listener.standardError.split(separator: "\n")
      #expect(lines.count == 1, "\(listener.standardError)")
      #expect(listener.standardError.contains(path) && listener.standardError.contains("unlink"))
      #expect(listener.standardError.contains("[EPERM]"), "\(listener.standardError)")
      #expect(TestSockets.isSocketFile(path), "the file is left as it was")
    }
  }

  /// Another process binds a path holding a newline and, after it, a line
  /// in the format of /proc/net/unix that claims a listener at a stale
  /// path. The stale file is reclaimed all the same: the kernel's table is
  /// read where a name cannot forge another (sock_diag).
  @Test func aForgedTableLineKeepsNoStaleFileFromBeingReclaimed() throws {
    try withSocketDirectory { directory in
      let stale = directory + "/stale.sock"
      try leaveStaleSocketFile(at: stale)
      let forger = try ListingPeer.start(
        in: directory,
        """
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        name = "f\\n0: 2 0 10000 1 1 %d \(stale)" % os.fstat(s.fileno()).st_ino
        os.makedirs(os.path.dirname(name))  # the forged path's slashes make folders here
        s.bind(name)
        s.listen()
        ready(name)
        """)
      defer { _ = forger.wait(upTo: .zero) }
      _ = try ListingPeer.ready(forger)
      let listener = try UnixListener.listen(on: .path(stale))
      #expect(TestSockets.isSocketFile(stale))
      try listener.close()
    }
  }

  /// A client of one kind at a listener of another: the error names the
  /// kind asked for and the listener's, by path (EPROTOTYPE) and by
  /// abstract name (ECONNREFUSED).
  @Test(arguments: [
    (UnixSocketKind.stream, UnixSocketKind.seqpacket), (.seqpacket, .stream), (.stream, .datagram),
    (.datagram, .stream), (.datagram, .seqpacket),
  ])
  func aClientOfTheWrongKindIsToldBothKinds(listening: UnixSocketKind, asked: UnixSocketKind) throws {
    for byPath in [true, false] {
      let address = byPath ? TestSockets.nextPath() : TestSockets.nextAbstract()
      defer { if byPath { unlink(address) } }
      let listener = try TestSockets.listen(address, ["--kind", listening.rawValue, "--timeout", "30"])
      defer { _ = listener.wait(upTo: .zero) }
      let send = try Tools.ipc("socket", "send", address, "hello", "--kind", asked.rawValue)
      #expect(send.exitStatus == 1)
      let error = send.standardError
      #expect(error.split(separator: "\n").count == 1, "\(error)")
      #expect(
        error.contains("a \(asked) socket") && error.contains("a \(listening) socket"),
        "by \(byPath ? "path" : "name"): \(error)")
    }
  }
}
