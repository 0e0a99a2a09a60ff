/// What the harness does with one ```swift block, from the directive before it.
enum Directive: Equatable {
  /// No directive: a complete program, compiled and run.
  case complete
  /// `continues`: appended to the previous block of the page, run as one program with it.
  case continues
  /// `fragment NAME`: compiled after the page's context NAME, never run.
  case fragment(String)
  /// `compile-only: REASON`: compiled, never run.
  case compileOnly(String)
  /// `part of PATH`: word for word in the program at PATH, which the tests build and run.
  case partOf(String)
  /// `manifest`: a Package.swift, evaluated by the tests with `swift package dump-package`.
  case manifest
}

/// One ```swift block of a page.
struct SwiftBlock {
  /// The line of the opening fence (1-based): the block's place in its page.
  var fenceLine: Int
  /// The block's lines, without the fences and without the fence's indentation.
  var lines: [String]
  var directive: Directive
}

/// Hidden setup code a page declares for its fragments (`<!-- example: context NAME`).
struct ExampleContext {
  var name: String
  /// The line of the context's first Swift line.
  var firstLine: Int
  var lines: [String]
}
