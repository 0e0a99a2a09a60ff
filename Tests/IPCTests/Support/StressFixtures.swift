import Foundation
import IPC
import Testing

/// Reading what `ipc stress` printed, and checking that the objects it
/// named are gone.
enum StressOutput {
  /// One row of the table, by its column names.
  struct Row {
    var cells: [String: String]
    func number(_ column: String) -> Int? { cells[column].flatMap { Int($0) } }
  }

  static let columns = [
    "mechanism", "sent", "received", "lost", "in-flight-at-kill", "duplicated", "reordered", "corrupted",
    "kills", "signals", "caught", "leftovers", "seconds",
  ]

  /// The table's rows, by mechanism.
  static func rows(_ output: String) -> [String: Row] {
    let lines = output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    guard let header = lines.firstIndex(where: { $0 == columns }) else { return [:] }
    var rows: [String: Row] = [:]
    for words in lines[(header + 1)...] where words.count == columns.count && words[0].last != ":" {
      rows[words[0]] = Row(cells: Dictionary(uniqueKeysWithValues: zip(columns, words)))
    }
    return rows
  }

  /// The objects the run said it made: "System V segment 5", "POSIX queue /…", "FIFO /tmp/…".
  static func objects(_ output: String) -> [String] {
    output.split(separator: "\n").flatMap { line -> [String] in
      guard line.hasPrefix("stress "), let made = line.range(of: ": made ") else { return [] }
      return line[made.upperBound...].components(separatedBy: " and ").filter { !$0.hasPrefix("an ") }
    }
  }

  /// Whether the object named as the run names it still exists.
  static func exists(_ object: String) throws -> Bool {
    if let id = systemVID(object) {
      let table = object.hasPrefix("System V segment") ? "shm" : "msg"
      return try procText("/proc/sysvipc/\(table)").split(separator: "\n").dropFirst().contains {
        $0.split(separator: " ").dropFirst().first == "\(id)"
      }
    }
    if object.hasPrefix("POSIX queue /") {
      return FileManager.default.fileExists(atPath: "/dev/mqueue/" + object.dropFirst("POSIX queue /".count))
    }
    if object.hasPrefix("FIFO /") {
      var info = stat()
      return lstat(String(object.dropFirst("FIFO ".count)), &info) == 0
    }
    Issue.record("unknown object '\(object)'")
    return false
  }

  /// Checks that every object the run named is gone, and removes any that is
  /// not. A segment removed while children of an interrupted run still have
  /// it attached lasts until they have died with their parent: a moment.
  static func expectGone(_ output: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    _ = eventually(within: .seconds(10)) { objects(output).allSatisfy { (try? exists($0)) == false } }
    for object in objects(output) where try exists(object) {
      Issue.record("\(object) left behind", sourceLocation: sourceLocation)
      remove(object)
    }
  }

  /// Removes what a failed run may have left.
  static func remove(_ object: String) {
    if let id = systemVID(object) {
      if object.hasPrefix("System V segment") {
        try? SystemV.SharedMemory.open(id: id).remove()
      } else {
        try? SystemV.MessageQueue.open(id: id).remove()
      }
    } else if object.hasPrefix("POSIX queue ") {
      try? POSIX.MessageQueue.unlink(String(object.dropFirst("POSIX queue ".count)))
    } else if object.hasPrefix("FIFO ") {
      unlink(String(object.dropFirst("FIFO ".count)))
    }
  }

  /// The id in "System V segment 5" or "System V queue 7 …"; nil for other objects.
  static func systemVID(_ object: String) -> Int32? {
    let words = object.split(separator: " ")
    guard object.hasPrefix("System V "), words.count >= 4 else { return nil }
    return Int32(words[3])
  }
}
