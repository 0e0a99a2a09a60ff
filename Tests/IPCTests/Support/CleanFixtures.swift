import Foundation
import Testing

@testable import IPC

/// One object of every kind made through the library by a peer process
/// (`ipc-test-peer --create-objects PREFIX`, as root or as nobody), so each
/// has an owner record naming that process; the cleanup tests kill it.
final class LeftObjects {
  let creator: SpawnedProcess
  let prefix: String
  let uid: uid_t
  private(set) var queue: Int32 = -1
  private(set) var set: Int32 = -1
  private(set) var segment: Int32 = -1

  var pid: Int32 { creator.pid }
  var queueName: String { prefix + "-mq" }
  var semaphoreName: String { prefix + "-sem" }
  var sharedMemoryName: String { prefix + "-shm" }

  /// Starts the creator and waits for it to have made every object; the
  /// POSIX names end with `nameEnding`.
  init(asNobody: Bool = false, nameEnding: String = "") throws {
    prefix = TestNames.next("ipc-test-clean") + nameEnding
    uid = asNobody ? 65534 : geteuid()
    let arguments = ["--create-objects", prefix]
    creator =
      asNobody
      ? try SpawnedProcess(
        "/usr/bin/setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", Tools.testPeer] + arguments)
      : try SpawnedProcess(Tools.testPeer, arguments)
    let creator = self.creator
    guard eventually(within: .seconds(30), { creator.standardOutput.hasSuffix("\n") }) else {
      throw SpawnFailure(message: "the creator said nothing: \(creator.standardError)")
    }
    let fields = Dictionary(
      creator.standardOutput.split(whereSeparator: \.isWhitespace).compactMap { field in
        let parts = field.split(separator: "=")
        return parts.count == 2 ? (String(parts[0]), Int32(parts[1]) ?? -1) : nil
      }
    ) { first, _ in first }
    guard let queue = fields["msg"], let set = fields["sem"], let segment = fields["shm"] else {
      throw SpawnFailure(message: "the creator failed: \(creator.standardOutput) \(creator.standardError)")
    }
    (self.queue, self.set, self.segment) = (queue, set, segment)
  }

  /// Ends the creator with SIGKILL: it removes nothing.
  func killCreator() {
    kill(pid, SIGKILL)
    creator.wait()
  }

  /// How `ipc clean` names each object in its OBJECT column (with what
  /// follows, so id 12 is not found in id 123).
  var shownNames: [String] {
    [
      "id \(queue) key", "id \(set) key", "id \(segment) key", queueName + " ", semaphoreName + " ",
      sharedMemoryName + " ",
    ]
  }

  /// The objects that exist now, as ``shownNames`` names them.
  var existing: [String] {
    var found: [String] = []
    if (try? SystemV.MessageQueue.open(id: queue)) != nil { found.append(shownNames[0]) }
    if (try? SystemV.SemaphoreSet.open(id: set)) != nil { found.append(shownNames[1]) }
    if (try? SystemV.SharedMemory.open(id: segment)) != nil { found.append(shownNames[2]) }
    if access("/dev/mqueue" + queueName, F_OK) == 0 { found.append(shownNames[3]) }
    if access("/dev/shm/sem." + semaphoreName.dropFirst(), F_OK) == 0 { found.append(shownNames[4]) }
    if access("/dev/shm" + sharedMemoryName, F_OK) == 0 { found.append(shownNames[5]) }
    return found
  }

  /// The kinds and identities of the objects' owner records.
  var recordNames: [(String, String)] {
    [
      ("sysv-msg", "\(queue)"), ("sysv-sem", "\(set)"), ("sysv-shm", "\(segment)"),
      ("posix-mq", String(queueName.dropFirst())), ("posix-sem", String(semaphoreName.dropFirst())),
      ("posix-shm", String(sharedMemoryName.dropFirst())),
    ]
  }

  /// The owner records of these objects that exist now, by kind.
  var records: [String] {
    recordNames.compactMap { kind, identity in
      OwnerRecords.record(kind: kind, identity: identity, of: uid) != nil ? kind : nil
    }
  }

  /// Removes whatever is left of the objects and their records, for a test
  /// that failed (or kept them on purpose); the creator is killed first.
  func removeAll() {
    if creator.exitStatus == nil && creator.terminatingSignal == nil { killCreator() }
    try? SystemV.MessageQueue(validatedID: queue).remove()
    try? SystemV.SemaphoreSet(id: set, count: 0).remove()
    try? SystemV.SharedMemory(id: segment, size: 0).remove()
    try? POSIX.MessageQueue.unlink(queueName)
    try? POSIX.Semaphore.unlink(semaphoreName)
    try? POSIX.SharedMemory.unlink(sharedMemoryName)
    // The library's removal deletes this user's records; another user's are deleted here.
    for (kind, identity) in recordNames { OwnerRecords.forget(kind: kind, identity: identity, of: uid) }
  }
}

/// The line of `output` that shows the object `shown` (see ``LeftObjects/shownNames``), or "".
func line(showing shown: String, in output: String) -> String {
  output.split(separator: "\n").first { $0.contains(shown) }.map(String.init) ?? ""
}

/// The rows of `ipc clean`'s table whose title starts with `title` (without its header).
func section(_ title: String, of output: String) -> String {
  var lines: [Substring] = []
  var inside = false
  for line in output.split(separator: "\n") {
    if line.hasPrefix("------ ") {
      inside = line.hasPrefix("------ " + title)
    } else if inside && !line.hasPrefix("KIND ") {
      lines.append(line)
    }
  }
  return lines.joined(separator: "\n")
}
