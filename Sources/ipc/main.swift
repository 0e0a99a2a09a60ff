import Glibc
import IPC

// First of all: a child that `ipc demo` started becomes its role here and
// never returns; in any other process this only records the names.
EntryPoints(DemoCommand.entryPoints.merging(BoundedBufferDemo.entryPoints) { first, _ in first }).runIfChild()

let topUsage = """
  usage: ipc <command> [options]

  Inspect and use the Linux IPC objects of this machine.

  commands:
    list        list queues, semaphores and shared memory, System V (like ipcs) and POSIX
    msg         System V message queues: create, send, receive, peek, stat, remove
    mq          POSIX message queues: create, send, receive, stat, unlink
    sem         System V semaphore sets: create, op (atomic P/V), get, set, stat, remove
    psem        POSIX named semaphores: create, wait (P), post (V), value, unlink
    shm         shared memory, System V segments and POSIX objects: create, read,
                write, stat, remove
    fifo        named pipes (FIFOs): create, send, receive, remove
    demo        the classic sender / batch sender / receiver walk-through

  Run `ipc <command> --help` for a command's options.
  Exit status: 0 success, 1 failure, 2 usage error.
  """

var arguments = Arguments(CommandLine.arguments.dropFirst())
let status: Int32
switch arguments.subcommand() {
case "list": status = ListCommand.main(arguments)
case "msg": status = MessageCommand.main(arguments)
case "mq": status = POSIXQueueCommand.main(arguments)
case "sem": status = SemaphoreCommand.main(arguments)
case "psem": status = POSIXSemaphoreCommand.main(arguments)
case "shm": status = SharedMemoryCommand.main(arguments)
case "fifo": status = FifoCommand.main(arguments)
case "demo": status = DemoCommand.main(arguments)
case "help": Output.line(topUsage); status = ExitStatus.success
case nil where arguments.wantsHelp: Output.line(topUsage); status = ExitStatus.success
case nil:
  Output.error(topUsage)
  status = ExitStatus.usage
case let other?:
  Output.error("ipc: unknown command '\(other)'\n\n\(topUsage)")
  status = ExitStatus.usage
}
exit(status)
