import CIPCShims
import Foundation
import Glibc
import IPC
import Testing

/// A Python process that binds sockets with names of its choosing in a
/// directory (its working directory), says `ready(NAME)` (NAME as a JSON
/// line on its standard output) and then waits to be stopped.
enum ListingPeer {
  static func start(in directory: String, _ body: String) throws -> SpawnedProcess {
    let prelude = """
      import json, os, socket, sys, time
      def ready(name):
          print(json.dumps(name), flush=True)
          time.sleep(120)

      """
    return try SpawnedProcess("/usr/bin/env", ["python3", "-c", prelude + body], workingDirectory: directory)
  }

  /// The name the peer said it is ready with.
  static func ready(_ peer: SpawnedProcess) throws -> String {
    guard eventually(within: .seconds(20), { peer.standardOutput.hasSuffix("\n") }) else {
      throw SpawnFailure(message: "the Python peer never became ready: \(peer.standardError)")
    }
    let line = Data(peer.standardOutput.utf8)
    guard let name = try JSONSerialization.jsonObject(with: line, options: .fragmentsAllowed) as? String
    else {
      throw SpawnFailure(message: "the Python peer said \(peer.standardOutput)")
    }
    return name
  }
}

/// Raw access to a connection's socket, for clients that break the rules.
extension UnixConnection {
  /// Sends `bytes` as they are, outside any frame; true if all went.
  func sendRaw(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { Glibc.send(fileDescriptor, $0.baseAddress, $0.count, 0) } == bytes.count
  }

  /// The bytes sent here that the peer has not read yet (SIOCOUTQ); -1 if unknown.
  var unreadBytes: Int32 {
    var count: Int32 = -1
    return ioctl(fileDescriptor, UInt(TIOCOUTQ), &count) == 0 ? count : -1
  }
}

/// The user and system CPU time of process `pid` so far, in clock ticks
/// (fields 14 and 15 of /proc/PID/stat).
func cpuTicks(of pid: pid_t) throws -> Int {
  let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
  // After the command name in parentheses the fields start at the third, the state.
  let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
  return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
}

/// Leaves a stale socket file at `path`: a socket bound there and closed,
/// as a server that died leaves it (connecting to it is refused).
func leaveStaleSocketFile(at path: String) throws {
  let fd = cipc_unix_socket(0, false)
  guard fd >= 0 else {
    throw IPCError(code: IPCError.Code(rawValue: errno), operation: "socket", object: path)
  }
  defer { close(fd) }
  guard path.withCString({ cipc_unix_bind(fd, $0, path.utf8.count, false, 0o600) }) == 0 else {
    throw IPCError(code: IPCError.Code(rawValue: errno), operation: "bind", object: path)
  }
}
