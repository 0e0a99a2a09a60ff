import Foundation
import IPC
import Testing

/// Frames each writer process sends in the interleaving test.
let framesPerWriter = 1000

extension PipeProcessTests {
  /// A writer process: `framesPerWriter` frames of `atomicMessageLimit` bytes,
  /// all `mark`, after an empty frame that says it is ready and the go file.
  func framesWriter(_ path: String, mark: UInt8) async {
    await #expect(processExitsWith: .success) { [path = path as String, mark = mark as UInt8] in
      alarm(120)
      let writer = try NamedPipe.open(at: path).openForWriting()
      try writer.send([])
      while access(path + ".go", F_OK) != 0 { usleep(500) }
      let frame = [UInt8](repeating: mark, count: PipeEnd.atomicMessageLimit)
      for _ in 0..<framesPerWriter { try writer.send(frame) }
    }
  }

  /// Kills `process` if the returned flag is not set within 30 seconds: were a
  /// pipe end leaked into it, it would wait for an end of stream forever.
  func watchdog(_ process: SpawnedProcess) -> Flag {
    let pid = process.pid
    let finished = Flag()
    Thread {
      for _ in 0..<300 where !finished.isSet { usleep(100_000) }
      if !finished.isSet { kill(pid, SIGKILL) }  // not yet waited for: the pid is still the child's
    }.start()
    return finished
  }
}
