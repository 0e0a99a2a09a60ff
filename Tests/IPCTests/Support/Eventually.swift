import Glibc

/// Whether `condition` holds within `timeout`: checked at once, then every
/// `interval`, and once more when the time is up. The one way the tests wait
/// for another process or thread to get somewhere.
func eventually(
  within timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(2),
  _ condition: () throws -> Bool
) rethrows -> Bool {
  let clock = SuspendingClock()
  let deadline = clock.now.advanced(by: timeout)
  let (seconds, attoseconds) = interval.components
  let pause = useconds_t(clamping: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
  while true {
    if try condition() { return true }
    if clock.now >= deadline { return false }
    usleep(pause)
  }
}
