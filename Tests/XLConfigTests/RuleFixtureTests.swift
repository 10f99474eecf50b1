import Diagnostics
import Testing
import XLConfig

/// One fixture per rule: the file, place, rule, severity and exit code of its finding.
@Suite struct RuleFixtureTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let rule: String
        let line: Int?
        let column: Int?
        let severity: Severity
        let exitCode: Int32
        var version = "4.22"
        var domains: String?

        var testDescription: String { rule }
        var isDomainsFile: Bool { rule.hasPrefix("XL-DOMAINS-") }
        var fixtureName: String { "rules/\(rule)" + (isDomainsFile ? ".domains" : ".cfg") }
    }

    static let cases: [Case] = [
        Case(rule: "XL-LEXICAL", line: 3, column: 10, severity: .error, exitCode: 1),
        Case(rule: "XL-UNQUOTED", line: 3, column: 15, severity: .error, exitCode: 1),
        Case(rule: "XL-SYNTAX", line: 4, column: 10, severity: .error, exitCode: 1),
        Case(rule: "XL-ESCAPE", line: 2, column: 14, severity: .error, exitCode: 1),
        Case(rule: "XL-ADD-MISMATCH", line: 4, column: 7, severity: .error, exitCode: 1),
        Case(rule: "XL-CRLF", line: 2, column: 15, severity: .warning, exitCode: 0),
        Case(rule: "XL-COMMENT-EOF", line: 3, column: 1, severity: .warning, exitCode: 0),
        Case(rule: "XL-LAST-BYTE", line: 3, column: 13, severity: .warning, exitCode: 0),
        Case(rule: "XL-OVERRIDDEN", line: 3, column: 1, severity: .note, exitCode: 0),
        Case(rule: "XL-UNKNOWN-KEY", line: 3, column: 1, severity: .warning, exitCode: 0),
        Case(rule: "XL-VERSION-KEY", line: 3, column: 1, severity: .warning, exitCode: 0, version: "4.18"),
        Case(rule: "XL-NOT-A-NUMBER", line: 3, column: 10, severity: .warning, exitCode: 0),
        Case(rule: "XL-OCTAL", line: 3, column: 10, severity: .warning, exitCode: 0),
        Case(rule: "XL-ADD-NUMBER", line: 4, column: 8, severity: .warning, exitCode: 0),
        Case(rule: "XL-NOT-A-LIST", line: 3, column: 9, severity: .warning, exitCode: 0),
        Case(rule: "XL-NOT-SINGLE", line: 3, column: 10, severity: .warning, exitCode: 0),
        Case(rule: "XL-NESTED-LIST", line: 3, column: 20, severity: .warning, exitCode: 0),
        Case(rule: "XL-NAME-MISSING", line: nil, column: nil, severity: .error, exitCode: 1),
        Case(rule: "XL-INVALID-VALUE", line: 3, column: 15, severity: .error, exitCode: 1),
        Case(rule: "XL-MAXVCPUS", line: 4, column: 12, severity: .error, exitCode: 1),
        Case(rule: "XL-VCPUS-RAISED", line: 3, column: 9, severity: .warning, exitCode: 0),
        Case(rule: "XL-CMDLINE-WINS", line: 4, column: 8, severity: .warning, exitCode: 0),
        Case(rule: "XL-ACPI", line: 3, column: 8, severity: .error, exitCode: 1),
        Case(rule: "XL-TYPE-PV", line: 3, column: 8, severity: .note, exitCode: 0),
        Case(rule: "XL-TYPE-PREFIX", line: 3, column: 8, severity: .note, exitCode: 0),
        Case(rule: "XL-DISK-SPEC", line: 3, column: 22, severity: .error, exitCode: 1),
        Case(rule: "XL-DISK-TARGET-REST", line: 3, column: 44, severity: .warning, exitCode: 0),
        Case(rule: "XL-DISK-BACKEND", line: 3, column: 23, severity: .error, exitCode: 1),
        Case(rule: "XL-VIRTIO-SPEC", line: 3, column: 13, severity: .error, exitCode: 1),
        Case(rule: "XL-VIRTIO-TYPE-LAST", line: 3, column: 29, severity: .error, exitCode: 1),
        Case(rule: "XL-VIRTIO-NO-TRANSPORT", line: 3, column: 12, severity: .warning, exitCode: 0),
        Case(rule: "XL-VIRTIO-TYPE-GLUE", line: 3, column: 36, severity: .warning, exitCode: 0),
        Case(rule: "XL-VIRTIO-GRANT-USAGE", line: 3, column: 74, severity: .warning, exitCode: 0),
        Case(rule: "XL-BACKEND-NAME", line: 3, column: 21, severity: .error, exitCode: 1),
        Case(rule: "XL-BACKEND-RANGE", line: 3, column: 19, severity: .warning, exitCode: 0),
        Case(rule: "XL-SELF-BACKEND", line: 3, column: 19, severity: .warning, exitCode: 0, domains: "rules/XL-SELF-BACKEND.domains"),
        Case(rule: "XL-MIXED-GRANTS", line: 4, column: 12, severity: .warning, exitCode: 0),
        Case(rule: "XL-DOMAINS-SYNTAX", line: 2, column: 12, severity: .error, exitCode: 1),
        Case(rule: "XL-DOMAINS-ENTRY", line: 3, column: 8, severity: .error, exitCode: 1),
    ]

    @Test func everyRuleHasAFixture() {
        let covered = Set(Self.cases.map(\.rule))
        for rule in XLRules.all { #expect(covered.contains(rule.id), "no fixture for \(rule.id)") }
        #expect(covered.count == Self.cases.count, "a rule has two fixture cases")
        #expect(Set(XLRules.all.map(\.id)).count == XLRules.all.count, "two rules share an id")
    }

    @Test(arguments: cases) func fixtureFindsItsRule(_ expected: Case) throws {
        let (path, bytes) = try fixture(expected.fixtureName)
        let diagnostics: [Diagnostic]
        if expected.isDomainsFile {
            diagnostics = DomainTable.parse(file: path, text: bytes).diagnostics
        } else {
            let table = try expected.domains.map { name in
                let (domainsPath, domainsBytes) = try fixture(name)
                let parsed = DomainTable.parse(file: domainsPath, text: domainsBytes)
                #expect(parsed.diagnostics.isEmpty)
                return parsed.table
            }
            let options = XLOptions(xenVersion: XenVersion(expected.version) ?? .default, domains: table)
            diagnostics = XLConfigReader.read(file: path, text: bytes, options: options).diagnostics
        }
        // Each fixture shows its problem and nothing else.
        #expect(diagnostics.map(\.rule) == [expected.rule], "\(diagnostics.map(DiagnosticText.render))")
        let finding = try #require(diagnostics.first)
        #expect(finding.file == path)
        #expect(finding.line == expected.line)
        #expect(finding.column == expected.column)
        #expect(finding.severity == expected.severity)
        #expect(XLRules.all.first { $0.id == expected.rule }?.severity == expected.severity)
        #expect(finding.hint?.isEmpty == false)
        #expect(Diagnostic.exitCode(for: diagnostics) == expected.exitCode)
        // --werror fails warnings, never notes.
        #expect(Diagnostic.exitCode(for: diagnostics, werror: true) == (expected.severity == .note ? 0 : 1))
    }
}
