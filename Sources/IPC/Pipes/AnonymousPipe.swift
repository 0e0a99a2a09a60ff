import CIPCShims
import Glibc

/// Pipes without a name: a process makes one and hands an end to a child it
/// starts (``PipeEnd/addDuplication(to:as:)``), or to another thread.
///
///     let (reader, writer) = try AnonymousPipe.make()      // one way
///     let (left, right) = try AnonymousPipe.duplex()       // both ways
///
/// Both descriptors of each pair are close-on-exec: a child started by
/// `posix_spawn` or `exec` gets only the ends that are handed to it on
/// purpose, so the reader sees the end of the stream once the real writers
/// are done.
public enum AnonymousPipe {
  /// Makes a one-way pipe: bytes written to `writer` come out of `reader`.
  ///
  /// The corresponding C call is `pipe2(fds, O_CLOEXEC)`.
  ///
  /// - Throws: an error with code `EMFILE` or `ENFILE` when the process or the
  ///   system has too many open files.
  public static func make() throws(IPCError) -> (reader: PipeEnd, writer: PipeEnd) {
    var fds: [Int32] = [-1, -1]
    if case .failure(let code) = once({ cipc_pipe2(&fds, O_CLOEXEC) }) {
      throw IPCError(
        code: code, operation: "pipe2", object: "anonymous pipe", reason: tooManyFiles(code))
    }
    return (
      PipeEnd(adopting: fds[0], direction: .reading, kind: .anonymous),
      PipeEnd(adopting: fds[1], direction: .writing, kind: .anonymous)
    )
  }

  /// Makes a duplex pipe: two connected ends, each of which reads what the
  /// other writes, like Python's `multiprocessing.Pipe()`.
  ///
  /// It is a Unix-domain stream socket pair, so ``PipeEnd/send(_:)-(UnsafeRawBufferPointer)``
  /// and `PipeEnd/receive()` work as on a pipe; writes use `MSG_NOSIGNAL`,
  /// so a closed peer is an error, never a `SIGPIPE`. The corresponding C call
  /// is `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)`.
  public static func duplex() throws(IPCError) -> (PipeEnd, PipeEnd) {
    var fds: [Int32] = [-1, -1]
    let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    if case .failure(let code) = once({ socketpair(AF_UNIX, type, 0, &fds) }) {
      throw IPCError(
        code: code, operation: "socketpair", object: "duplex pipe", reason: tooManyFiles(code))
    }
    return (
      PipeEnd(adopting: fds[0], direction: .both, kind: .socket),
      PipeEnd(adopting: fds[1], direction: .both, kind: .socket)
    )
  }

  private static func tooManyFiles(_ code: IPCError.Code) -> String? {
    switch code.rawValue {
    case EMFILE: "this process has as many open files as it may (see ulimit -n)"
    case ENFILE: "the system has as many open files as it may (see /proc/sys/fs/file-max)"
    default: nil
    }
  }
}
