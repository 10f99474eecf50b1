import Foundation

/// Where things are when tests run.
public enum Paths {
    /// The package root (this file is Tests/TestSupport/Paths.swift).
    public static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// The build products directory: the test bundle runs from there.
    public static let products: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // The XCTest bundle on Linux is a file inside the products directory;
        // a `.xctest` directory layout would put it one level deeper.
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("grantdt").path) {
            url = url.deletingLastPathComponent()
        }
        return url.path
    }()

    /// The `grantdt` executable of this build.
    public static var grantdt: String { products + "/grantdt" }

    /// A file under the package root.
    public static func inPackage(_ relative: String) -> String { packageRoot + "/" + relative }
}

/// A fresh directory under the system temporary directory, removed on deinit.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("grantdt-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes bytes to a file inside the directory and returns its path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let target = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    /// Writes text to a file inside the directory and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    /// The bytes of a file inside the directory, or nil if it does not exist.
    public func read(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: file(name)).map(Array.init)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
