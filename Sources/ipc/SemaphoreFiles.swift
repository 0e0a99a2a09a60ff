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
}
