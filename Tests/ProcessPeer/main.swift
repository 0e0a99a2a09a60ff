import Glibc
import IPC

// ipc-test-peer: entry points the process tests start with
// ChildProcess.start(entryPoint:executable:), each a small real behaviour.

/// One line to standard output, flushed: the tests read it while the peer runs.
func say(_ text: String) {
  print(text)
  fflush(nil)
}

/// What was handed: each name, the kind the peer opened it as, and its description.
func describeHanded(_ context: ChildContext) throws {
  for name in context.names {
    if let queue = try? context.open(name, as: SystemV.MessageQueue.self) {
      say("\(name): SystemV.MessageQueue \(queue.id)")
    } else if let set = try? context.open(name, as: SystemV.SemaphoreSet.self) {
      say("\(name): SystemV.SemaphoreSet \(set.id)")
    } else if let memory = try? context.open(name, as: SystemV.SharedMemory.self) {
      say("\(name): SystemV.SharedMemory \(memory.id)")
    } else if let queue = try? context.open(name, as: POSIX.MessageQueue.self) {
      say("\(name): POSIX.MessageQueue \(queue.name) \(queue.access)")
    } else if let semaphore = try? context.open(name, as: POSIX.Semaphore.self) {
      say("\(name): POSIX.Semaphore \(semaphore.name)")
    } else if let memory = try? context.open(name, as: POSIX.SharedMemory.self) {
      say("\(name): POSIX.SharedMemory \(memory.name)")
    } else if let pipe = try? context.open(name, as: NamedPipe.self) {
      say("\(name): NamedPipe \(pipe.path)")
    } else if let end = try? context.open(name, as: PipeEnd.self) {
      say("\(name): PipeEnd \(end.direction)")
    } else {
      say("\(name): unknown")
    }
  }
}

/// Open descriptors of this process, from /proc/self/fd (the directory's own excluded).
func openDescriptors() -> [Int32] {
  guard let directory = opendir("/proc/self/fd") else { return [] }
  defer { closedir(directory) }
  let own = dirfd(directory)
  var result: [Int32] = []
  while let entry = readdir(directory) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) {
      String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
    }
    if let number = Int32(name), number != own { result.append(number) }
  }
  return result.sorted()
}

/// A field of /proc/self/status, such as `SigBlk`.
func statusField(_ field: String) -> String {
  guard let file = fopen("/proc/self/status", "r") else { return "" }
  defer { fclose(file) }
  var line = [CChar](repeating: 0, count: 512)
  while fgets(&line, Int32(line.count), file) != nil {
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if text.hasPrefix(field + ":") {
      return text.dropFirst(field.count + 1).trimmingPrefix { $0 == " " || $0 == "\t" }.filter { $0 != "\n" }
    }
  }
  return ""
}

let bodies: [String: EntryPoints.Body] = [
  "exit": { context in exit(Int32(context.arguments.first ?? "0") ?? 0) },
  "return": { _ in },
  "async-at-descriptor-limit": asyncAtDescriptorLimit,
  "async-at-thread-limit": asyncAtThreadLimit,
  "async-with-the-wake-signal-taken": asyncWithTheWakeSignalTaken,
  "pool-safety": poolSafety,
  "signal-drain": signalDrain,
  "signal-count": signalCount,
  "binary-coder-echo": binaryCoderEcho,
  "bitwise-coder-echo": bitwiseCoderEcho,
  "channel-produce": channelProduce,
  "channel-idle-consumer": channelIdleConsumer,
  "channel-loan-produce": channelLoanProduce,
  "channel-loan-hang": channelLoanHang,
  "channel-produce-then-idle": channelProduceThenIdle,
  "channel-consume": channelConsume,
  "signal-spawn-mask": signalSpawnMask,
  "signal-async": signalAsync,
  "throw": { _ in
    throw IPCError(code: .invalidArgument, operation: "peer", object: "test", reason: "thrown on purpose")
  },
  "raise": { context in
    // A signal by number: SIGSEGV to see a core-dump flag (cores are off), SIGKILL...
    signal(Int32(context.arguments.first ?? "9") ?? 9, SIG_DFL)
    raise(Int32(context.arguments.first ?? "9") ?? 9)
  },
  "describe": describeHanded,
  "arguments": { context in say(context.arguments.joined(separator: "|")) },
  "environment": { context in
    for name in context.arguments { say("\(name)=\(getenv(name).map { String(cString: $0) } ?? "<unset>")") }
    var buffer = [CChar](repeating: 0, count: 4096)
    say("cwd=\(getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? "?")")
  },
  "descriptors": { _ in say(openDescriptors().map(String.init).joined(separator: " ")) },
  "signals": { _ in
    // Blocked and ignored signals, as hex masks, and the handler-installed ones.
    say("blocked=\(statusField("SigBlk")) ignored=\(statusField("SigIgn")) caught=\(statusField("SigCgt"))")
  },
  "sleep": { context in
    say("sleeping \(getpid())")
    sleep(UInt32(context.arguments.first ?? "60") ?? 60)
  },
  "pipe-echo": { context in
    // Reads frames from "in" and writes them back on "out" until the end of the stream.
    let input: PipeEnd = try context.open("in")
    let output: PipeEnd = try context.open("out")
    while let frame = try input.receive() { try output.send(frame) }
  },
  "block-queue": { context in
    let queue = try context.open("queue", as: SystemV.MessageQueue.self)
    say("blocking on queue \(queue.id)")
    _ = try queue.receive()
  },
  "block-posix-queue": { context in
    let queue = try context.open("queue", as: POSIX.MessageQueue.self)
    say("blocking on queue \(queue.name)")
    _ = try queue.receive()
  },
  "block-semaphore": { context in
    let set = try context.open("set", as: SystemV.SemaphoreSet.self)
    say("blocking on set \(set.id)")
    try set.wait(0)
  },
  "block-pipe": { context in
    let end: PipeEnd = try context.open("in")
    say("blocking on a pipe")
    _ = try end.receive()
  },
  "block-fifo": { context in
    let fifo = try context.open("fifo", as: NamedPipe.self)
    let reader = try fifo.openForReading(nonBlocking: true)
    let keep = try fifo.openForWriting()  // the stream never ends by itself
    say("blocking on fifo \(fifo.path)")
    _ = try reader.receive()
    try keep.close()
  },
  "open-as": { context in
    // arguments: NAME TYPE; prints what opening NAME as TYPE gives.
    let name = context.arguments.first ?? ""
    do {
      switch context.arguments.dropFirst().first {
      case "sysv-queue": say("opened \(try context.open(name, as: SystemV.MessageQueue.self))")
      case "sysv-set": say("opened \(try context.open(name, as: SystemV.SemaphoreSet.self))")
      case "pipe-end": say("opened \(try context.open(name, as: PipeEnd.self))")
      default: say("opened \(try context.open(name, as: POSIX.MessageQueue.self))")
      }
    } catch {
      say("error: \(error)")
    }
  },
  "stubborn": { _ in
    // Ignores SIGTERM: only the supervisor's SIGKILL ends it.
    signal(SIGTERM, SIG_IGN)
    say("stubborn \(getpid())")
    while true { sleep(60) }
  },
  "spawn-orphan": { context in
    // Starts a sleeper that does not die with this process, prints its pid, returns.
    let child = try ChildProcess.start(
      entryPoint: "sleep", arguments: ["30"], standardOutput: .null, diesWithParent: false,
      executable: context.arguments.first)
    say("orphan \(child.pid)")
  },
  "exit-early": { _ in
    // Exits while its group runs: the exit handler must stop the group's
    // child (a plain program, no lifeline) and remove the queue.
    let supervisor = try Supervisor()
    let queue = try supervisor.removeWhenFinished(SystemV.MessageQueue.create())
    let child = try ChildProcess.start(executable: "sleep", arguments: ["300"], in: supervisor)
    say("queue=\(queue.id) child=\(child.pid)")
    exit(0)
  },
  "supervise": { context in
    // A parent of its own: makes one object of each blocking kind, registers
    // them, starts a child blocked on each, prints the ids and pids, then waits.
    // arguments: EXECUTABLE [stop [held]]: the policy for SIGINT/SIGTERM/SIGHUP;
    // "held": SIGINT stays blocked here until the children have died of it.
    let policy: Supervisor.SignalPolicy = context.arguments.dropFirst().first == "stop" ? .stop : .stopAndExit
    let held = context.arguments.dropFirst(2).first == "held"
    var interrupt = sigset_t()
    sigemptyset(&interrupt)
    sigaddset(&interrupt, SIGINT)
    if held { pthread_sigmask(SIG_BLOCK, &interrupt, nil) }
    let supervisor = try Supervisor(onSignal: policy)
    let queue = try SystemV.MessageQueue.create()
    try supervisor.removeWhenFinished(queue)
    let set = try SystemV.SemaphoreSet.create(values: [0])
    try supervisor.removeWhenFinished(set)
    let name = "/ipc-test-peer-\(getpid())"
    let posixQueue = try POSIX.MessageQueue.create(name, maxMessages: 4, messageSize: 64)
    try supervisor.removeWhenFinished(posixQueue)
    let fifo = try NamedPipe.create(at: "/tmp/ipc-test-peer-\(getpid()).fifo")
    try supervisor.removeWhenFinished(fifo)
    let (reader, writer) = try AnonymousPipe.make()
    let executable = context.arguments.first ?? "/proc/self/exe"
    var pids: [String] = []
    for (entry, handed) in [
      ("block-queue", ["queue": queue as any Inheritable]), ("block-semaphore", ["set": set]),
      ("block-posix-queue", ["queue": posixQueue]), ("block-fifo", ["fifo": fifo]),
      ("block-pipe", ["in": reader]),
    ] {
      let child = try ChildProcess.start(
        entryPoint: entry, handing: handed, standardOutput: .null, executable: executable, in: supervisor)
      pids.append("\(child.pid)")
    }
    try reader.close()
    say(
      "queue=\(queue.id) set=\(set.id) mq=\(name) fifo=\(fifo.path) children=\(pids.joined(separator: ","))")
    if held {
      // The children die of a group's SIGINT while this process has not
      // taken its own yet: the watcher must not count them as failures.
      var pending = sigset_t()
      repeat {
        usleep(1_000)
        sigpending(&pending)
      } while sigismember(&pending, SIGINT) != 1
      usleep(50_000)
      pthread_sigmask(SIG_UNBLOCK, &interrupt, nil)
    }
    let outcome = supervisor.wait()
    say("outcome: \(outcome)")
    try writer.close()
    exit(outcome.exitCode)
  },
]
let entryPoints = EntryPoints(
  bodies.merging(asyncPeers()) { first, _ in first }.merging(socketPeers()) { first, _ in first })

if CommandLine.arguments.dropFirst().first == "--without-entry-points" {
  // A program that forgot runIfChild(): starting an entry point must fail here.
  do {
    _ = try ChildProcess.start(entryPoint: "return")
    say("started")
  } catch {
    say("\(error)")
  }
  exit(0)
}
if CommandLine.arguments.dropFirst().first == "--create-objects", CommandLine.arguments.count == 3 {
  // For the cleanup tests: one object of every kind made through the
  // library (so each has an owner record), then wait to be killed.
  let prefix = CommandLine.arguments[2]
  do {
    let queue = try SystemV.MessageQueue.create()
    let set = try SystemV.SemaphoreSet.create(values: [1, 0])
    let memory = try SystemV.SharedMemory.create(size: 4096)
    _ = try POSIX.MessageQueue.create(prefix + "-mq", maxMessages: 4, messageSize: 64)
    _ = try POSIX.Semaphore.create(prefix + "-sem", value: 1)
    _ = try POSIX.SharedMemory.create(prefix + "-shm", size: 4096)
    say("msg=\(queue.id) sem=\(set.id) shm=\(memory.id)")
  } catch {
    say("failed: \(error)")
    exit(1)
  }
  while true { pause() }
}
entryPoints.runIfChild()
say("ipc-test-peer: run me through ChildProcess.start(entryPoint:executable:)")
exit(2)
