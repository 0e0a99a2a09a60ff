/// Runs `body` with a lock already taken, then `unlock`. When `body` throws,
/// the lock is still given back (an error from that is dropped) and `body`'s
/// error is the one thrown: the shape of every `withLock` in the toolkit.
func runThenUnlock<R>(_ unlock: () throws -> Void, _ body: () throws -> R) throws -> R {
  let result = Result { try body() }
  switch result {
  case .success(let value):
    try unlock()
    return value
  case .failure(let error):
    try? unlock()
    throw error
  }
}
