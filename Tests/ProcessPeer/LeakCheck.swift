import Glibc

/// LeakSanitizer's hook (compiler-rt's `lsan_interface.h`), asked at exit by a
/// program built with `--sanitize=address` and never called otherwise.
///
/// The leak check stops the process from a thread of its own, which a process
/// at its RLIMIT_NPROC cannot start: LeakSanitizer then ends the process with
/// a "fatal error" and exit status 1, whatever the test checked. The cases that
/// lower the limit on purpose (the peer's `async-at-thread-limit`, the exit test
/// at the process limit) therefore skip the check; no other process has a limit
/// this low. The test binary links this module, so its exit tests have the hook
/// too (a second definition there would clash).
@_cdecl("__lsan_is_turned_off")
func leakCheckIsTurnedOff() -> Int32 {
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(__RLIMIT_NPROC.rawValue), &limit) == 0 else { return 0 }
  return limit.rlim_cur < 16 ? 1 : 0
}
