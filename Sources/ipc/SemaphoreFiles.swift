import Glibc

/// /dev/shm, where glibc keeps each POSIX named semaphore `/NAME` as the
/// file `sem.NAME`.
enum SemaphoreFiles {
  static let directory = "/dev/shm"
  static let prefix = "sem."

  /// One semaphore's file as `stat` reports it.
  struct Entry {
    /// The semaphore's name, `/NAME`.
    var name: String
    /// Owner, mode and size of the file.
    var info: stat
  }

  /// The semaphores, sorted by name; nil if /dev/shm cannot be read.
  static func entries() -> [Entry]? {
    guard let directory = opendir(directory) else { return nil }
    defer { closedir(directory) }
    var entries: [Entry] = []
    while let entry = readdir(directory) {
      let file = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard file.hasPrefix(prefix), file.count > prefix.count else { continue }
      let path = Self.directory + "/" + file
      var info = stat()
      guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
      entries.append(Entry(name: "/" + file.dropFirst(prefix.count), info: info))
    }
    return entries.sorted { $0.name < $1.name }
  }

  /// The file of the semaphore `name` (`/NAME`), or nil if there is none or
  /// the name could not be a semaphore's.
  static func entry(named name: String) -> Entry? {
    guard name.hasPrefix("/"), name.count > 1, !name.dropFirst().contains("/") else { return nil }
    var info = stat()
    guard lstat(directory + "/" + prefix + name.dropFirst(), &info) == 0 else { return nil }
    return Entry(name: name, info: info)
  }

  /// Whether the file is large enough to hold a `sem_t`: mapping a shorter
  /// one (not made by sem_open) and reading it would kill this process with SIGBUS.
  static func holdsASemaphore(_ entry: Entry) -> Bool {
    entry.info.st_size >= MemoryLayout<sem_t>.size
  }
}
