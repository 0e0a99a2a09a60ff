import Foundation
import IPC
import Testing

extension SupervisorTests {
  /// The ids and names the peer's "supervise" entry point prints once its
  /// children block, and the children's pids.
  struct Supervised {
    var queue: Int32
    var set: Int32
    var posixQueue: String
    var fifo: String
    var children: [pid_t]

    init?(_ output: String) {
      var fields: [String: String] = [:]
      for pair in output.split(separator: "\n").first?.split(separator: " ") ?? [] {
        let parts = pair.split(separator: "=", maxSplits: 1)
        if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
      }
      guard let queue = fields["queue"].flatMap({ Int32($0) }),
        let set = fields["set"].flatMap({ Int32($0) }),
        let posixQueue = fields["mq"], let fifo = fields["fifo"], let children = fields["children"]
      else { return nil }
      (self.queue, self.set, self.posixQueue, self.fifo) = (queue, set, posixQueue, fifo)
      self.children = children.split(separator: ",").compactMap { pid_t($0) }
    }

    var objectsGone: Bool {
      !systemVExists(queue, in: "msg") && !systemVExists(set, in: "sem") && access(fifo, F_OK) != 0
        && (try? POSIX.MessageQueue.open(posixQueue)) == nil
    }

    /// Removes whatever is left, so a failed test leaves nothing behind.
    func removeLeftovers() {
      msgctl(queue, IPC_RMID, nil)
      try? SystemV.SemaphoreSet.open(id: set).remove()
      try? POSIX.MessageQueue.unlink(posixQueue)
      unlink(fifo)
      for pid in children { kill(pid, SIGKILL) }
    }
  }

  /// Starts the peer's supervising parent with children blocked on a System
  /// V queue, a semaphore set, a POSIX queue, a FIFO and a pipe.
  /// `ownGroup`: the parent leads a process group of its own, its children
  /// in it, as a terminal's foreground job (then `kill(-pid, ...)` reaches all).
  func startSupervisingParent(_ arguments: [String] = [], ownGroup: Bool = false) throws -> (
    parent: ChildProcess, output: OutputFile, supervised: Supervised
  ) {
    let output = OutputFile()
    let errors = OutputFile()
    let parent = try ChildProcess.start(
      entryPoint: "supervise", arguments: [Tools.testPeer] + arguments, standardInput: .null,
      standardOutput: .write(to: output.path), standardError: .write(to: errors.path),
      newProcessGroup: ownGroup, executable: Tools.testPeer)
    guard output.waitFor("children="), let supervised = Supervised(output.text) else {
      try? parent.kill()
      throw SpawnFailure(message: "the supervising parent never started: \(errors.text)")
    }
    // Each child is blocked in its call (or about to be): the lifeline must reach them there.
    usleep(200_000)
    return (parent, output, supervised)
  }
}
