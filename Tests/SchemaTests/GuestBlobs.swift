import Foundation
import Testing
import TestSupport

/// The blobs the checks run on: every tree grantdt produces for the
/// layout goldens and every example.
///
/// The goldens are compiled with dtc: GoldenTests proves grantdt's blob
/// for each golden guest is byte-identical to dtc's blob of the golden
/// DTS, so these are grantdt's own output. `*.input.dts` files are inputs
/// (partial device trees), not output, and are left out.
enum GuestBlobs {
    struct Blob: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        var testDescription: String { name }
    }

    static let goldenDirectory = "Tests/GuestLayoutTests/Golden"
    static let exampleDirectory = "examples"

    /// Goldens, then examples, each sorted by path.
    static func all() throws -> [Blob] {
        try goldens() + examples()
    }

    static func goldens() throws -> [Blob] {
        try sources(under: goldenDirectory).filter { !$0.hasSuffix(".input.dts") }.map(compiled)
    }

    /// Every example tree: DTS sources under examples/ now; the xl.cfg
    /// examples join here once `grantdt compile` exists.
    static func examples() throws -> [Blob] {
        try sources(under: exampleDirectory).map(compiled)
    }

    /// `.dts` files below a package directory, as package-relative paths.
    static func sources(under directory: String) throws -> [String] {
        let root = Paths.inPackage(directory)
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".dts") }.sorted().map { directory + "/" + $0 }
    }

    /// dtc's blob of a package-relative DTS file (includes resolve next to it).
    static func compiled(_ path: String) throws -> Blob {
        let result = try Tool.dtc(["-q", "-I", "dts", "-O", "dtb", "-o", "-", Paths.inPackage(path)])
        guard result.status == 0 else { throw DTC.OracleError.dtcFailed("\(path): \(result.stderr)") }
        return Blob(name: path, bytes: result.stdout)
    }
}
