import Foundation
import IPC
import Synchronization

/// Where the CLI fuzz test may make, change and remove objects: keys, POSIX
/// names and a directory unique to this test process, with one fixture
/// object of every kind that the fuzzed commands name most of the time.
///
/// Everything the fuzz can name is in here: System V keys from ``TestKeys``
/// (and the keys `ftok` makes from the sandbox's key file), ids of the
/// fixtures only, POSIX names that start with ``namePrefix``, and paths in
/// ``directory`` (also the fuzzed commands' working directory, so a relative
/// path lands there too). ``sweep(keepingFixtures:)`` removes whatever else a
/// round made there, so every round starts from the fixtures alone.
final class CLIFuzzSandbox {
  /// The object kinds of the System V family, as the `ipc` groups name them.
  enum SystemVKind: String, CaseIterable {
    case msg, sem, shm
    var table: String {
      switch self {
      case .msg: "/proc/sysvipc/msg"
      case .sem: "/proc/sysvipc/sem"
      case .shm: "/proc/sysvipc/shm"
      }
    }
  }

  /// Keys of the fixtures (one per System V kind) and a spare one with none.
  let keys: [SystemVKind: SystemV.Key]
  let spareKey: SystemV.Key
  /// `ipc-test-fuzz-PID-N-`: the start of every POSIX name (after '/') and of the directory.
  let namePrefix: String
  /// The directory for FIFOs, the key file and anything made by a relative path.
  let directory: String
  /// A regular file whose `ftok` keys (project 1 to 255) are the sandbox's too.
  let keyFile: String
  let fifo: String
  /// Where `ipc socket` may listen: a socket file in ``directory`` (none is
  /// there between rounds) and an abstract name that starts with the prefix.
  let socketPath: String
  let abstractName: String
  /// The POSIX fixtures: a queue, a semaphore and a shared memory object.
  let queueName: String
  let semaphoreName: String
  let sharedMemoryName: String
  private let ftokKeys: Set<Int32>
  private static let counter = Atomic<Int>(0)
  /// The current id of each System V fixture (a round may remove one; the next `prepare` makes it again).
  private(set) var fixtureIDs: [SystemVKind: Int32] = [:]

  init() throws {
    keys = [.msg: TestKeys.next(), .sem: TestKeys.next(), .shm: TestKeys.next()]
    spareKey = TestKeys.next()
    namePrefix = "ipc-test-fuzz-\(getpid())-\(Self.counter.add(1, ordering: .relaxed).newValue)-"
    directory = "/tmp/" + namePrefix + "files"
    keyFile = directory + "/key"
    fifo = directory + "/fifo"
    socketPath = directory + "/sock"
    abstractName = "@" + namePrefix + "sock"
    queueName = "/\(namePrefix)mq"
    semaphoreName = "/\(namePrefix)sem"
    sharedMemoryName = "/\(namePrefix)shm"
    let file = keyFile
    guard mkdir(directory, 0o700) == 0 || errno == EEXIST,
      FileManager.default.createFile(atPath: file, contents: nil)
    else { throw SpawnFailure(message: "cannot make \(file): \(String(cString: strerror(errno)))") }
    ftokKeys = Set((1...255).map { ftok(file, $0) }.filter { $0 != -1 })
  }

  /// Every key a fuzzed command can make an object with (IPC_PRIVATE aside):
  /// the sandbox's keys and what `ftok` makes of its key file, now and when it began.
  var allKeys: Set<Int32> {
    let made = (1...255).map { ftok(keyFile, $0) }.filter { $0 != -1 }
    return Set(keys.values.map(\.rawValue) + [spareKey.rawValue] + made).union(ftokKeys)
  }

  /// Makes every fixture that is missing (the first time, or after a round removed it).
  func prepare() throws {
    for kind in SystemVKind.allCases {
      guard let key = keys[kind] else { continue }
      if let id = objects(of: kind).first(where: { $0.key == key.rawValue })?.id {
        fixtureIDs[kind] = id
        continue
      }
      fixtureIDs[kind] =
        switch kind {
        case .msg: try SystemV.MessageQueue.create(key: key).id
        case .sem: try SystemV.SemaphoreSet.create(key: key, values: [1, 0, 2]).id
        case .shm: try SystemV.SharedMemory.create(key: key, size: 4096).id
        }
    }
    if access("/dev/mqueue" + queueName, F_OK) != 0 {
      _ = try POSIX.MessageQueue.create(queueName, maxMessages: 4, messageSize: 128)
    }
    if access("/dev/shm/sem." + semaphoreName.dropFirst(), F_OK) != 0 {
      _ = try POSIX.Semaphore.create(semaphoreName, value: 1)
    }
    if access("/dev/shm" + sharedMemoryName, F_OK) != 0 {
      _ = try POSIX.SharedMemory.create(sharedMemoryName, size: 4096)
    }
    if access(fifo, F_OK) != 0 { _ = try NamedPipe.create(at: fifo) }
    if access(keyFile, F_OK) != 0 { _ = FileManager.default.createFile(atPath: keyFile, contents: nil) }
  }

  /// The System V objects of `kind`: key, id and, for segments, the creator's pid.
  func objects(of kind: SystemVKind) -> [(key: Int32, id: Int32, creator: pid_t?)] {
    let text = (try? procText(kind.table)) ?? ""
    return text.split(separator: "\n").dropFirst().compactMap { line in
      let fields = line.split(separator: " ")
      guard fields.count > 4, let key = Int32(fields[0]), let id = Int32(fields[1]) else { return nil }
      return (key, id, kind == .shm ? pid_t(fields[4]) : nil)
    }
  }

  /// Removes what a round made: System V objects with a sandbox key (or made
  /// by one of `creators`, or printed by a create: `made`), POSIX objects and
  /// files of the sandbox, all but the fixtures unless `keepingFixtures` is false.
  /// Returns what it removed, for the leftover check at the end.
  @discardableResult
  func sweep(keepingFixtures: Bool, creators: Set<pid_t> = [], made: [(SystemVKind, Int32)] = []) -> [String]
  {
    var removed: [String] = []
    let allKeys = allKeys
    for kind in SystemVKind.allCases {
      let fixture = keepingFixtures ? fixtureIDs[kind] : nil
      let madeIDs = Set(made.filter { $0.0 == kind }.map(\.1))
      for object in objects(of: kind) where object.id != fixture {
        let ours =
          allKeys.contains(object.key) || madeIDs.contains(object.id)
          || object.creator.map(creators.contains) == true
        guard ours else { continue }
        switch kind {
        case .msg: try? SystemV.MessageQueue.open(id: object.id).remove()
        case .sem: try? SystemV.SemaphoreSet.open(id: object.id).remove()
        case .shm: try? SystemV.SharedMemory.open(id: object.id).remove()
        }
        removed.append("\(kind) id \(object.id) key \(SystemV.Key(rawValue: object.key))")
      }
    }
    let fixtures: Set<String> =
      keepingFixtures
      ? [
        "/dev/mqueue" + queueName, "/dev/shm/sem." + semaphoreName.dropFirst(), "/dev/shm" + sharedMemoryName,
        fifo, keyFile,
      ] : []
    for folder in ["/dev/mqueue", "/dev/shm"] {
      for entry in entries(of: folder)
      where entry.hasPrefix(namePrefix) || entry.hasPrefix("sem." + namePrefix) {
        let path = folder + "/" + entry
        guard !fixtures.contains(path) else { continue }
        // Through the library: it deletes the owner record it wrote for an
        // object it created (the fixtures), which a plain unlink would leave.
        let isSemaphore = folder == "/dev/shm" && entry.hasPrefix("sem.")
        let name = "/" + (isSemaphore ? String(entry.dropFirst(4)) : entry)
        let unlinked: Bool
        do throws(IPCError) {
          if folder == "/dev/mqueue" {
            try POSIX.MessageQueue.unlink(name)
          } else if isSemaphore {
            try POSIX.Semaphore.unlink(name)
          } else {
            try POSIX.SharedMemory.unlink(name)
          }
          unlinked = true
        } catch {
          unlinked = unlink(path) == 0
        }
        if unlinked { removed.append(path) }
      }
    }
    for entry in entries(of: directory) {
      let path = directory + "/" + entry
      if !fixtures.contains(path) && unlink(path) == 0 { removed.append(path) }
    }
    if !keepingFixtures && rmdir(directory) == 0 { removed.append(directory) }
    return removed
  }

  /// What of the sandbox is still there (after the last sweep: nothing).
  func leftovers() -> [String] {
    var left: [String] = []
    let allKeys = allKeys
    for kind in SystemVKind.allCases {
      left += objects(of: kind).filter { allKeys.contains($0.key) }.map { "\(kind) id \($0.id)" }
    }
    for folder in ["/dev/mqueue", "/dev/shm"] {
      left += entries(of: folder).filter { $0.hasPrefix(namePrefix) || $0.hasPrefix("sem." + namePrefix) }
    }
    if access(directory, F_OK) == 0 { left.append(directory) }
    return left
  }

  /// The names in `folder` (raw bytes decoded leniently: a fuzzed name may hold anything).
  private func entries(of folder: String) -> [String] {
    guard let stream = opendir(folder) else { return [] }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }
}
