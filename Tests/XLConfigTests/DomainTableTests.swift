import Diagnostics
import Testing
import XLConfig

/// `--domains FILE`: `NAME DOMID` lines.
@Suite struct DomainTableTests {
    private func parse(_ text: String) -> (table: DomainTable, diagnostics: [Diagnostic]) {
        DomainTable.parse(file: "domains.txt", text: Array(text.utf8))
    }

    @Test func readsNamesAndDomids() {
        let (table, diagnostics) = parse("# running domains\nstorage-be 2\n\n  net_be.1\t3   # NIC backend\n")
        #expect(diagnostics.isEmpty)
        #expect(table.domid(named: "storage-be") == 2)
        #expect(table.domid(named: "net_be.1") == 3)
        #expect(table.domid(named: "Domain-0") == 0)
        #expect(table.domid(named: "domain-0") == nil)
        #expect(table.file == "domains.txt")
        #expect(DomainTable().domid(named: "Domain-0") == 0)
    }

    @Test(arguments: [
        ("storage\n", "XL-DOMAINS-SYNTAX", 1, 8),
        ("storage 2 3\n", "XL-DOMAINS-SYNTAX", 1, 11),
        ("sto/rage 2\n", "XL-DOMAINS-SYNTAX", 1, 4),
        ("storage 0x2\n", "XL-DOMAINS-SYNTAX", 1, 9),
        ("storage 32752\n", "XL-DOMAINS-ENTRY", 1, 9),
        ("storage 99999999999999999999\n", "XL-DOMAINS-ENTRY", 1, 9),
        ("a 1\na 2\n", "XL-DOMAINS-ENTRY", 2, 1),
        ("a 1\nb 1\n", "XL-DOMAINS-ENTRY", 2, 3),
        ("Domain-0 4\n", "XL-DOMAINS-ENTRY", 1, 10),
    ])
    func badLinesAreReportedAndSkipped(_ text: String, _ rule: String, _ line: Int, _ column: Int) throws {
        let (table, diagnostics) = parse("# domains\n" + text)
        let finding = try #require(diagnostics.first)
        #expect(diagnostics.count == 1)
        #expect(finding.rule == rule)
        #expect(finding.file == "domains.txt")
        #expect(finding.line == line + 1)
        #expect(finding.column == column)
        // Good lines before the bad one still count.
        if text.hasPrefix("a 1") { #expect(table.domid(named: "a") == 1) }
    }

    @Test func aTableWithErrorsStillResolvesItsGoodLines() {
        let (table, diagnostics) = parse("bad line here\ngood 7\n")
        #expect(diagnostics.count == 1)
        #expect(table.domid(named: "good") == 7)
    }
}
