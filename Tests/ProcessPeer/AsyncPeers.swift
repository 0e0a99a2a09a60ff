import Glibc
import IPC

// The other side of the async suites (POSIXQueueAsyncTests,
// SharedMutexAsyncTests): plain blocking code in a process of its own, so
// the test process's cooperative pool (which exit tests may hold) never has
// to run for these peers to make progress.

/// A pause of up to `micros` microseconds, at random.
private func randomPause(upTo micros: UInt32) { usleep(UInt32.random(in: 0...micros)) }

/// The async suites' entry points, merged into the peer's others.
func asyncPeers() -> [String: EntryPoints.Body] {
  [
    "async-mq-send": { context in
      // arguments: NAME MODE TEXT...; MODE "one-by-one": each text 20 ms after
      // the queue was found empty (so every receive of the parent waits);
      // "random": after a pause of up to 2 ms, so the parent finds the queue
      // empty about as often as not. A text "T@P" has priority P.
      let arguments = context.arguments
      guard arguments.count >= 2 else { exit(64) }
      let queue = try POSIX.MessageQueue.open(arguments[0], access: .readWrite)
      for item in arguments.dropFirst(2) {
        let parts = item.split(separator: "@", maxSplits: 1).map(String.init)
        if arguments[1] == "one-by-one" {
          while try queue.attributes().currentMessages > 0 { usleep(1_000) }
          usleep(20_000)
        } else {
          randomPause(upTo: 2_000)
        }
        try queue.send(Array(parts[0].utf8), priority: parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
      }
    },
    "async-mq-drain": { context in
      // arguments: NAME MODE; receives until a text starting with "end" and
      // prints each text on a line. MODE "slow": 20 ms before each receive;
      // "random": up to 0.4 ms.
      let arguments = context.arguments
      guard arguments.count == 2 else { exit(64) }
      let queue = try POSIX.MessageQueue.open(arguments[0], access: .readOnly)
      while true {
        if arguments[1] == "slow" { usleep(20_000) } else { randomPause(upTo: 400) }
        let text = try queue.receive().text
        say(text)
        if text.hasPrefix("end") { return }
      }
    },
    "async-mutex": { context in
      // arguments: SHM-NAME MODE, on the layout of SharedMutexAsyncTests:
      // mutex at 0, condition at 64; Int32 flags at 256 (held) and 260
      // (release); the guarded Int64 at 264.
      let arguments = context.arguments
      guard arguments.count == 2 else { exit(64) }
      let region = try POSIX.SharedMemory.open(arguments[0]).map()
      let mutex = try region.mutex(at: 0)
      // Opened only where used: some tests make no condition.
      func condition() throws -> SharedCondition { try region.condition(at: 64) }
      func hold() throws {
        guard try mutex.lock() == .acquired else { exit(3) }
        try region.atomicStore(Int32(1), at: 256)
      }
      switch arguments[1] {
      case "hold-a-while":
        // Holds it 0.1 s, writes 41 last, releases.
        try hold()
        usleep(100_000)
        try region.store(Int64(41), at: 264)
        try mutex.unlock()
      case "hold-until-released":
        // Holds it until the parent sets 260 to 1; once the parent's last
        // withLock is over (260 = 2), checks it can take it at once: nothing the
        // parent's timed-out wait did kept it. (Checking right after the unlock
        // raced the parent's waiting withLock, which takes it first.)
        try hold()
        while try region.atomicLoad(Int32.self, at: 260) == 0 { usleep(1_000) }
        usleep(20_000)
        try mutex.unlock()
        while try region.atomicLoad(Int32.self, at: 260) != 2 { usleep(1_000) }
        guard try mutex.tryLock() == .acquired else { exit(4) }
        try mutex.unlock()
      case "try-lock":
        guard try mutex.tryLock() == .acquired else { exit(4) }
        try mutex.unlock()
      case "die-holding":
        // Dies half-way through an update (-1: "in progress"), 50 ms after taking it.
        try hold()
        try region.store(Int64(-1), at: 264)
        usleep(50_000)
        kill(getpid(), SIGKILL)
      case "die-after-signal":
        // Once the parent waits on the condition (flag 256, which its predicate
        // sets), takes the mutex the wait released, sets 7, signals, and dies holding it.
        while try region.atomicLoad(Int32.self, at: 256) == 0 { usleep(1_000) }
        usleep(20_000)
        guard try mutex.lock() == .acquired else { exit(3) }
        try region.store(Int64(7), at: 264)
        try condition().signal()
        kill(getpid(), SIGKILL)
      case "count-to-three":
        // Sets 1, 2, 3 under the mutex, 30 ms apart, broadcasting each.
        for value in Int64(1)...3 {
          usleep(30_000)
          guard try mutex.lock() == .acquired else { exit(3) }
          try region.store(value, at: 264)
          try mutex.unlock()
          try condition().broadcast()
        }
      default:
        exit(64)
      }
    },
  ]
}
