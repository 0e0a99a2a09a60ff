import Glibc

/// Which files every process holds open or has mapped, from /proc/PID/fd and
/// /proc/PID/maps: what tells whether a POSIX object is in use, since the
/// kernel counts no users for them.
///
/// Files are told apart by device and inode, so a name reused since, or an
/// unlinked file whose path /proc shows with " (deleted)", is never confused.
/// A POSIX queue descriptor reads back as just "/NAME" in /proc/PID/fd; its
/// `stat` gives the mqueue filesystem's device, which is how it is matched.
struct ProcessScan {
  /// A file as the kernel names it: its device and inode.
  struct FileID: Hashable {
    var device: UInt64
    var inode: UInt64
  }

  /// A process that holds or maps each file (any one of them).
  private(set) var users: [FileID: Int32] = [:]
  /// The processes whose descriptors or mappings this user may not read
  /// (another user's, unless run by root): any of them may use any object.
  ///
  /// Root may read every process but those holding capabilities it lacks
  /// (a sandbox's or a parent namespace's init): those are not counted for
  /// root, or no POSIX object could ever be found unused on such a machine.
  private(set) var uninspected: [Int32] = []

  /// Reads every process, this one included. The calls are `opendir`/`readdir` of
  /// /proc and /proc/PID/fd, `readlink` and `stat` of each descriptor, and
  /// `read` of /proc/PID/maps.
  init() {
    guard let proc = opendir("/proc") else { return }
    defer { closedir(proc) }
    // This process too: a program that surveys may hold an object itself.
    while let entry = readdir(proc) {
      guard let pid = Int32(Self.name(of: entry)), pid > 0 else { continue }
      let descriptors = scanDescriptors(of: pid)
      let mappings = scanMappings(of: pid)
      if (!descriptors || !mappings) && geteuid() != 0 { uninspected.append(pid) }
    }
    // A /proc that hides other users' processes (hidepid) lists none of them:
    // any of them may hold any object (pid 0 stands for them all).
    if geteuid() != 0 && Self.procHidesProcesses { uninspected.append(0) }
  }

  /// Whether /proc is mounted with `hidepid` (1, 2, `noaccess`, `invisible`,
  /// `ptraceable`), from /proc/self/mounts.
  static var procHidesProcesses: Bool {
    guard let mounts = ProcFile.read("/proc/self/mounts") else { return true }
    return mounts.split(separator: "\n").contains { line in
      let fields = line.split(separator: " ")
      guard fields.count > 3, fields[1] == "/proc", fields[2] == "proc" else { return false }
      return fields[3].split(separator: ",").contains {
        $0.hasPrefix("hidepid=") && $0 != "hidepid=0" && $0 != "hidepid=off"
      }
    }
  }

  /// Whether some process holds or maps the file `info` describes, and which.
  func user(of info: stat) -> Int32? {
    users[FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))]
  }

  /// Adds the files behind `pid`'s descriptors; false if they cannot be read
  /// (a process that has exited meanwhile counts as read).
  private mutating func scanDescriptors(of pid: Int32) -> Bool {
    let directory = "/proc/\(pid)/fd"
    guard let stream = opendir(directory) else { return errno == ENOENT }
    defer { closedir(stream) }
    var link = [CChar](repeating: 0, count: 64)
    while let entry = readdir(stream) {
      let name = Self.name(of: entry)
      guard name.first != "." else { continue }
      let path = directory + "/" + name
      // Sockets, pipes and anonymous inodes are never IPC objects: not stat'ed.
      let count = readlink(path, &link, link.count - 1)
      // Listing a process's descriptors may be allowed where reading them is not.
      if count < 0 && errno == EACCES { return false }
      if count > 0 {
        let target = String(decoding: link[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target.hasPrefix("socket:") || target.hasPrefix("pipe:") || target.hasPrefix("anon_inode:") {
          continue
        }
      }
      var info = stat()
      if stat(path, &info) == 0 {
        users[FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))] = pid
      } else if errno == EACCES {
        return false
      }
    }
    return true
  }

  /// Adds the files `pid` has mapped; false if its maps cannot be read.
  private mutating func scanMappings(of pid: Int32) -> Bool {
    let fd = open("/proc/\(pid)/maps", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return errno == ENOENT }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      // Reading another user's maps fails here (EACCES) after the open succeeded.
      if count < 0 { return errno == ESRCH }
      guard count > 0 else { break }
      bytes.append(contentsOf: chunk[0..<count])
    }
    // Each line: address perms offset MAJOR:MINOR inode [path].
    for line in bytes.split(separator: UInt8(ascii: "\n")) {
      let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 5, omittingEmptySubsequences: true)
      guard fields.count >= 5, let inode = UInt64(String(decoding: fields[4], as: UTF8.self)), inode != 0
      else {
        continue
      }
      let device = fields[3].split(separator: UInt8(ascii: ":"))
      guard device.count == 2, let major = UInt64(String(decoding: device[0], as: UTF8.self), radix: 16),
        let minor = UInt64(String(decoding: device[1], as: UTF8.self), radix: 16)
      else { continue }
      users[FileID(device: Self.device(major: major, minor: minor), inode: inode)] = pid
    }
    return true
  }

  /// glibc's `makedev`: the `st_dev` value of device `major`:`minor`.
  static func device(major: UInt64, minor: UInt64) -> UInt64 {
    (major & 0xffff_f000) << 32 | (major & 0xfff) << 8 | (minor & 0xffff_ff00) << 12 | (minor & 0xff)
  }

  /// A directory entry's name.
  static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
    withUnsafeBytes(of: entry.pointee.d_name) { bytes in
      String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
  }
}
