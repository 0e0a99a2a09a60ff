/// Runs `body` with a lock already taken, then `unlock`. When `body` throws,
/// the lock is still given back (an error from that is dropped) and `body`'s
/// error is the one thrown: the shape of every `withLock` in the toolkit.
func runThenUnlock<R>(_ unlock: () throws -> Void, _ body: () throws -> R) throws -> R {
  try unlocking(after: Result { try body() }, unlock)
}

/// ``runThenUnlock(_:_:)`` for a body that may suspend (a lock that belongs
/// to the process, not to a thread, such as `SemaphoreLock`).
func runThenUnlock<R>(
  isolation: isolated (any Actor)? = #isolation, _ unlock: () throws -> Void, _ body: () async throws -> R
) async throws -> R {
  let result: Result<R, any Error>
  do {
    result = .success(try await body())
  } catch {
    result = .failure(error)
  }
  return try unlocking(after: result, unlock)
}

/// Gives the lock back, then returns the body's value or throws its error.
private func unlocking<R>(after result: Result<R, any Error>, _ unlock: () throws -> Void) throws -> R {
  switch result {
  case .success(let value):
    try unlock()
    return value
  case .failure(let error):
    try? unlock()
    throw error
  }
}
