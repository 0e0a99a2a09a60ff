import Foundation
import IPC
import Testing

extension BoundedBufferDemoTests {
  /// The segment and set ids in "bounded-buffer: made shared memory segment
  /// 5 (… bytes) and semaphore set 7 (…); starting …".
  func objectIDs(_ output: String) -> (memory: Int32, semaphores: Int32)? {
    guard let first = output.split(separator: "\n").first, first.hasPrefix("bounded-buffer: made") else {
      return nil
    }
    let words = first.split(separator: " ").map(String.init)
    func number(after phrase: [String]) -> Int32? {
      let index = (0...(words.count - phrase.count)).first {
        Array(words[$0..<($0 + phrase.count)]) == phrase
      }
      return index.flatMap { Int32(words[$0 + phrase.count]) }
    }
    guard let memory = number(after: ["memory", "segment"]), let set = number(after: ["semaphore", "set"])
    else {
      return nil
    }
    return (memory, set)
  }

  /// Whether the kernel still lists `id` in /proc/sysvipc/`table` (`shm` or `sem`).
  func listed(_ id: Int32, in table: String) throws -> Bool {
    let text = try procText("/proc/sysvipc/\(table)")
    return text.split(separator: "\n").dropFirst().contains { line in
      line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "\(id)"
    }
  }

  /// Checks that neither object of the run whose output is `output` exists any more.
  func expectRemoved(_ output: String) throws {
    let ids = try #require(objectIDs(output))
    #expect(try !listed(ids.memory, in: "shm"), "segment \(ids.memory) left behind")
    #expect(try !listed(ids.semaphores, in: "sem"), "semaphore set \(ids.semaphores) left behind")
  }

  /// Removes the run's objects if they are still there, so a failed test leaves nothing behind.
  func removeLeftovers(_ output: String) {
    guard let ids = objectIDs(output) else { return }
    try? SystemV.SemaphoreSet.open(id: ids.semaphores).remove()
    try? SystemV.SharedMemory.open(id: ids.memory).remove()
  }

  /// "consumer 1: 1479, consumer 2: 1521" from the totals line, in order.
  func consumedPerConsumer(_ output: String) -> [Int] {
    guard let line = output.split(separator: "\n").first(where: { $0.contains("bounded-buffer: produced") }),
      let open = line.firstIndex(of: "("), let lastOpen = line.lastIndex(of: "("), open != lastOpen,
      let close = line.lastIndex(of: ")")
    else { return [] }
    return line[line.index(after: lastOpen)..<close].split(separator: ",").compactMap { part in
      part.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }
  }

  /// Starts a run long enough to interrupt (millions of items through one
  /// slot: several seconds) and returns it once all its children are
  /// running, with their pids.
  func startLongRun() throws -> (SpawnedProcess, [pid_t]) {
    let demo = try SpawnedProcess(
      Tools.ipc,
      [
        "demo", "bounded-buffer", "--producers", "2", "--consumers", "3", "--items", "2000000", "--slots",
        "1",
      ])
    var children: [pid_t] = []
    let started = eventually(within: .seconds(20)) {
      children = DemoProcesses.children(of: demo.pid)
      return objectIDs(demo.standardOutput) != nil && children.count == 5
    }
    guard started else { throw SpawnFailure(message: "the run never got going: \(demo.standardError)") }
    usleep(100_000)  // let items flow, so the signal lands mid-way
    return (demo, children)
  }
}
