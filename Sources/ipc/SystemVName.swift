import IPC
import IPCToolSupport

/// A System V object as given on the command line: `--id I`, `--key K`, or
/// `--path P --project N`; opened only after every argument was checked.
enum SystemVName {
  case id(Int32)
  case key(KeyName)

  /// The object named by the options; a usage error if none is, or they conflict.
  /// `kind` names the object in messages ("queue", "semaphore set").
  static func parse(_ parsed: ParsedArguments, kind: String) throws(UsageError) -> SystemVName {
    guard let name = try parseIfGiven(parsed) else {
      throw UsageError("missing the \(kind): name it with --key K, --id I, or --path P --project N")
    }
    return name
  }

  /// The object named by the options, nil if none of them is given.
  static func parseIfGiven(_ parsed: ParsedArguments) throws(UsageError) -> SystemVName? {
    let key = try KeyName.parse(parsed)
    switch (parsed[CommonOptions.id], key) {
    case (let id?, nil): return .id(id)
    case (nil, let key?): return .key(key)
    case (nil, nil): return nil
    case (_?, _?): throw UsageError("--id: give either --id or a key, not both")
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

/// A key as given on the command line; `ftok` runs only when it is resolved.
enum KeyName {
  case key(SystemV.Key)
  case file(String, Int)

  /// The key given by `--key K` or `--path P --project N`, if any.
  static func parse(_ parsed: ParsedArguments) throws(UsageError) -> KeyName? {
    switch (parsed[CommonOptions.key], parsed[CommonOptions.path], parsed[CommonOptions.project]) {
    case (let key?, nil, nil): return .key(key)
    case (_?, _, _): throw UsageError("--key: give either --key or --path/--project, not both")
    case (nil, let path?, let project?): return .file(path, project)
    case (nil, _?, nil): throw UsageError("--path: needs --project N (a project id from 1 to 255)")
    case (nil, nil, _?): throw UsageError("--project: needs --path P")
    case (nil, nil, nil): return nil
    }
  }

  func resolve() throws(IPCError) -> SystemV.Key {
    switch self {
    case .key(let key): key
    case .file(let path, let project): try SystemV.Key(path: path, projectID: project)
    }
  }
}
