import Glibc

// Linux's standard signals by name, as `signal(7)` lists them.
extension UnixSignal {
  /// `SIGHUP`: the controlling terminal closed; daemons take it as "reload".
  public static let hangup = UnixSignal(unchecked: SIGHUP)
  /// `SIGINT`: interrupt from the keyboard (Ctrl-C).
  public static let interrupt = UnixSignal(unchecked: SIGINT)
  /// `SIGQUIT`: quit from the keyboard (Ctrl-\), with a core dump.
  public static let quit = UnixSignal(unchecked: SIGQUIT)
  /// `SIGILL`: an illegal instruction.
  public static let illegalInstruction = UnixSignal(unchecked: SIGILL)
  /// `SIGTRAP`: a trace or breakpoint trap.
  public static let trap = UnixSignal(unchecked: SIGTRAP)
  /// `SIGABRT`: `abort()` was called.
  public static let abort = UnixSignal(unchecked: SIGABRT)
  /// `SIGBUS`: a bad memory access, such as past the end of a shrunk mapping.
  public static let busError = UnixSignal(unchecked: SIGBUS)
  /// `SIGFPE`: an arithmetic fault, such as integer division by zero.
  public static let floatingPointException = UnixSignal(unchecked: SIGFPE)
  /// `SIGKILL`: ends the process at once; it cannot be caught, blocked or ignored.
  public static let kill = UnixSignal(unchecked: SIGKILL)
  /// `SIGUSR1`: for the program's own use.
  public static let user1 = UnixSignal(unchecked: SIGUSR1)
  /// `SIGSEGV`: an invalid memory reference.
  public static let segmentationFault = UnixSignal(unchecked: SIGSEGV)
  /// `SIGUSR2`: for the program's own use.
  public static let user2 = UnixSignal(unchecked: SIGUSR2)
  /// `SIGPIPE`: a write to a pipe or socket with no reader.
  public static let brokenPipe = UnixSignal(unchecked: SIGPIPE)
  /// `SIGALRM`: a timer set by `alarm()` expired.
  public static let alarm = UnixSignal(unchecked: SIGALRM)
  /// `SIGTERM`: a polite request to end (what `kill` sends by default).
  public static let terminate = UnixSignal(unchecked: SIGTERM)
  /// `SIGSTKFLT`: a coprocessor stack fault (unused on Linux).
  public static let stackFault = UnixSignal(unchecked: SIGSTKFLT)
  /// `SIGCHLD`: a child stopped or ended.
  public static let child = UnixSignal(unchecked: SIGCHLD)
  /// `SIGCONT`: continue if stopped.
  public static let `continue` = UnixSignal(unchecked: SIGCONT)
  /// `SIGSTOP`: stops the process; it cannot be caught, blocked or ignored.
  public static let stop = UnixSignal(unchecked: SIGSTOP)
  /// `SIGTSTP`: stop from the keyboard (Ctrl-Z).
  public static let terminalStop = UnixSignal(unchecked: SIGTSTP)
  /// `SIGTTIN`: a background process read from its terminal.
  public static let terminalInput = UnixSignal(unchecked: SIGTTIN)
  /// `SIGTTOU`: a background process wrote to its terminal.
  public static let terminalOutput = UnixSignal(unchecked: SIGTTOU)
  /// `SIGURG`: urgent data on a socket.
  public static let urgent = UnixSignal(unchecked: SIGURG)
  /// `SIGXCPU`: the CPU time limit (`RLIMIT_CPU`) was exceeded.
  public static let cpuLimit = UnixSignal(unchecked: SIGXCPU)
  /// `SIGXFSZ`: the file size limit (`RLIMIT_FSIZE`) was exceeded.
  public static let fileSizeLimit = UnixSignal(unchecked: SIGXFSZ)
  /// `SIGVTALRM`: a virtual (user CPU time) timer expired.
  public static let virtualAlarm = UnixSignal(unchecked: SIGVTALRM)
  /// `SIGPROF`: a profiling timer expired.
  public static let profilingAlarm = UnixSignal(unchecked: SIGPROF)
  /// `SIGWINCH`: the terminal window changed size.
  public static let windowChange = UnixSignal(unchecked: SIGWINCH)
  /// `SIGIO` (`SIGPOLL`): I/O is possible on a descriptor.
  public static let io = UnixSignal(unchecked: SIGIO)
  /// `SIGPWR`: power failure.
  public static let power = UnixSignal(unchecked: SIGPWR)
  /// `SIGSYS`: a bad system call (also what seccomp sends).
  public static let badSystemCall = UnixSignal(unchecked: SIGSYS)
}
