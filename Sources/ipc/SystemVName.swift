import IPC

/// A System V object as given on the command line: `--id I`, `--key K`, or
/// `--path P --project N`; opened only after every argument was checked.
enum SystemVName {
  case id(Int32)
  case key(KeyName)

  /// Takes the object's name from `arguments`; a usage error if it is
  /// missing, malformed, or given twice. `kind` names the object in messages
  /// ("queue", "semaphore set").
  static func parse(_ arguments: inout Arguments, kind: String) throws -> SystemVName {
    guard let name = try parseIfGiven(&arguments, kind: kind) else {
      throw UsageError("name the \(kind) with --key K, --id I, or --path P --project N")
    }
    return name
  }

  /// Takes the object's name from `arguments` if one is given there: nil if
  /// none of its options are, a usage error if they are malformed.
  static func parseIfGiven(_ arguments: inout Arguments, kind: String) throws -> SystemVName? {
    let idText = try arguments.option("--id")
    let key = try MessageCommand.keyOption(&arguments)
    switch (idText, key) {
    case (let idText?, nil):
      guard let id = Int32(idText), id >= 0 else {
        throw UsageError("--id needs a \(kind) id (a whole number ≥ 0), not '\(idText)'")
      }
      return .id(id)
    case (nil, let key?):
      return .key(key)
    case (nil, nil):
      return nil
    default:
      throw UsageError("give either --id or a key, not both")
    }
  }

  /// Opens the message queue.
  func openQueue() throws(IPCError) -> SystemV.MessageQueue {
    switch self {
    case .id(let id): try SystemV.MessageQueue.open(id: id)
    case .key(let key): try SystemV.MessageQueue.open(key: key.resolve())
    }
  }

  /// Opens the semaphore set without waiting for it to be initialised, so
  /// sets made by tools that never run a `semop` (`ipcmk -S`, Python, C) are usable.
  func openSemaphoreSet() throws(IPCError) -> SystemV.SemaphoreSet {
    switch self {
    case .id(let id): try SystemV.SemaphoreSet.open(id: id)
    case .key(let key): try SystemV.SemaphoreSet.open(key: key.resolve())
    }
  }

  /// Opens the shared memory segment, whatever its size.
  func openSharedMemory() throws(IPCError) -> SystemV.SharedMemory {
    switch self {
    case .id(let id): try SystemV.SharedMemory.open(id: id)
    case .key(let key): try SystemV.SharedMemory.open(key: key.resolve())
    }
  }
}
