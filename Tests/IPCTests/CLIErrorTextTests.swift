import IPC
import Testing

@testable import ipc

/// The CLI's rewrites of the library's advice: each applies once, and no
/// rewrite's output is rewritten again by another.
@Suite("CLI error text")
struct CLIErrorTextTests {
  /// The library's sentences the rules are written for, one per rule.
  static let sentences = [
    "no message queue exists for key 0x12; create it first with MessageQueue.create(key:)",
    "no semaphore set exists for key 0x12; create it first with SemaphoreSet.create(key:values:)",
    "no semaphore is named /s; create it first with Semaphore.create",
    "no message queue is named /q; create it first with MessageQueue.create",
    "nothing exists at /tmp/f; create the FIFO first (NamedPipe.create(at:) or mkfifo)",
    "message of 9 bytes can never fit: the queue holds at most 8 bytes (raise it with setMaxBytes)",
    "message of 9 bytes exceeds the queue's message size 8, set when it was created (its messageSize)",
    "no process has /tmp/f open for reading; start the reader first, or open without nonBlocking to wait for one",
    "a FIFO already exists at /tmp/f; open it with NamedPipe.open(at:), or remove it first",
    "the message is longer than the buffer of 8 bytes; it is still in the queue"
      + " (pass a larger buffer, or truncating: true to cut it)",
    "the object is empty (0 bytes); give it a size with resize(to:) first",
    "a message queue already exists for key 0x12; open it, or remove it first",
    "a message queue named /q already exists; open it, or unlink it first",
    "the segment's permissions do not let this process attach it read-write; try readOnly: true",
    "the object was opened read-only; map it with readOnly: true, or open it read-write",
    "the set for key 0x12 (id 3) has 2 semaphores, not the 3 asked for; open it with open(key:), or remove it first",
    "/n exists with 64 bytes, not the 128 asked for; it is never resized on open: open it with its size,"
      + " or call resize(to:)",
    "the queue was opened read-only, which cannot send; open it .writeOnly or .readWrite",
    "the queue was opened write-only, which cannot receive; open it .readOnly or .readWrite",
  ]

  /// Swift API words a CLI user cannot act on.
  static let libraryTerms = [
    "readOnly", "nonBlocking", "truncating:", "(at:)", "(key", "(to:)", ".readWrite", "setMaxBytes",
    "messageSize",
  ]

  @Test(arguments: sentences)
  func everyRewriteAppliesOnceAndIsNotRewrittenAgain(sentence: String) throws {
    let error = IPCError(code: .exists, operation: "op", object: "obj", reason: sentence)
    let rules = ErrorText.advice(for: error)
    let matching = rules.filter { sentence.contains($0.0) }
    let rule = try #require(matching.first, "no rule for: \(sentence)")
    let text = ErrorText.describe(error)
    #expect(text.contains(rule.1), "\(text)")
    #expect(text.ranges(of: rule.1).count == 1, "\(text)")
    for (phrase, replacement) in rules where !replacement.contains(phrase) {
      #expect(!text.contains(phrase), "library phrase left in: \(text)")
    }
    #expect(!text.contains("to give"), "\(text)")
    for term in Self.libraryTerms {
      #expect(!text.contains(term), "\(term) left in: \(text)")
    }
  }

  /// The library's own errors, made against real objects (not copied
  /// sentences), read in the CLI's words: if the library rewords its advice,
  /// a rule stops matching and this fails, instead of library words quietly
  /// reaching users.
  @Test func realLibraryErrorsAreSaidInTheCommandsWords() throws {
    var errors: [IPCError] = []
    func record(_ body: () throws -> Void) {
      do { try body() } catch let error as IPCError { errors.append(error) } catch {}
    }
    let key = TestKeys.next()
    record { _ = try SystemV.MessageQueue.open(key: key) }
    record { _ = try SystemV.SemaphoreSet.open(key: key) }
    let name = TestNames.next()
    record { _ = try POSIX.Semaphore.open(name) }
    record { _ = try POSIX.MessageQueue.open(name) }
    let fifo = TestPaths.nextFIFO()
    record { _ = try NamedPipe.open(at: fifo) }
    let queue = try SystemV.MessageQueue.create(key: key)
    defer { try? queue.remove() }
    record { _ = try SystemV.MessageQueue.create(key: key) }
    let posix = try POSIX.MessageQueue.create(name, maxMessages: 1, messageSize: 8)
    defer { try? POSIX.MessageQueue.unlink(name) }
    record { _ = try POSIX.MessageQueue.create(name, maxMessages: 1, messageSize: 8) }
    record { try POSIX.MessageQueue.open(name, access: .readOnly).send(Array("x".utf8)) }
    record { _ = try POSIX.MessageQueue.open(name, access: .writeOnly).receive() }
    record { try posix.send(Array("too long for 8".utf8)) }
    let pipe = try NamedPipe.create(at: fifo)
    defer { try? pipe.remove() }
    record { _ = try NamedPipe.create(at: fifo) }
    record { _ = try pipe.openForWriting(nonBlocking: true) }
    #expect(errors.count == 12, "\(errors)")
    for error in errors {
      let text = ErrorText.describe(error)
      for term in Self.libraryTerms + ["nonBlocking", ".writeOnly", ".readOnly", "create(", "open("] {
        #expect(!text.contains(term), "\(term) left in: \(text)")
      }
    }
  }

  /// Operations named after a Swift method are said as what they do.
  @Test func aMethodNameIsNotShownAsTheOperation() {
    let error = IPCError(code: .invalidArgument, operation: "bytes", object: "shared memory /n", reason: "r")
    #expect(ErrorText.describe(error) == "reading shared memory /n failed: r [EINVAL]")
  }

  @Test func everyRuleHasASentence() {
    let error = IPCError(code: .exists, operation: "op", object: "obj", reason: "")
    for (phrase, _) in ErrorText.advice(for: error) {
      #expect(Self.sentences.contains { $0.contains(phrase) }, "no test sentence for rule \(phrase)")
    }
  }

  @Test func aReadOutsideSharedMemoryIsSaidInTheCommandsWords() throws {
    let name = TestNames.next()
    defer { try? POSIX.SharedMemory.unlink(name) }
    #expect(try Tools.ipc("shm", "create", name, "--size", "64").exitStatus == 0)
    let run = try Tools.ipc("shm", "read", name, "--offset", "65")
    #expect(run.exitStatus == 1)
    #expect(run.standardError.hasPrefix("ipc shm read: reading "), "\(run.standardError)")
    #expect(!run.standardError.contains("bytes on"), "\(run.standardError)")
    #expect(run.standardError.split(separator: "\n").count == 1)
  }
}
