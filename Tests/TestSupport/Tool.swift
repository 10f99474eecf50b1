import Foundation

/// The result of running an external program.
public struct ToolResult: Sendable {
    public let status: Int32
    public let stdout: [UInt8]
    public let stderr: String

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs external programs (dtc, the built `grantdt`) from tests.
public enum Tool {
    /// Runs `executable` (a path, or a name looked up in PATH) to completion,
    /// in `directory` when given.
    public static func run(_ executable: String, _ arguments: [String], stdin: [UInt8] = [], in directory: String? = nil) throws -> ToolResult {
        let process = Process()
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Drain both pipes concurrently so a chatty child cannot block.
        let errorData = LockedBox<Data>(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errorData.set(error.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        input.fileHandleForWriting.write(Data(stdin))
        try? input.fileHandleForWriting.close()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return ToolResult(
            status: process.terminationStatus, stdout: Array(outData),
            stderr: String(decoding: errorData.get(), as: UTF8.self))
    }

    /// Runs the `grantdt` executable built next to the test bundle.
    public static func grantdt(_ arguments: [String], stdin: [UInt8] = [], in directory: String? = nil) throws -> ToolResult {
        try run(Paths.grantdt, arguments, stdin: stdin, in: directory)
    }

    /// Runs `dtc` with the given arguments.
    public static func dtc(_ arguments: [String], stdin: [UInt8] = []) throws -> ToolResult {
        try run("dtc", arguments, stdin: stdin)
    }
}

/// A value shared between threads under a lock.
public final class LockedBox<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }
    public func get() -> Value { lock.withLock { value } }
    public func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
