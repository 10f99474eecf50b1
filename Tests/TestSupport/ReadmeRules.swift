import Foundation

/// The README's rule tables, which must list every rule exactly as its
/// catalog states it: `| `ID` | severity | what it catches | how to fix |`.
public enum ReadmeRules {
    /// The README's text (empty when it cannot be read, so tests fail).
    public static var text: String {
        (try? String(contentsOfFile: Paths.inPackage("README.md"), encoding: .utf8)) ?? ""
    }

    /// The row a rule must have: cells as in the catalog, `|` escaped.
    public static func row(id: String, severity: String, summary: String, fix: String) -> String {
        "| `\(id)` | \(severity) | \(cell(summary)) | \(cell(fix)) |"
    }

    /// The ids of the rule rows whose id starts with `prefix`, in README order.
    public static func ids(prefix: String) -> [String] {
        rows.map(\.id).filter { $0.hasPrefix(prefix) }
    }

    /// The documented severity of every rule, by id.
    public static var severities: [String: String] {
        Dictionary(rows.map { ($0.id, $0.severity) }, uniquingKeysWith: { first, _ in first })
    }

    private static var rows: [(id: String, severity: String)] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("| `") else { return nil }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, cells[1].hasPrefix("`"), cells[1].hasSuffix("`") else { return nil }
            let id = String(cells[1].dropFirst().dropLast())
            guard id.contains("-"), id == id.uppercased(), ["error", "warning", "note"].contains(cells[2]) else { return nil }
            return (id, cells[2])
        }
    }

    private static func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
}
