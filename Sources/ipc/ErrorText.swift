import IPC

/// The library's errors in the command line's words: where the library says
/// which call to make, the CLI says which command to run.
enum ErrorText {
  /// `error` as one line, its advice rephrased for a user of `ipc`.
  static func describe(_ error: IPCError) -> String {
    var reason = error.reason
    for (library, command) in advice(for: error) where reason.contains(library) {
      reason = reason.replacing(library, with: command)
    }
    return "\(error.operation) on \(error.object) failed: \(reason) [\(error.code.name)]"
  }

  /// Pairs of the library's advice and the command's, for this error.
  private static func advice(for error: IPCError) -> [(String, String)] {
    let key = word(after: "for key ", in: error.reason) ?? "K"
    let name = word(after: "is named ", in: error.reason) ?? "NAME"
    let path = word(after: "nothing exists at ", in: error.reason) ?? "PATH"
    return [
      ("create it first with MessageQueue.create(key:)", "create it first (ipc msg create --key \(key))"),
      (
        "create it first with SemaphoreSet.create(key:values:)",
        "create it first (ipc sem create --key \(key))"
      ),
      ("create it first with Semaphore.create", "create it first (ipc psem create \(name))"),
      ("create it first with MessageQueue.create", "create it first (ipc mq create \(name))"),
      (
        "create the FIFO first (NamedPipe.create(at:) or mkfifo)",
        "create the FIFO first (ipc fifo create \(path))"
      ),
      ("(raise it with setMaxBytes)", "(raise it with ipc msg create --open-existing --max-bytes N)"),
      ("set when it was created (its messageSize)", "set when it was created (ipc mq create --message-size)"),
      (
        "start the reader first, or open without nonBlocking to wait for one",
        "start the reader first (ipc fifo receive), or send without --nowait to wait for one"
      ),
      (
        "open it with NamedPipe.open(at:), or remove it first",
        "give --open-existing to open it, or remove it first"
      ),
      ("(pass a larger buffer, or truncating: true to cut it)", "(give --truncate to take it cut to msgmax)"),
      (
        "give it a size with resize(to:) first",
        "give it a size first (ftruncate; ipc shm create makes it with one)"
      ),
      ("open it, or remove it first", "give --open-existing to open it, or remove it first"),
      ("open it, or unlink it first", "give --open-existing to open it, or remove it first"),
    ]
  }

  /// The word after `marker` in `text`, without a trailing `;` or `,`.
  private static func word(after marker: String, in text: String) -> String? {
    guard let range = text.firstRange(of: marker) else { return nil }
    let rest = text[range.upperBound...]
    let word = rest.prefix { $0 != " " && $0 != ";" && $0 != "," }
    return word.isEmpty ? nil : String(word)
  }
}
