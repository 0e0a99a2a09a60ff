import Foundation
import IPC
import Testing

/// `ipc socket listen` against clients that misbehave, between real
/// processes: one that stalls inside a frame holds up neither the other
/// clients nor `--timeout`; running out of descriptors while clients pile up
/// is reported and outlived.
@Suite("ipc socket listen under load")
struct SocketListenRobustnessTests {
  /// A client sends a frame's header and one byte of its five, then stalls:
  /// another client's message is printed meanwhile, and the first one's is
  /// printed whole once its last bytes come.
  @Test func aClientStalledInsideAFrameHoldsUpNoOtherClient() throws {
    let name = TestSockets.nextAbstract()
    let listener = try TestSockets.listen(name, ["--count", "2", "--timeout", "30"])
    let staller = try UnixConnection.connect(to: UnixSocketAddress(parsing: name))
    defer { try? staller.close() }
    #expect(staller.sendRaw([5, 0, 0, 0] + Array("s".utf8)))
    // The listener has read them: nothing the staller sent is left unread.
    #expect(eventually { staller.unreadBytes == 0 })
    let second = try Tools.ipc("socket", "send", name, "second client")
    #expect(second.exitStatus == 0, "\(second.standardError)")
    #expect(
      eventually { listener.standardOutput == "second client\n" },
      "the second client's message waited behind a stalled frame")
    #expect(staller.sendRaw(Array("tall".utf8)))
    let ended = listener.wait(upTo: .seconds(20))
    #expect(ended && listener.exitStatus == 0, "\(listener.standardError)")
    #expect(listener.standardOutput == "second client\nstall\n")
  }

  /// `--timeout` ends the listener on time while a client is stalled inside
  /// a frame (after 2 header bytes, and after a header and part of a payload).
  @Test(arguments: [[UInt8(7), 0], [10, 0, 0, 0, 1, 2]])
  func theTimeoutHoldsWhileAClientStallsInsideAFrame(partial: [UInt8]) throws {
    let name = TestSockets.nextAbstract()
    let listener = try TestSockets.listen(name, ["--timeout", "1"])
    let staller = try UnixConnection.connect(to: UnixSocketAddress(parsing: name))
    defer { try? staller.close() }
    let start = ContinuousClock.now
    #expect(staller.sendRaw(partial))
    let ended = listener.wait(upTo: .seconds(10))
    #expect(ended, "ipc socket listen --timeout 1 was still running 10 s later (stopped by SIGTERM)")
    #expect(ContinuousClock.now - start < .seconds(8))
    #expect(listener.exitStatus == 0, "\(listener.standardError)")
    #expect(listener.standardOutput.isEmpty)
  }

  /// With `ulimit -n 12` the listener runs out of descriptors while more
  /// clients connect than it can hold: it says so on stderr (once, not once
  /// per retry), keeps running, and serves new clients once those are gone.
  @Test func runningOutOfDescriptorsIsReportedAndTheListenerCarriesOn() throws {
    let name = TestSockets.nextAbstract()
    let listener = try SpawnedProcess(
      "/bin/sh",
      ["-c", "ulimit -n 12 && exec \"$0\" socket listen \"$1\" --count 1 --timeout 60", Tools.ipc, name])
    defer { _ = listener.wait(upTo: .zero) }
    #expect(eventually(within: .seconds(20)) { TestSockets.isServing(name) }, "\(listener.standardError)")
    let address = try UnixSocketAddress(parsing: name)
    var crowd: [UnixConnection] = []
    defer { for client in crowd { try? client.close() } }
    for _ in 0..<20 { crowd.append(try UnixConnection.connect(to: address, timeout: .seconds(10))) }
    #expect(
      eventually { listener.standardError.contains("[EMFILE]") },
      "no report of the exhaustion: \(listener.standardError)")
    // The listener backs off rather than spinning on the pending connections.
    let before = try cpuTicks(of: listener.pid)
    Thread.sleep(forTimeInterval: 1)
    #expect(
      try cpuTicks(of: listener.pid) - before < 10, "the listener spins while it has no descriptor left")
    for client in crowd { try client.close() }
    crowd = []
    let send = try Tools.ipc("socket", "send", name, "after the crowd", "--timeout", "10")
    #expect(send.exitStatus == 0, "\(send.standardError)")
    let ended = listener.wait(upTo: .seconds(30))
    #expect(ended && listener.exitStatus == 0, "\(listener.standardError)")
    #expect(listener.standardOutput == "after the crowd\n")
    let reports = listener.standardError.split(separator: "\n")
    #expect(
      reports.count == 1 && reports[0].hasPrefix("ipc socket listen: ") && reports[0].contains("accept4"),
      "\(listener.standardError)")
  }
}

extension SocketListenRobustnessTests {
  /// A datagram with more descriptors than the listener has room for
  /// (`ulimit -n 6`): they are cut off (MSG_CTRUNC), the datagram is
  /// dropped with one line on stderr, and the listener prints the next one.
  @Test func aDatagramWhoseDescriptorsAreCutOffIsDroppedAndTheListenerCarriesOn() throws {
    let name = TestSockets.nextAbstract()
    let listener = try SpawnedProcess(
      "/bin/sh",
      [
        "-c", "ulimit -n 6 && exec \"$0\" socket listen \"$1\" --kind datagram --count 1 --timeout 60",
        Tools.ipc, name,
      ])
    defer { _ = listener.wait(upTo: .zero) }
    #expect(eventually(within: .seconds(20)) { TestSockets.isServing(name) }, "\(listener.standardError)")
    let client = try Python.run(
      """
      import os, socket
      s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
      s.connect("\\0\(name.dropFirst())")
      r, w = os.pipe()
      socket.send_fds(s, [b"with four descriptors"], [r, w, r, w])
      s.send(b"plain")
      """)
    #expect(client.exitStatus == 0, "\(client.standardError)")
    let ended = listener.wait(upTo: .seconds(30))
    #expect(ended && listener.exitStatus == 0, "\(listener.standardError)")
    #expect(listener.standardOutput == "plain\n")
    let reports = listener.standardError.split(separator: "\n")
    #expect(reports.count == 1 && reports[0].contains("MSG_CTRUNC"), "\(listener.standardError)")
  }
}
