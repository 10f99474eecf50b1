import Diagnostics
import Foundation
import TestSupport
import XLConfig

/// Reads inline config text as the CLI would read a file.
func read(_ text: String, version: String = "4.22", domains: String? = nil, file: String = "guest.cfg") -> XLReadResult {
    XLConfigReader.read(file: file, text: Array(text.utf8), options: options(version: version, domains: domains))
}

func options(version: String, domains: String?) -> XLOptions {
    let table = domains.map { DomainTable.parse(file: "domains.txt", text: Array($0.utf8)).table }
    return XLOptions(xenVersion: XenVersion(version) ?? .default, domains: table)
}

/// The rule ids of a result, in order.
func rules(_ result: XLReadResult) -> [String] { result.diagnostics.map(\.rule) }

/// The one diagnostic of `rule`, or nil when there is none or several.
func only(_ rule: Rule, in result: XLReadResult) -> Diagnostic? {
    let matching = result.diagnostics.filter { $0.rule == rule.id }
    return matching.count == 1 ? matching[0] : nil
}

/// A fixture's bytes.
func fixture(_ name: String) throws -> (path: String, bytes: [UInt8]) {
    let path = Paths.inPackage("Tests/XLConfigTests/Fixtures/" + name)
    guard let data = FileManager.default.contents(atPath: path) else { throw FixtureMissing(path: path) }
    return (path, Array(data))
}

struct FixtureMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "fixture not found: \(path)" }
}

