import Foundation
import TestSupport

/// validate's and compile's JSON, parsed: the files and their diagnostics.
struct Report {
    struct Finding: Equatable, CustomStringConvertible {
        let severity: String
        let rule: String
        let file: String?
        let line: Int?
        let column: Int?
        let node: String?
        let hint: String?
        let message: String

        var description: String { "\(severity)[\(rule)] \(file ?? "-"):\(line.map(String.init) ?? "-"):\(column.map(String.init) ?? "-") \(node ?? "")" }
    }

    /// (path, findings) per file entry, in order.
    let files: [(path: String, findings: [Finding])]

    var findings: [Finding] { files.flatMap(\.findings) }
    /// Everything but notes.
    var problems: [Finding] { findings.filter { $0.severity != "note" } }

    /// Parses the JSON document and checks its fixed shape: exactly
    /// `files`, each with exactly `path` and `diagnostics`, each diagnostic
    /// with exactly the eight keys.
    init(_ stdout: [UInt8]) throws {
        guard let root = try JSONSerialization.jsonObject(with: Data(stdout)) as? [String: Any], Set(root.keys) == ["files"],
              let files = root["files"] as? [[String: Any]]
        else { throw ShapeError(text: String(decoding: stdout, as: UTF8.self)) }
        self.files = try files.map { file in
            guard Set(file.keys) == ["path", "diagnostics"], let path = file["path"] as? String,
                  let diagnostics = file["diagnostics"] as? [[String: Any]]
            else { throw ShapeError(text: "\(file)") }
            return (path, try diagnostics.map { item in
                guard Set(item.keys) == ["severity", "rule", "message", "file", "line", "column", "node", "hint"],
                      let severity = item["severity"] as? String, let rule = item["rule"] as? String,
                      let message = item["message"] as? String
                else { throw ShapeError(text: "\(item)") }
                return Finding(severity: severity, rule: rule, file: item["file"] as? String, line: item["line"] as? Int,
                               column: item["column"] as? Int, node: item["node"] as? String, hint: item["hint"] as? String,
                               message: message)
            })
        }
    }

    struct ShapeError: Error, CustomStringConvertible {
        let text: String
        var description: String { "not validate's JSON shape: \(text)" }
    }
}

/// A scratch directory holding copies of fixture files, so that paths
/// inside configs (kernel, device_tree) resolve against it, as xl
/// resolves them against the current directory.
final class Workspace: @unchecked Sendable {
    let directory: TemporaryDirectory
    var path: String { directory.path }

    init() throws { directory = try TemporaryDirectory() }

    /// Copies files from the package (relative paths) into the workspace.
    func copy(_ relative: [String]) throws {
        for file in relative {
            let name = (file as NSString).lastPathComponent
            try FileManager.default.copyItem(atPath: Paths.inPackage(file), toPath: directory.file(name))
        }
    }

    /// Compiles a DTS file of the workspace into a blob beside it.
    func compileDTS(_ name: String) throws {
        let result = try Tool.dtc(["-q", "-I", "dts", "-O", "dtb", "-o", directory.file(String(name.dropLast(4)) + ".dtb"), directory.file(name)])
        guard result.status == 0 else { throw DTC.OracleError.dtcFailed(result.stderr) }
    }

    /// templates/libxl-arm.layout with one replacement, written as `name`.
    func template(_ name: String, replacing old: String, with new: String) throws {
        let text = try String(contentsOfFile: Paths.inPackage("templates/libxl-arm.layout"), encoding: .utf8)
        guard text.contains(old) else { throw Report.ShapeError(text: "template has no '\(old)'") }
        try directory.write(name, text.replacingOccurrences(of: old, with: new))
    }

    /// `grantdt ARGUMENTS` run inside the workspace.
    func grantdt(_ arguments: [String]) throws -> ToolResult { try Tool.grantdt(arguments, in: path) }
}

/// Lines of text, for counting.
extension String {
    var lines: [Substring] { split(separator: "\n", omittingEmptySubsequences: false).dropLast() }
}
