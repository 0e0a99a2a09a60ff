import Testing

/// Checks a run of `ipc` that should have been refused as a usage error:
/// exit status 2, nothing on standard output, and exactly one line on standard
/// error that starts with the command's path (such as `ipc msg send`), names
/// `mentioning` if given, and says where the help is.
func expectUsageError(
  _ run: SpawnedProcess, _ arguments: [String], mentioning: String? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let error = run.standardError
  let lines = error.split(separator: "\n", omittingEmptySubsequences: false)
  #expect(run.exitStatus == 2, "\(arguments): \(error)", sourceLocation: sourceLocation)
  #expect(
    lines.count == 2 && lines[1].isEmpty, "\(arguments): not one line: \(error)",
    sourceLocation: sourceLocation)
  #expect(error.hasPrefix("ipc"), "\(arguments): \(error)", sourceLocation: sourceLocation)
  #expect(error.contains(" --help')"), "\(arguments): \(error)", sourceLocation: sourceLocation)
  #expect(
    !error.contains("usage:"), "\(arguments): the help was printed: \(error)", sourceLocation: sourceLocation)
  #expect(run.standardOutput.isEmpty, "\(arguments): \(run.standardOutput)", sourceLocation: sourceLocation)
  if let mentioning {
    #expect(error.contains(mentioning), "\(arguments): \(error)", sourceLocation: sourceLocation)
  }
}
