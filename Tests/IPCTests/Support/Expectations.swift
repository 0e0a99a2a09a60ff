import IPC
import Testing

/// Expects `body` to fail with the library's error for an object that does not
/// exist (ENOENT): what every removal test checks afterwards.
func expectNotFound<R>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R) {
  let error = #expect(throws: IPCError.self, sourceLocation: sourceLocation) { try body() }
  #expect(error?.code == .notFound, sourceLocation: sourceLocation)
}
