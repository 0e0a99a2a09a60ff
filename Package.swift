// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "IPC",
  products: [
    .library(name: "IPC", targets: ["IPC"]),
    .executable(name: "ipc", targets: ["ipc"]),
    .executable(name: "ipc-bench", targets: ["ipc-bench"]),
  ],
  targets: [
    // Only what Swift cannot call directly; _GNU_SOURCE exposes MSG_EXCEPT, MSG_COPY, semtimedop.
    .target(
      name: "CIPCShims",
      path: "CShims",
      cSettings: [.define("_GNU_SOURCE")],
      // mq_* and SIGEV_THREAD live in librt before glibc 2.34 (in libc after).
      linkerSettings: [.linkedLibrary("rt")]
    ),
    .target(name: "IPC", dependencies: ["CIPCShims"], path: "Sources/IPC"),
    // What both tools share, not a product: options declared once (parsing, checks, help,
    // one-line usage errors), plain-text tables and JSON output.
    .target(name: "IPCToolSupport", path: "Sources/IPCToolSupport"),
    // CIPCShims too: `ipc socket listen` reads frames with the shim's recvmsg, and `ipc list` reads the
    // socket table through netlink (sock_diag), whose macros Swift cannot import.
    .executableTarget(
      name: "ipc", dependencies: ["IPC", "CIPCShims", "IPCToolSupport"], path: "Sources/ipc"),
    // Plain-C baseline loops against the raw system calls, measured beside the Swift layer.
    .target(name: "CIPCBench", path: "Sources/CIPCBench", cSettings: [.define("_GNU_SOURCE")]),
    .executableTarget(
      name: "ipc-bench", dependencies: ["IPC", "CIPCShims", "CIPCBench", "IPCToolSupport"],
      path: "Sources/ipc-bench"),
    // The program of Docs/PythonWalkthrough.md, built and run by the tests.
    .executableTarget(name: "python-walkthrough", dependencies: ["IPC"], path: "Docs/Examples/walkthrough"),
    // The examples of Docs/Processes.md as one program, built and run by the tests.
    .executableTarget(name: "processes-guide", dependencies: ["IPC"], path: "Docs/Examples/processes"),
    // Every ```swift block of README.md and Docs/*.md, compiled into one program whose
    // complete examples the tests run (see the section "Examples in these pages" of
    // Docs/GettingStarted.md). Warnings are off: a block's top-level values, globals
    // in a main.swift, are locals of a function here, "never used" where they are shown.
    .executableTarget(name: "doc-examples-generator", path: "Tests/DocExamplesGenerator"),
    .plugin(
      name: "DocExamplesPlugin", capability: .buildTool(), dependencies: ["doc-examples-generator"],
      path: "Tests/DocExamplesPlugin"),
    .executableTarget(
      name: "doc-examples", dependencies: ["IPC"], path: "Tests/DocExamples",
      swiftSettings: [.unsafeFlags(["-suppress-warnings"])], plugins: ["DocExamplesPlugin"]),
    // Entry points the process tests start in children of their own.
    .executableTarget(name: "ipc-test-peer", dependencies: ["IPC"], path: "Tests/ProcessPeer"),
    .testTarget(
      name: "IPCTests",
      dependencies: [
        // CIPCShims too: tests call the raw C functions to check the library against them.
        "IPC", "CIPCShims", "ipc", "ipc-bench", "ipc-test-peer", "python-walkthrough", "processes-guide",
        "doc-examples", "doc-examples-generator",
      ],
      path: "Tests/IPCTests"
    ),
  ],
  swiftLanguageModes: [.v6]
)
