import IPC

/// The library's errors in the command line's words: where the library says
/// which call to make, the CLI says which command to run.
enum ErrorText {
  /// `error` as one line, its advice rephrased for a user of `ipc`.
  static func describe(_ error: IPCError) -> String {
    let reason = rewrite(error.reason, with: advice(for: error))
    let act =
      methodActs[error.operation].map { "\($0) \(error.object)" } ?? "\(error.operation) on \(error.object)"
    return "\(act) failed: \(reason) [\(error.code.name)]"
  }

  /// What the library's operations named after a Swift method (not a C call)
  /// do, in the CLI's words (`write` is also write(2), so it stays).
  static let methodActs = ["bytes": "reading", "load": "reading", "store": "writing"]

  /// `text` with each phrase of `rules` replaced by its rewrite, scanning the
  /// original text once: where phrases start at the same place the first rule
  /// wins, and a rewrite is never matched again (one rule's output may hold
  /// another's phrase).
  static func rewrite(_ text: String, with rules: [(String, String)]) -> String {
    var result = ""
    var rest = text[...]
    while true {
      var earliest: (range: Range<Substring.Index>, replacement: String)?
      for (phrase, replacement) in rules {
        guard let range = rest.firstRange(of: phrase) else { continue }
        if let found = earliest, found.range.lowerBound <= range.lowerBound { continue }
        earliest = (range, replacement)
      }
      guard let earliest else { return result + rest }
      result += rest[..<earliest.range.lowerBound] + earliest.replacement
      rest = rest[earliest.range.upperBound...]
    }
  }

  /// Pairs of the library's advice and the command's, for this error.
  static func advice(for error: IPCError) -> [(String, String)] {
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
      ("(raise it with setMaxBytes)", "(it is set when the queue is made: ipc msg create --max-bytes N)"),
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
      (" read-write; try readOnly: true", " for writing; this user may only read it (ipc shm read)"),
      ("map it with readOnly: true, or open it read-write", "it may only be read (ipc shm read)"),
      (
        "open it with open(key:), or remove it first",
        "give --open-existing and its count to open it, or remove it first"
      ),
      ("open it with its size, or call resize(to:)", "give --open-existing and its size to open it"),
      ("open it .writeOnly or .readWrite", "open it for sending"),
      ("open it .readOnly or .readWrite", "open it for receiving"),
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
