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

/// The async form, which `await` picks in async code: the task sleeps
/// between checks instead of holding a thread of the cooperative pool. A
/// test that blocked its thread here could wait for ever for a task that
/// needs a pool thread to run (the pool has one thread per CPU, and other
/// tests block theirs), so async tests never use the blocking form. The
/// default timeout is long because in a full parallel run a new task may wait
/// seconds for a thread; it only bounds a failing test.
func eventually(
  within timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(1),
  _ condition: () throws -> Bool
) async rethrows -> Bool {
  let clock = ContinuousClock()
  let deadline = clock.now.advanced(by: timeout)
  while true {
    if try condition() { return true }
    if clock.now >= deadline { return false }
    await nap(interval)
  }
}
