import Glibc
import IPC
import IPCToolSupport

// What a command creates is meant to outlive it, as with ipcmk: no owner
// record, so `ipc clean` never takes it for a dead process's leftover. (The
// children of a demo make none either: the demo removes its objects itself.
// `ipc stress` turns them back on for its temporary objects.)
OwnerRecords.isEnabled = false

// Then: a child that `ipc demo` started becomes its role here and
// never returns; in any other process this only records the names.
EntryPoints(
  DemoCommand.entryPoints.merging(BoundedBufferDemo.entryPoints) { first, _ in first }
    .merging(SignalsDemo.entryPoints) { first, _ in first }
    .merging(StressCommand.entryPoints) { first, _ in first }
).runIfChild()

// A reader that has gone makes a write fail with EPIPE, reported like any
// failed write, instead of killing the command with SIGPIPE mid-output.
// (Children it starts get the default disposition back: posix_spawn SETSIGDEF.)
signal(SIGPIPE, SIG_IGN)

/// The commands of `ipc`, in the order its help lists them.
let commands: [(name: String, abstract: String, run: ([String]) -> Int32)] = [
  ("list", ListCommand.command.spec.abstract, ListCommand.command.run),
  ("limits", LimitsCommand.command.spec.abstract, LimitsCommand.command.run),
  ("clean", CleanCommand.command.spec.abstract, CleanCommand.command.run),
  ("msg", MessageCommand.group.abstract, MessageCommand.group.run),
  ("mq", POSIXQueueCommand.group.abstract, POSIXQueueCommand.group.run),
  ("sem", SemaphoreCommand.group.abstract, SemaphoreCommand.group.run),
  ("psem", POSIXSemaphoreCommand.group.abstract, POSIXSemaphoreCommand.group.run),
  ("shm", SharedMemoryCommand.group.abstract, SharedMemoryCommand.group.run),
  ("fifo", FifoCommand.group.abstract, FifoCommand.group.run),
  ("signal", SignalCommand.command.abstract, SignalCommand.command.run),
  ("socket", SocketCommand.group.abstract, SocketCommand.group.run),
  ("demo", DemoCommand.command.spec.abstract, DemoCommand.main),
  ("stress", StressCommand.command.spec.abstract, StressCommand.command.run),
]

let topHelp =
  ([
    "usage: ipc <command> [options]", "", "  Inspect and use the Linux IPC objects of this machine.", "",
    "commands:",
  ]
  + HelpText.table(commands.map { ($0.name, $0.abstract) })
  + [""]
  + HelpText.wrap(
    "Every kind of object is made with 'create', which fails if it exists unless --open-existing is given,"
      + " and removed with 'remove' ('unlink' is accepted as another spelling).", indent: 0)
  + [
    "Run 'ipc <command> --help' for a command's subcommands and options.",
    "Exit status: 0 success, 1 failure, 2 usage error.",
  ]).joined(separator: "\n")

// Swift repairs argument bytes that are not UTF-8 (as U+FFFD), so such a
// path or name would silently become another: refuse it, naming it. (argc
// may be 0 for a program started with an empty argv.)
let notUTF8 = (1..<max(1, Int(CommandLine.argc))).first { index in
  CommandLine.unsafeArgv[index].map { String(validatingCString: $0) == nil } ?? false
}
if let index = notUTF8 {
  let shown = UsageError.shown(CommandLine.arguments[index])
  Output.error(
    UsageError("argument \(index) ('\(shown)') is not valid UTF-8; ipc takes names, paths and text as UTF-8")
      .line(in: "ipc"))
  exit(ExitStatus.usage)
}
let words = Array(CommandLine.arguments.dropFirst())
var status: Int32
if let first = words.first, let command = commands.first(where: { $0.name == first }) {
  status = command.run(Array(words.dropFirst()))
} else if words.first == "help"
  || (words.first.map { $0.hasPrefix("-") } ?? false && CommandSpec.wantsHelp(words))
{
  Output.line(topHelp)
  status = ExitStatus.success
} else {
  let problem =
    switch words.first {
    case nil: "missing command"
    case let word? where word.hasPrefix("-"): "unknown option \(UsageError.shown(word))"
    case let word?: "unknown command '\(UsageError.shown(word))'"
    }
  Output.error(UsageError(problem).line(in: "ipc"))
  status = ExitStatus.usage
}
// Any output that could not be written makes the run a failure, said once.
if let reason = Output.failedWrite.withLock({ $0 }), status == ExitStatus.success {
  Output.error("ipc: cannot write to standard output: \(reason)")
  status = ExitStatus.failure
}
exit(status)
