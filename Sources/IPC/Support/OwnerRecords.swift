import Glibc
import Synchronization

/// The owner records: for every IPC object the library creates, a small file
/// that says which process made it, so a later ``CleanupCandidate/survey(allUsers:includingKept:)``
/// can tell an object whose creator died from one still in use.
///
/// A record is the file `/dev/shm/.ipc-owners-UID/KIND.IDENTITY` (such as
/// `sysv-msg.32768` or `posix-mq.orders`), mode 0600 in a directory of mode
/// 0700, holding lines of text:
///
///     pid 4242
///     start 1234567
///     created 1767000000
///     ipcns 4026531839
///     pidns 4026531836
///     instance 98765
///
/// `pid` and `start` (field 22 of /proc/PID/stat) name the creating process
/// for the whole uptime, even after its pid is reused; `created` is the time
/// in seconds since 1970; `ipcns` is the creator's IPC namespace (the inode
/// of /proc/PID/ns/ipc), since an id means nothing in another, and `pidns`
/// its pid namespace, where its pid means it; `instance`, where present, is the POSIX object's
/// inode, which tells it from a later object of the same name. The records
/// live on the tmpfs /dev/shm, so they vanish at reboot as the objects do.
///
/// Writing a record never makes a create fail: an object without one is
/// only "creator unknown", never removed by a cleanup. Removing an object
/// through the library (`remove`, `unlink`) deletes its record, and the
/// directory when it becomes empty.
public enum OwnerRecords {
  private static let enabled = Atomic<Bool>(true)

  /// Whether objects this process creates get a record (true by default).
  ///
  /// Turn it off in a process whose objects are meant to outlive it, such as
  /// a command-line tool that creates an object for others to use later (as
  /// `ipcmk` does): a cleanup never removes an object that has no record.
  /// Removing an object deletes its record whatever this says.
  public static var isEnabled: Bool {
    get { enabled.load(ordering: .relaxed) }
    set { enabled.store(newValue, ordering: .relaxed) }
  }

  /// The directory of user `uid`'s records.
  static func directory(of uid: uid_t) -> String {
    "/dev/shm/.ipc-owners-\(uid)"
  }

  /// The longest identity a record's file name can hold after `kind` and '.'.
  static func fits(kind: String, identity: String) -> Bool {
    kind.utf8.count + 1 + identity.utf8.count <= Int(NAME_MAX)
  }

  /// Writes the record of an object this process just created, replacing a
  /// stale record of the same identity; does nothing if it cannot.
  ///
  /// The calls are `mkdir`, `open(O_DIRECTORY | O_NOFOLLOW)` and `fstat` of
  /// the directory, `openat(O_CREAT | O_EXCL | O_NOFOLLOW)`, `write`, `close`.
  static func record(kind: String, identity: String, instance: UInt64? = nil) {
    guard isEnabled, fits(kind: kind, identity: identity), let start = ProcessFacts.ownStartTime else {
      return
    }
    let file = "\(kind).\(identity)"
    var text = "pid \(getpid())\nstart \(start)\ncreated \(time(nil))\n"
    if let namespace = ProcessFacts.ipcNamespace { text += "ipcns \(namespace)\n" }
    if let namespace = ProcessFacts.pidNamespace { text += "pidns \(namespace)\n" }
    if let instance { text += "instance \(instance)\n" }
    // A remover's rmdir of the emptied directory may come between our mkdir and
    // openat (ENOENT); a stale record of a recycled identity is replaced (EEXIST).
    for _ in 0..<4 {
      guard let directory = openDirectory(of: geteuid(), creating: true) else { return }
      defer { close(directory) }
      let fd = openat(directory, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
      if fd < 0 {
        let code = errno
        if code == EEXIST { _ = unlinkat(directory, file, 0) }
        if code == EEXIST || code == ENOENT { continue }
        // No record (a full /dev/shm, say): nor an empty directory left for it.
        _ = rmdir(Self.directory(of: geteuid()))
        return
      }
      let written = text.utf8.withContiguousStorageIfAvailable { write(fd, $0.baseAddress, $0.count) }
      close(fd)
      // A short record would be misread: none is better.
      if written != text.utf8.count {
        _ = unlinkat(directory, file, 0)
        _ = rmdir(Self.directory(of: geteuid()))
      }
      return
    }
  }

  /// Deletes the record of an object that is gone, in user `uid`'s
  /// directory, and the directory if that leaves it empty.
  ///
  /// The calls are `open` and `fstat` of the directory, `unlinkat`, and `rmdir`.
  static func forget(kind: String, identity: String, of uid: uid_t = geteuid()) {
    guard fits(kind: kind, identity: identity), let directory = openDirectory(of: uid, creating: false) else {
      return
    }
    let removed = unlinkat(directory, "\(kind).\(identity)", 0) == 0
    close(directory)
    // ENOTEMPTY and ENOENT are expected: other records, or another remover.
    if removed { _ = rmdir(Self.directory(of: uid)) }
  }

  /// Every record of user `uid`, or an empty list if there is no safe
  /// directory of records (missing, or not a directory owned by `uid` with mode 0700).
  static func records(of uid: uid_t) -> [OwnerRecord] {
    guard let directory = openDirectory(of: uid, creating: false) else { return [] }
    guard let stream = fdopendir(directory) else {
      close(directory)
      return []
    }
    defer { closedir(stream) }
    var records: [OwnerRecord] = []
    while let entry = readdir(stream) {
      let file = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
        String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      guard let dot = file.firstIndex(of: "."), dot != file.startIndex else { continue }
      let kind = String(file[..<dot])
      let identity = String(file[file.index(after: dot)...])
      guard !identity.isEmpty, let text = readRecord(file, in: dirfd(stream), owner: uid) else { continue }
      records.append(OwnerRecord(kind: kind, identity: identity, owner: uid, text: text))
    }
    return records
  }

  /// The record of `kind` and `identity` in user `uid`'s directory, if there is one.
  static func record(kind: String, identity: String, of uid: uid_t) -> OwnerRecord? {
    guard fits(kind: kind, identity: identity), let directory = openDirectory(of: uid, creating: false) else {
      return nil
    }
    defer { close(directory) }
    guard let text = readRecord("\(kind).\(identity)", in: directory, owner: uid) else { return nil }
    return OwnerRecord(kind: kind, identity: identity, owner: uid, text: text)
  }

  /// The users that have a directory of records, from the names in /dev/shm.
  static func users() -> [uid_t] {
    guard let stream = opendir("/dev/shm") else { return [] }
    defer { closedir(stream) }
    var users: [uid_t] = []
    let prefix = ".ipc-owners-"
    while let entry = readdir(stream) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
        String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      if name.hasPrefix(prefix), let uid = uid_t(name.dropFirst(prefix.count)) { users.append(uid) }
    }
    return users
  }

  /// The directory of `uid`'s records, opened, if it is a real directory
  /// owned by `uid` with mode 0700: /dev/shm is writable by everyone, so
  /// another user may have made the name first (or a symlink by it).
  private static func openDirectory(of uid: uid_t, creating: Bool) -> Int32? {
    let path = directory(of: uid)
    if creating { _ = mkdir(path, 0o700) }  // EEXIST is fine: checked below
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_uid == uid else {
      close(fd)
      return nil
    }
    if info.st_mode & 0o7777 != 0o700 {
      // Our own directory made under a narrow umask gets its mode; any
      // other mode means someone else's doing: not used.
      guard creating, info.st_mode & 0o7077 == 0, fchmod(fd, 0o700) == 0 else {
        close(fd)
        return nil
      }
    }
    return fd
  }

  /// The text of record `file` in `directory`, if it is a small regular file owned by `uid`.
  private static func readRecord(_ file: String, in directory: Int32, owner uid: uid_t) -> String? {
    let fd = openat(directory, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == uid else { return nil }
    var bytes = [UInt8](repeating: 0, count: 512)
    let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return nil }
    return String(decoding: bytes[0..<count], as: UTF8.self)
  }
}
