import Foundation
import IPC
import Testing

/// Keys, permissions and errors: the small types every mechanism uses.
@Suite("Support types")
struct SupportTests {
  @Test func keysPrintAsIpcsDoesAndParseBack() {
    let key: SystemV.Key = 0xdead_beef
    #expect(key.description == "0xdeadbeef")
    #expect(SystemV.Key(parsing: "0xdeadbeef") == key)
    #expect(SystemV.Key(parsing: "0x1234") == SystemV.Key(rawValue: 0x1234))
    #expect(SystemV.Key(parsing: "4660") == SystemV.Key(rawValue: 0x1234))
    #expect(SystemV.Key(parsing: "IPC_PRIVATE") == .private)
    #expect(SystemV.Key.private.description == "IPC_PRIVATE")
    #expect(SystemV.Key(parsing: "0x1_0000_0000") == nil)
    #expect(SystemV.Key(parsing: "twelve") == nil)
    #expect(SystemV.Key(parsing: "0x100000000") == nil)
  }

  /// Signs only where a key has one: a leading '-' (key_t is signed), never
  /// '+', never after "0x" (which Int64(_:radix:) alone accepts).
  @Test(arguments: ["0x-1", "0x+1", "-0x-1", "+5", "+0x5", "0x", "-", "--5", " 5", "5 ", "0x 5", "٣"])
  func keysWithMisplacedSignsOrStrayCharactersAreRejected(text: String) {
    #expect(SystemV.Key(parsing: text) == nil)
  }

  @Test func negativeKeysParseInDecimalAndHex() {
    #expect(SystemV.Key(parsing: "-1") == SystemV.Key(rawValue: -1))
    #expect(SystemV.Key(parsing: "-0x10") == SystemV.Key(rawValue: -16))
    #expect(SystemV.Key(parsing: "0XFF") == SystemV.Key(rawValue: 255))
    #expect(SystemV.Key(parsing: "-2147483648") == SystemV.Key(rawValue: Int32.min))
    #expect(SystemV.Key(parsing: "-2147483649") == nil)
  }

  @Test func ftokGivesTheSameKeyForTheSamePathAndProject() throws {
    let path = NSTemporaryDirectory() + "ipc-ftok-\(getpid())"
    #expect(FileManager.default.createFile(atPath: path, contents: Data()))
    defer { unlink(path) }
    let first = try SystemV.Key(path: path, projectID: 7)
    #expect(try SystemV.Key(path: path, projectID: 7) == first)
    #expect(try SystemV.Key(path: path, projectID: 8) != first)
    #expect(!first.isPrivate)
  }

  @Test func ftokOfAMissingPathIsAClearError() {
    let path = "/nonexistent/ipc-\(getpid())"
    let error = #expect(throws: IPCError.self) { try SystemV.Key(path: path, projectID: 1) }
    #expect(error?.code == .notFound)
    #expect(error?.operation == "ftok")
    #expect(error?.object == "path \(path)")
    #expect(error?.reason.contains("no file or directory at \(path)") == true)
  }

  @Test(arguments: [0, 256, -1])
  func ftokRejectsAProjectOutside1To255(project: Int) {
    let error = #expect(throws: IPCError.self) { try SystemV.Key(path: "/", projectID: project) }
    #expect(error?.code == .invalidArgument)
    #expect(error?.reason.contains("outside 1...255") == true)
  }

  @Test func permissionsReadLikeLsAndOctal() {
    #expect(Permissions.ownerReadWrite.description == "rw------- (0600)")
    #expect(Permissions(rawValue: 0o640).description == "rw-r----- (0640)")
    #expect(Permissions(octal: "0644") == [.ownerRead, .ownerWrite, .groupRead, .otherRead])
    #expect(Permissions(octal: "800") == nil)
    #expect(Permissions(octal: "1777") == nil)
    #expect(Permissions(rawValue: 0o100600) == .ownerReadWrite)
  }

  @Test func errorsNameOperationObjectReasonAndCode() {
    let error = IPCError(
      code: .invalidArgument, operation: "msgsnd", object: "queue 7",
      reason: "message of 9000 bytes exceeds msgmax 8192, see /proc/sys/kernel/msgmax")
    #expect(
      error.description
        == "msgsnd on queue 7 failed: message of 9000 bytes exceeds msgmax 8192, see /proc/sys/kernel/msgmax [EINVAL]"
    )
    #expect(IPCError.Code.removed.name == "EIDRM")
    #expect(IPCError.Code(rawValue: 9999).name == "errno 9999")
    let plain = IPCError(code: .notFound, operation: "msgget", object: "key 0x1")
    #expect(plain.reason == String(cString: strerror(ENOENT)))
    #expect(IPCError.Code.removed ~= EIDRM)
  }

  @Test func limitsAreReadFromProcAtRunTime() throws {
    let limits = SystemV.MessageQueue.Limits.current()
    let msgmax = try String(contentsOfFile: "/proc/sys/kernel/msgmax", encoding: .utf8)
    #expect(limits.maxMessageSize == Int(msgmax.trimmingCharacters(in: .whitespacesAndNewlines)))
    #expect(limits.defaultMaxBytes > 0)
    #expect(limits.maxQueues > 0)
  }
}
