import Foundation
import IPC
import Synchronization
import Testing

/// Kernel functions a thread blocked in `msgrcv` or `msgsnd` sleeps in
/// (/proc/PID/task/TID/wchan).
let msgrcvWaitChannels: Set<String> = ["do_msgrcv"]
let msgsndWaitChannels: Set<String> = ["do_msgsnd"]

/// How many of this process's library waiting threads (named `ipc-wait`)
/// sleep in one of `channels` now.
func waitingThreadsBlocked(inAnyOf channels: Set<String>) -> Int {
  threadsBlocked(inAnyOf: channels, named: "ipc-wait")
}

/// How many threads of this process (named `name`, if given) sleep in one of
/// `channels` now.
func threadsBlocked(inAnyOf channels: Set<String>, named name: String? = nil) -> Int {
  let tasks = "/proc/self/task"
  let threads = (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? []
  return threads.count { thread in
    if let name {
      let comm = try? String(contentsOfFile: "\(tasks)/\(thread)/comm", encoding: .utf8)
      guard comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name else { return false }
    }
    let wchan = try? String(contentsOfFile: "\(tasks)/\(thread)/wchan", encoding: .utf8)
    return wchan.map(channels.contains) ?? false
  }
}

/// Runs `start` (which begins an async call in a task) and waits until one
/// more waiting thread than before sleeps in `channels`: proof that the call
/// was handed to a waiting thread and blocks in the kernel, without guessing
/// with sleeps. Returns what `start` returned and whether the thread blocked.
func startBlocked<T>(in channels: Set<String>, _ start: () -> T) async -> (T, blocked: Bool) {
  let before = waitingThreadsBlocked(inAnyOf: channels)
  let started = start()
  let blocked = await eventually { waitingThreadsBlocked(inAnyOf: channels) > before }
  return (started, blocked)
}

/// Whether `result` is the error an async form throws when its task is cancelled.
func endedCancelled<T>(_ result: Result<T, any Error>) -> Bool {
  guard case .failure(let error as IPCError) = result else { return false }
  return error.code == .cancelled
}

/// The IPCError of a failed `result`, if it is one.
func ipcError<T>(_ result: Result<T, any Error>) -> IPCError? {
  guard case .failure(let error as IPCError) = result else { return nil }
  return error
}

/// Sends `text` with message type `type` to `queue` from another process
/// (`ipc msg send`), and expects it to succeed.
func sendFromAnotherProcess(
  _ queue: SystemV.MessageQueue, type: Int, _ text: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let sender = try Tools.ipc("msg", "send", "--id", "\(queue.id)", "--type", "\(type)", "--", text)
  #expect(sender.exitStatus == 0, "\(sender.standardError)", sourceLocation: sourceLocation)
}

/// One round of a cancellation racing an arrival: starts the task `start`
/// makes, then sends and cancels it, varying by `round` what comes first and
/// where the task is: blocked in the kernel on a waiting thread (`channels`),
/// just started, or not started yet. In even rounds `send` runs on a thread
/// of its own, so it truly races the cancel. Returns the task, for its outcome.
func racing<T: Sendable>(
  _ round: Int, in channels: Set<String>, _ start: () -> Task<T, any Error>,
  send: @escaping @Sendable () throws -> Void
) async throws -> Task<T, any Error> {
  let task: Task<T, any Error>
  switch round % 4 {
  case 0, 1:
    (task, _) = await startBlocked(in: channels, start)
  case 2:
    task = start()
    await Task.yield()
  default:
    task = start()
  }
  if round % 2 == 0 {
    let outcome = Mutex<Result<Void, any Error>?>(nil)
    let sender = Thread { outcome.withLock { $0 = Result { try send() } } }
    sender.start()
    usleep(UInt32(round % 7) * 20)
    task.cancel()
    #expect(await eventually { outcome.withLock { $0 != nil } })
    try outcome.withLock { $0 }?.get()
  } else {
    task.cancel()
    try send()
  }
  return task
}
