import Foundation
import IPC
import Testing

/// `ipc socket` between real processes: a listening `ipc` and sending
/// `ipc`s for each kind, by path and by abstract name; the sender's
/// credentials; the socket file removed on every ending; bad input; and
/// `ipc list --sockets`.
@Suite("The ipc socket command")
struct SocketCommandTests {
  @Test(arguments: UnixSocketKind.allCases, [false, true])
  func messagesGoFromOneIPCToAnother(_ kind: UnixSocketKind, byPath: Bool) throws {
    let address = byPath ? TestSockets.nextPath() : TestSockets.nextAbstract()
    defer { if byPath { unlink(address) } }
    let listener = try TestSockets.listen(
      address, ["--kind", kind.rawValue, "--count", "3", "--timeout", "30"])
    if byPath {
      #expect(TestSockets.isSocketFile(address))
      var info = stat()
      #expect(stat(address, &info) == 0 && info.st_mode & 0o777 == 0o600, "made with mode 0600")
    }
    // One after another, so they arrive in this order; a tab and a newline are escaped.
    for text in ["first", "second\twith a tab", "third\nline"] {
      let send = try Tools.ipc("socket", "send", address, text, "--kind", kind.rawValue)
      #expect(send.exitStatus == 0, "\(send.standardError)")
      #expect(send.standardOutput.isEmpty && send.standardError.isEmpty)
    }
    #expect(listener.wait())
    #expect(listener.exitStatus == 0, "\(listener.standardError)")
    #expect(listener.standardOutput == "first\nsecond\\twith a tab\nthird\\nline\n")
    #expect(!TestSockets.isListed(address))
    if byPath { #expect(access(address, F_OK) != 0, "ipc socket listen left \(address)") }
  }

  @Test(arguments: UnixSocketKind.allCases)
  func showPeerPrintsTheSendersPIDAndUID(_ kind: UnixSocketKind) throws {
    let address = TestSockets.nextAbstract()
    let listener = try TestSockets.listen(
      address, ["--kind", kind.rawValue, "--count", "1", "--show-peer", "--timeout", "30"])
    let sender = try SpawnedProcess(Tools.ipc, ["socket", "send", "--kind", kind.rawValue, address, "who"])
    #expect(sender.wait())
    #expect(sender.exitStatus == 0, "\(sender.standardError)")
    #expect(listener.wait())
    #expect(listener.exitStatus == 0, "\(listener.standardError)")
    #expect(listener.standardOutput == "who\t\(sender.pid)\t\(getuid())\n")
  }

  /// Python's socket module on the other side, both ways: a stream message
  /// is a 4-byte little-endian length and the bytes, a seqpacket one the bytes.
  @Test func pythonSendsToIPCAndIPCSendsToPython() throws {
    let stream = TestSockets.nextAbstract()
    let listener = try TestSockets.listen(stream, ["--count", "1", "--timeout", "30"])
    let client = try Python.run(
      """
      import socket, struct
      s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      s.connect("\\0\(stream.dropFirst())")
      payload = "from python".encode()
      s.sendall(struct.pack("<I", len(payload)) + payload)
      """)
    #expect(client.exitStatus == 0, "\(client.standardError)")
    #expect(listener.wait())
    #expect(listener.standardOutput == "from python\n", "\(listener.standardError)")

    let path = TestSockets.nextPath()
    defer { unlink(path) }
    let server = try SpawnedProcess(
      "/usr/bin/env",
      [
        "python3", "-c",
        """
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.bind("\(path)")
        s.listen()
        c, _ = s.accept()
        print(c.recv(4096).decode())
        """,
      ])
    #expect(eventually { TestSockets.isServing(path) })
    let send = try Tools.ipc("socket", "send", path, "from ipc", "--kind", "seqpacket")
    #expect(send.exitStatus == 0, "\(send.standardError)")
    #expect(server.wait())
    #expect(server.standardOutput == "from ipc\n", "\(server.standardError)")
  }

  /// A client that passes descriptors (Python's send_fds): the listener
  /// prints the message, says the descriptors came, and keeps none open.
  @Test(arguments: [UnixSocketKind.stream, .datagram])
  func descriptorsSentToTheListenerAreClosedAndReported(_ kind: UnixSocketKind) throws {
    let address = TestSockets.nextAbstract()
    let listener = try TestSockets.listen(
      address, ["--kind", kind.rawValue, "--count", "2", "--timeout", "30"])
    let type = kind == .datagram ? "SOCK_DGRAM" : "SOCK_STREAM"
    let client = try Python.run(
      """
      import os, socket, struct
      s = socket.socket(socket.AF_UNIX, socket.\(type))
      s.connect("\\0\(address.dropFirst())")
      r, w = os.pipe()
      payload = b"with two descriptors"
      frame = payload if socket.\(type) == socket.SOCK_DGRAM else struct.pack("<I", len(payload)) + payload
      socket.send_fds(s, [frame], [r, w])
      """)
    #expect(client.exitStatus == 0, "\(client.standardError)")
    #expect(eventually { listener.standardOutput == "with two descriptors\n" })
    // The listener holds no pipe: both descriptors were closed on arrival.
    let pipes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(listener.pid)/fd"))?.filter {
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(listener.pid)/fd/\($0)"))?
        .hasPrefix("pipe:") == true
    }
    #expect(pipes == [], "the listener still holds \(pipes ?? [])")
    #expect(try Tools.ipc("socket", "send", "--kind", kind.rawValue, address, "plain").exitStatus == 0)
    #expect(listener.wait())
    #expect(listener.exitStatus == 0, "\(listener.standardError)")
    #expect(listener.standardOutput == "with two descriptors\nplain\n")
    #expect(listener.standardError == "ipc socket listen: 2 descriptors came with the next message; closed\n")
  }

  @Test func aClientThatSaysNothingDoesNotHoldUpTheOthers() throws {
    let address = TestSockets.nextAbstract()
    let listener = try TestSockets.listen(address, ["--count", "1", "--timeout", "30"])
    let silent = try UnixConnection.connect(to: UnixSocketAddress(parsing: address))
    defer { try? silent.close() }
    let send = try Tools.ipc("socket", "send", address, "past the silent one")
    #expect(send.exitStatus == 0, "\(send.standardError)")
    #expect(listener.wait())
    #expect(listener.standardOutput == "past the silent one\n")
  }

  @Test func aClientThatDiesMidMessageIsDroppedAndTheListenerCarriesOn() throws {
    let address = TestSockets.nextAbstract()
    let listener = try TestSockets.listen(address, ["--count", "1", "--timeout", "30"])
    // A frame header announcing 10 bytes, then only 3 of them, then the end.
    let broken = try UnixConnection.connect(to: UnixSocketAddress(parsing: address))
    _ = [UInt8]([10, 0, 0, 0, 65, 66, 67]).withUnsafeBytes {
      write(broken.fileDescriptor, $0.baseAddress, $0.count)
    }
    try broken.close()
    #expect(eventually { listener.standardError.contains("dropped a client") })
    let send = try Tools.ipc("socket", "send", address, "whole")
    #expect(send.exitStatus == 0, "\(send.standardError)")
    #expect(listener.wait())
    #expect(listener.exitStatus == 0, "\(listener.standardError)")
    #expect(listener.standardOutput == "whole\n", "the partial frame is no message")
  }

  @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
  func aSignalEndsTheListenerAndRemovesItsSocketFile(_ signal: Int32) throws {
    let path = TestSockets.nextPath()
    defer { unlink(path) }
    let listener = try TestSockets.listen(path, [])
    #expect(TestSockets.isSocketFile(path))
    kill(listener.pid, signal)
    #expect(listener.wait())
    #expect(listener.terminatingSignal == signal, "ends by the signal, as a shell expects")
    #expect(access(path, F_OK) != 0, "\(path) left behind")
    #expect(listener.standardError == "ipc socket listen: interrupted; removed \(path)\n")
  }

  @Test func aSignalNeverRemovesTheFileOfAListenerThatBoundThePathSince() throws {
    let path = TestSockets.nextPath()
    defer { unlink(path) }
    let first = try TestSockets.listen(path, [])
    unlink(path)  // removed behind its back: another listener may take the path
    // Not TestSockets.listen: the kernel still lists the first socket under the path.
    let second = try SpawnedProcess(Tools.ipc, ["socket", "listen", path])
    #expect(eventually(within: .seconds(20)) { TestSockets.isSocketFile(path) })
    kill(first.pid, SIGTERM)
    #expect(first.wait())
    #expect(first.terminatingSignal == SIGTERM)
    #expect(first.standardError.isEmpty, "it removed nothing")
    #expect(TestSockets.isSocketFile(path), "the second listener's file stays")
    let send = try Tools.ipc("socket", "send", path, "still served")
    #expect(send.exitStatus == 0, "\(send.standardError)")
    #expect(eventually(within: .seconds(20)) { second.standardOutput == "still served\n" })
    kill(second.pid, SIGTERM)
    #expect(second.wait())
    #expect(access(path, F_OK) != 0, "the second listener removes its own file")
  }

  @Test func anArgumentThatIsNotUTF8IsAUsageErrorAndNothingIsMade() throws {
    // Swift would repair the byte 0xFF, and the socket file get another name.
    let run = try SpawnedProcess.run(
      "/bin/sh",
      [
        "-c", "exec \"$0\" socket listen \"$(printf '/tmp/ipc-test-utf8-\\377.sock')\" --timeout 0.1",
        Tools.ipc,
      ])
    #expect(run.exitStatus == 2)
    #expect(run.standardOutput.isEmpty)
    #expect(
      run.standardError
        == "ipc: argument 3 ('/tmp/ipc-test-utf8-\u{FFFD}.sock') is not valid UTF-8; ipc takes names, paths"
        + " and text as UTF-8 (see 'ipc --help')\n")
    #expect(access("/tmp/ipc-test-utf8-\u{FFFD}.sock", F_OK) != 0)
  }

  @Test func listenEndsAtItsTimeoutAndFailsOnlyIfTooFewMessagesCame() throws {
    let quiet = try Tools.ipc("socket", "listen", TestSockets.nextAbstract(), "--timeout", "0.2")
    #expect(quiet.exitStatus == 0, "\(quiet.standardError)")
    #expect(quiet.standardOutput.isEmpty)
    let path = TestSockets.nextPath()
    defer { unlink(path) }
    let short = try Tools.ipc("socket", "listen", path, "--count", "2", "--timeout", "0.2")
    #expect(short.exitStatus == 1)
    #expect(
      short.standardError == "ipc socket listen: timed out after 0.2 seconds with 0 of 2 messages received\n")
    #expect(access(path, F_OK) != 0, "the socket file is removed on a failure too")
  }

  @Test func sendingToNothingFailsWithOneClearLine() throws {
    let abstract = TestSockets.nextAbstract()
    let none = try Tools.ipc("socket", "send", abstract, "hello")
    #expect(none.exitStatus == 1)
    #expect(none.standardError.hasPrefix("ipc socket send: "), "\(none.standardError)")
    #expect(none.standardError.contains(abstract) && none.standardError.contains("[ECONNREFUSED]"))
    #expect(none.standardError.split(separator: "\n").count == 1)

    let missing = TestSockets.nextPath()
    let noFile = try Tools.ipc("socket", "send", missing, "hello")
    #expect(noFile.exitStatus == 1)
    #expect(noFile.standardError.contains("[ENOENT]"), "\(noFile.standardError)")

    // A socket file whose server is gone: nobody listens there.
    let stale = TestSockets.nextPath()
    defer { unlink(stale) }
    let listener = try TestSockets.listen(stale, [])
    kill(listener.pid, SIGKILL)
    #expect(listener.wait())
    #expect(TestSockets.isSocketFile(stale), "SIGKILL leaves the file")
    let refused = try Tools.ipc("socket", "send", stale, "hello")
    #expect(refused.exitStatus == 1)
    #expect(refused.standardError.contains("[ECONNREFUSED]"), "\(refused.standardError)")
    // The next listener reclaims the stale name.
    let next = try Tools.ipc("socket", "listen", stale, "--timeout", "0.1")
    #expect(next.exitStatus == 0, "\(next.standardError)")
    #expect(access(stale, F_OK) != 0)
  }

  @Test func aListenerNeverTakesALiveSocketNorRemovesAFileThatIsNoSocket() throws {
    let path = TestSockets.nextPath()
    defer { unlink(path) }
    let live = try TestSockets.listen(path, ["--count", "1", "--timeout", "30"])
    let second = try Tools.ipc("socket", "listen", path, "--timeout", "1")
    #expect(second.exitStatus == 1)
    #expect(second.standardError.contains("[EEXIST]") || second.standardError.contains("[EADDRINUSE]"))
    // The first still serves its name.
    #expect(try Tools.ipc("socket", "send", path, "still mine").exitStatus == 0)
    #expect(live.wait())
    #expect(live.standardOutput == "still mine\n")

    let file = TestSockets.nextPath()
    defer { unlink(file) }
    #expect(FileManager.default.createFile(atPath: file, contents: Data("keep me".utf8)))
    let onFile = try Tools.ipc("socket", "listen", file, "--timeout", "0.1")
    #expect(onFile.exitStatus == 1)
    #expect(onFile.standardError.split(separator: "\n").count == 1, "\(onFile.standardError)")
    #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me")
  }

  @Test(arguments: [
    (["socket", "send", "/tmp/" + String(repeating: "p", count: 120), "x"], "PATH|@NAME: "),
    (["socket", "listen", "@" + String(repeating: "n", count: 120)], "108"),
    (["socket", "listen", ""], "PATH|@NAME: "),
    (["socket", "listen", "@"], "PATH|@NAME: "),
    (
      ["socket", "listen", "@x", "--kind", "raw"], "--kind: expected stream, seqpacket or datagram, got 'raw'"
    ),
    (["socket", "listen", "@x", "--count", "0"], "--count: expected a number of messages from 1 to"),
    (["socket", "listen", "@x", "--timeout", "-1"], "--timeout: expected a number of seconds"),
    (["socket", "send", "@x"], "missing"),
    (["socket", "send", "@x", "a", "b"], "unexpected argument 'b'"),
    (["socket", "send", "@x", "a", "--show-peer"], "unknown option --show-peer"),
    (["socket", "frob"], "unknown subcommand 'frob'"),
  ])
  func badInputIsOneLineNamingTheMistake(_ arguments: [String], _ mistake: String) throws {
    let run = try SpawnedProcess.run(Tools.ipc, arguments)
    expectUsageError(run, arguments, mentioning: mistake)
  }

  @Test func listShowsTheListenersOfThisUserWithTheirPIDs() throws {
    let path = TestSockets.nextPath()
    defer { unlink(path) }
    let abstract = TestSockets.nextAbstract() + "\u{1B}[31m"
    let byPath = try TestSockets.listen(path, ["--timeout", "30", "--count", "1"])
    let byName = try TestSockets.listen(abstract, ["--kind", "seqpacket", "--timeout", "30", "--count", "1"])
    let lines = try Tools.ipcLines("list", "--sockets")
    #expect(lines.first?.hasPrefix("------ Unix sockets (") == true)
    #expect(lines.dropFirst().first?.split(separator: " ") == ["ADDRESS", "KIND", "STATE", "PIDS"])
    let words = lines.map { $0.split(separator: " ").map(String.init) }
    #expect(words.contains([path, "stream", "listening", "\(byPath.pid)"]), "\(lines)")
    // A name's control characters are shown escaped, as every name in ipc list.
    let shown = abstract.replacing("\u{1B}", with: "\\u{1B}")
    #expect(words.contains([shown, "seqpacket", "listening", "\(byName.pid)"]), "\(lines)")
    let json = try Tools.ipc("list", "--sockets", "--json")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
    let rows = try #require(object["unix_sockets"] as? [[String: Any]])
    let row = try #require(rows.first { $0["address"] as? String == path })
    #expect(row["kind"] as? String == "stream" && row["state"] as? String == "listening")
    #expect(row["pids"] as? [Int] == [Int(byPath.pid)])
    for (listener, address) in [(byPath, path), (byName, abstract)] {
      #expect(
        try Tools.ipc("socket", "send", address, "bye", "--kind", address == path ? "stream" : "seqpacket")
          .exitStatus == 0)
      #expect(listener.wait())
    }
    let after = try Tools.ipc("list", "--sockets").standardOutput
    #expect(!after.contains(path) && !after.contains(shown))
  }
}
