extension Supervisor {
  /// What a ``Supervisor`` does when this process receives SIGINT, SIGTERM or SIGHUP.
  public enum SignalPolicy: Hashable, Sendable {
    /// Stop the children (SIGTERM, the grace period, SIGKILL), remove the
    /// registered objects, then end this process by the same signal, as it
    /// would have ended without a handler (a shell reports 128 + its number).
    case stopAndExit
    /// Stop the children and remove the objects, then let `wait()` return
    /// an outcome that names the signal; the program decides what comes next.
    case stop
    /// Do nothing: the signals keep whatever disposition they have.
    case ignore
  }
}
