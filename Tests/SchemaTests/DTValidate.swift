import Foundation
import TestSupport

/// dt-validate from the project's virtual environment (`make schema-env`)
/// with the core schemas plus schemas/xen-guest.
///
/// dt-validate exits 0 whatever it finds, so its findings come from its
/// `--json-output` file, one object per finding.
enum DTValidate {
    static let executable = Paths.inPackage(".venv/bin/dt-validate")
    static let schemas = Paths.inPackage("schemas/xen-guest")

    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// `make test` sets this so that a missing validator fails the run
    /// instead of skipping the schema tests.
    static var isRequired: Bool { ProcessInfo.processInfo.environment["GRANTDT_REQUIRE_DTSCHEMA"] == "1" }

    /// Whether the schema tests run: skipped only when the validator is
    /// missing and not required.
    static var shouldRun: Bool { isInstalled || isRequired }

    struct Finding: Hashable, CustomStringConvertible {
        let file: String
        let node: String
        let propertyPath: [String]
        let schema: String
        let message: String

        var description: String { "\(file): \(node) \(propertyPath) [\(schema)]: \(message)" }

        /// The schema id without the `http://devicetree.org/schemas/` prefix and `#`.
        var schemaName: String {
            String(schema.split(separator: "/schemas/").last ?? Substring(schema)).replacingOccurrences(of: "#", with: "")
        }

        /// Whether this finding is about `property` of the node: on its
        /// path, or named in the message (`'#iommu-cells' is a required property`).
        func concerns(_ property: String) -> Bool {
            propertyPath.first == property || message.contains("'\(property)'")
        }
    }

    /// Validates the blobs, named by their keys, in one dt-validate run.
    static func findings(_ blobs: [(name: String, bytes: [UInt8])]) throws -> [Finding] {
        guard isInstalled else {
            throw ValidatorMissing(path: executable)
        }
        let directory = try TemporaryDirectory()
        var fileNames: [String: String] = [:]
        var paths: [String] = []
        for (index, blob) in blobs.enumerated() {
            let path = try directory.write("\(index).dtb", blob.bytes)
            fileNames[path] = blob.name
            paths.append(path)
        }
        let output = directory.file("findings.json")
        let result = try Tool.run(executable, ["-s", schemas, "--json-output", output] + paths)
        guard result.status == 0 else { throw ValidatorFailed(status: result.status, stderr: result.stderr) }
        let data = try Data(contentsOf: URL(fileURLWithPath: output))
        guard let objects = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw ValidatorFailed(status: 0, stderr: "findings.json is not a list of objects")
        }
        return objects.map { object in
            let file = object["file"] as? String ?? "?"
            return Finding(
                file: fileNames[file] ?? file, node: object["node"] as? String ?? "?",
                propertyPath: (object["property_path"] as? [Any] ?? []).map { "\($0)" },
                schema: object["schema"] as? String ?? "?", message: object["message"] as? String ?? "?")
        }
    }

    struct ValidatorMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is missing: run `make schema-env` (needs python3-venv, python3-dev, gcc)" }
    }

    struct ValidatorFailed: Error, CustomStringConvertible {
        let status: Int32
        let stderr: String
        var description: String { "dt-validate failed (\(status)): \(stderr)" }
    }
}
