extension SystemV.SharedMemory {
  /// The system's shared memory limits, read at run time from
  /// /proc/sys/kernel/shmmax, shmall and shmmni, which an administrator may
  /// change while programs run.
  public struct Limits: Hashable, Sendable {
    /// The largest segment, in bytes (`shmmax`, /proc/sys/kernel/shmmax).
    public var maxSegmentSize: Int
    /// The most pages all segments together may use (`shmall`,
    /// /proc/sys/kernel/shmall).
    public var maxTotalPages: Int
    /// The most segments the system holds (`shmmni`, /proc/sys/kernel/shmmni).
    public var maxSegments: Int

    /// The file `maxSegmentSize` comes from.
    public static let maxSegmentSizePath = "/proc/sys/kernel/shmmax"
    /// The file `maxTotalPages` comes from.
    public static let maxTotalPagesPath = "/proc/sys/kernel/shmall"
    /// The file `maxSegments` comes from.
    public static let maxSegmentsPath = "/proc/sys/kernel/shmmni"

    /// Reads the limits now; where /proc is not mounted, Linux's defaults
    /// (unlimited size and pages, 4096 segments).
    public static func current() -> Limits {
      Limits(
        maxSegmentSize: read(maxSegmentSizePath) ?? Int.max,
        maxTotalPages: read(maxTotalPagesPath) ?? Int.max,
        maxSegments: read(maxSegmentsPath) ?? 4096)
    }

    /// The number in `path`, clamped to `Int.max`: Linux's default shmmax and
    /// shmall (ULONG_MAX - 2^24) do not fit in an `Int`.
    private static func read(_ path: String) -> Int? {
      guard let text = ProcFile.read(path), let value = UInt64(text.trimmingWhitespace()) else {
        return nil
      }
      return value > UInt64(Int.max) ? Int.max : Int(value)
    }
  }
}
