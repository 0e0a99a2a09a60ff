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
    return body(threadBuffer(atLeast: byteCount))
  }

  /// This thread's buffer, grown to at least `byteCount` bytes.
  private static func threadBuffer(atLeast byteCount: Int) -> UnsafeMutableRawBufferPointer {
    let key = threadKey
    if let header = pthread_getspecific(key)?.assumingMemoryBound(to: Int.self) {
      // The first word holds the capacity; the bytes follow, Int-aligned.
      if header.pointee >= byteCount {
        return UnsafeMutableRawBufferPointer(start: header + 1, count: header.pointee)
      }
      free(header)
    }
    let capacity = max(byteCount, 16 * 1024)
    let header = malloc(MemoryLayout<Int>.size + capacity)!.assumingMemoryBound(to: Int.self)
    header.pointee = capacity
    pthread_setspecific(key, header)
    return UnsafeMutableRawBufferPointer(start: header + 1, count: capacity)
  }

  private static let threadKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { free($0) }
    precondition(status == 0, "pthread_key_create failed: \(status)")
    return key
  }()
}
