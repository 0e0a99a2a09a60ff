import Glibc
import IPC
import IPCToolSupport

/// `ipc clean`: the objects the library made whose creator has exited and
/// that nothing uses now, listed, and removed with --yes.
enum CleanCommand {
  static let yes = Flag(
    "--yes", help: "remove the stale objects listed (without it nothing is removed)")
  static let verbose = Flag(
    "--verbose",
    help: "also list the objects kept and why: creator unknown (no owner record) or still running, in use")
  static let allUsers = Flag(
    "--all-users", help: "every user's objects, not only this user's (root only; otherwise a usage error)")
  static let creator = Option<Int32>(
    "--creator", valueName: "PID", expecting: "a process id from 1 to \(Int32.max)",
    help: "only the objects (and records) whose recorded creator is process PID"
  ) { text in wholeNumber(text, as: Int32.self).flatMap { $0 > 0 ? $0 : nil } }

  static let command = Command(
    "ipc clean",
    abstract: "list the IPC objects whose creator has exited and that nothing uses; remove them with --yes",
    options: [yes, verbose, allUsers, creator],
    discussion: """
      Only objects created through the IPC library are ever removed: it writes an owner record for each (/dev/shm/.ipc-owners-UID/KIND.ID-OR-NAME: creator pid and start time), and removing an object through the library deletes it. Objects made by ipcmk, C, Python or the create commands of ipc itself (which, like ipcmk, make objects meant to outlive the command) have no record and are never removed; --verbose lists them as "creator unknown".
      An object is stale when its creator has exited (or its pid now names a later process) and nothing uses it: no attachment (System V shared memory), no running last sender or receiver (System V queue), no waiter and no running last user (System V semaphores), no process holding it open or mapped (POSIX, from /proc/PID/fd and /proc/PID/maps). A process this user may not inspect might hold any POSIX object, so as a user other than root POSIX objects are kept while another user's process runs. A record whose object was removed by other means (ipcrm, rm, Python) is stale too: only the record is deleted.
      Everything is checked again just before each removal; a process that opens the object in the few system calls between keeps what it opened.
      Exit status: 0 success (also when nothing is stale), 1 a removal failed (each named on stderr), 2 usage error.
      """, body: run)

  private static func run(_ parsed: ParsedArguments) throws {
    let everyone = parsed[allUsers]
    if everyone && geteuid() != 0 {
      throw UsageError("--all-users: only root may look at or remove other users' objects")
    }
    let pid = parsed[creator]
    let found = try CleanupCandidate.survey(allUsers: everyone, includingKept: parsed[verbose])
      .filter { pid == nil || $0.creator == pid }
    let stale = found.filter(\.verdict.isStale)
    let kept = found.filter { !$0.verdict.isStale }.map { ($0, $0.verdict) }
    guard parsed[yes] else {
      table("stale objects, not removed (run with --yes to remove them)", stale.map { ($0, $0.verdict) })
        .forEach(Output.line)
      if parsed[verbose] { table("objects kept", kept).forEach(Output.line) }
      return
    }
    var failures: [String] = []
    var removed: [(CleanupCandidate, CleanupCandidate.Verdict)] = []
    // Those a check just before removal found in use again.
    var keptNow: [(CleanupCandidate, CleanupCandidate.Verdict)] = []
    for candidate in stale {
      do {
        let verdict = try candidate.remove()
        if verdict.isStale {
          removed.append((candidate, verdict))
        } else {
          keptNow.append((candidate, verdict))
        }
      } catch {
        failures.append("cannot remove \(candidate.description): \(ErrorText.describe(error))")
      }
    }
    table("removed", removed).forEach(Output.line)
    if !keptNow.isEmpty || parsed[verbose] {
      table("objects kept", keptNow + kept).forEach(Output.line)
    }
    failures.forEach { Output.error("ipc clean: \(UsageError.shown($0))") }
    if !failures.isEmpty {
      throw CommandFailure("\(failures.count) of \(stale.count) stale objects not removed")
    }
  }

  /// A titled table of `candidates`, as `ipc list` prints its kinds.
  private static func table(_ title: String, _ candidates: [(CleanupCandidate, CleanupCandidate.Verdict)])
    -> [String]
  {
    let rows = candidates.map { candidate, verdict -> [Cell] in
      let object: Cell =
        if let name = candidate.name {
          .text(name)
        } else {
          .text("id \(candidate.id.map { "\($0)" } ?? "?") key \(candidate.key.map { "\($0)" } ?? "?")")
        }
      return [
        .text(candidate.kind.rawValue), object, .text(MessageCommand.userName(candidate.owner)),
        candidate.creator.map { .number(Int($0)) } ?? .unknown, .text(verdict.description),
      ]
    }
    return Section(title: title, columns: ["KIND", "OBJECT", "OWNER", "CREATOR", "WHY"], rows: rows).lines
  }
}
