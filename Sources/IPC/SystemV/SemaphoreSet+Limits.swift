import CIPCShims

extension SystemV.SemaphoreSet {
  /// The system's semaphore limits, read at run time from /proc/sys/kernel/sem
  /// (four numbers: SEMMSL SEMMNS SEMOPM SEMMNI), which an administrator may
  /// change while programs run, and the kernel's fixed value limit.
  public struct Limits: Hashable, Sendable {
    /// The most semaphores in one set (SEMMSL, first field of /proc/sys/kernel/sem).
    public var maxPerSet: Int
    /// The most semaphores in all sets together (SEMMNS, second field).
    public var maxSystemWide: Int
    /// The most operations one `semop` call takes (SEMOPM, third field).
    public var maxOperationsPerCall: Int
    /// The most sets the system holds (SEMMNI, fourth field).
    public var maxSets: Int
    /// The largest value a semaphore holds (SEMVMX, 32767, fixed in the kernel).
    public static let maxValue = Int(CIPC_SEMVMX)
    /// The file the limits come from.
    public static let path = "/proc/sys/kernel/sem"

    /// Reads the limits now; where /proc is not mounted, Linux's defaults
    /// (32000, 1024000000, 500, 32000).
    public static func current() -> Limits {
      let fields = ProcFile.read(path)?.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        .compactMap { Int($0) }
      guard let fields, fields.count == 4 else {
        return Limits(
          maxPerSet: 32000, maxSystemWide: 1_024_000_000, maxOperationsPerCall: 500, maxSets: 32000)
      }
      return Limits(
        maxPerSet: fields[0], maxSystemWide: fields[1], maxOperationsPerCall: fields[2],
        maxSets: fields[3])
    }
  }
}
