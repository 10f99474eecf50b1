import DeviceTree
import Foundation
import Testing
import TestSupport

/// The blobs the checks run on: every guest tree grantdt produces for the
/// layout goldens and the examples.
///
/// A golden's blob is dtc's compilation of its DTS. GoldenTests proves
/// grantdt's blob for each golden guest is byte-identical to it, and the
/// examples' tests prove each example compiles to the tree its golden
/// describes, so these are grantdt's own output. Only guest trees count:
/// files whose root `model` is libxl's `XENVM-X.Y`; partial device trees
/// (`*.input.dts`, an example's `device_tree=` file) are inputs.
enum GuestBlobs {
    struct Blob: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        var testDescription: String { name }
    }

    /// Every DTS below these package directories is considered.
    static let directories = ["Tests/GuestLayoutTests/Golden", "examples"]

    /// The guest trees, by package-relative path, sorted.
    static func all() throws -> [Blob] {
        try directories.flatMap(sources).map(compiled).filter(isGuestTree)
    }

    /// `.dts` files below a package directory, as package-relative paths.
    static func sources(under directory: String) -> [String] {
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

    static func isGuestTree(_ blob: Blob) -> Bool {
        let model = (try? DTBReader.read(blob.bytes))?.root[property: "model"]?.string
        return model?.hasPrefix("XENVM-") == true
    }
}
