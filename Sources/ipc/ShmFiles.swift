import Glibc

/// /dev/shm, where glibc keeps each POSIX shared memory object `/NAME` as the
/// file `NAME` and each POSIX named semaphore `/NAME` as the file `sem.NAME`.
enum ShmFiles {
  static let directory = "/dev/shm"
  static let semaphorePrefix = "sem."

  /// The kinds of object /dev/shm holds.
  enum Kind {
    case semaphores
    case sharedMemory
  }

  /// One object's file as `lstat` reports it.
  struct Entry {
    /// The object's name, `/NAME`.
    var name: String
    /// Owner, mode and size of the file.
    var info: stat
  }

  /// The file of the shared memory object `name` (`/NAME`).
  static func path(of name: String) -> String { directory + name }

  /// The file of the shared memory object `name`, or nil with `errno` set.
  static func entry(_ name: String) -> Entry? {
    var info = stat()
    guard lstat(path(of: name), &info) == 0 else { return nil }
    return Entry(name: name, info: info)
  }

  /// The objects of `kind`, sorted by name; nil if /dev/shm cannot be read.
  /// Only regular files count: glibc makes nothing else there.
  static func entries(_ kind: Kind) -> [Entry]? {
    guard let stream = opendir(directory) else { return nil }
    defer { closedir(stream) }
    var entries: [Entry] = []
    while let entry = readdir(stream) {
      let file = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard file != ".", file != ".." else { continue }
      let name: Substring
      switch kind {
      case .semaphores:
        guard file.hasPrefix(semaphorePrefix), file.count > semaphorePrefix.count else { continue }
        name = file.dropFirst(semaphorePrefix.count)
      case .sharedMemory:
        // A sem.* file is a semaphore; shm_open can make one only by that
        // very name, which no tool tells apart either.
        guard !file.hasPrefix(semaphorePrefix) else { continue }
        name = file[...]
      }
      var info = stat()
      guard lstat(directory + "/" + file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
      entries.append(Entry(name: "/" + name, info: info))
    }
    return entries.sorted { $0.name < $1.name }
  }
}
