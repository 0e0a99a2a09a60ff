import Glibc

/// Working memory for system calls that need the caller's bytes laid out
/// differently (System V messages carry their type in front of the text).
///
/// Small requests use the stack; larger ones reuse one buffer per thread,
/// grown as needed and freed when the thread ends, so the hot path of a send
/// or receive never calls malloc.
enum ScratchBuffer {
  /// Requests up to this size are served from the stack.
  static let stackLimit = 1024

  /// Calls `body` with at least `byteCount` bytes aligned for `Int`.
  ///
  /// Not reentrant on one thread: `body` must not ask for another scratch
  /// buffer (no system call wrapper in the toolkit does).
  @inline(__always)
  static func with<R>(byteCount: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
    if byteCount <= stackLimit {
      return withUnsafeTemporaryAllocation(
        byteCount: byteCount, alignment: MemoryLayout<Int>.alignment, body)
    }
    guard let buffer = threadBuffer(atLeast: byteCount) else {
      // No thread buffer (the process is out of thread keys or memory): one for this call.
      return withUnsafeTemporaryAllocation(
        byteCount: byteCount, alignment: MemoryLayout<Int>.alignment, body)
    }
    return body(buffer)
  }

  /// This thread's buffer, grown to at least `byteCount` bytes; nil if there
  /// is no thread key or no memory for it.
  private static func threadBuffer(atLeast byteCount: Int) -> UnsafeMutableRawBufferPointer? {
    guard let key = threadKey else { return nil }
    if let header = pthread_getspecific(key)?.assumingMemoryBound(to: Int.self) {
      // The first word holds the capacity; the bytes follow, Int-aligned.
      if header.pointee >= byteCount {
        return UnsafeMutableRawBufferPointer(start: header + 1, count: header.pointee)
      }
      pthread_setspecific(key, nil)
      free(header)
    }
    let capacity = max(byteCount, 16 * 1024)
    guard let raw = malloc(MemoryLayout<Int>.size + capacity) else { return nil }
    let header = raw.assumingMemoryBound(to: Int.self)
    header.pointee = capacity
    pthread_setspecific(key, header)
    return UnsafeMutableRawBufferPointer(start: header + 1, count: capacity)
  }

  /// The key of each thread's buffer, freed when the thread ends; nil if the
  /// process has used up its keys (PTHREAD_KEYS_MAX), which leaves every
  /// large request to a buffer of its own instead of ending the process.
  private static let threadKey: pthread_key_t? = {
    var key = pthread_key_t()
    return pthread_key_create(&key) { free($0) } == 0 ? key : nil
  }()
}
