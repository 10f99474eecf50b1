import GuestLayout
import Testing
import TestSupport

/// The README's GUEST-* table is the layout catalog, row for row.
@Suite struct ReadmeTests {
    @Test func readmeListsEveryRuleAsTheCatalogSaysIt() {
        let readme = ReadmeRules.text
        for rule in LayoutRules.all {
            let row = ReadmeRules.row(id: rule.id, severity: rule.severity.rawValue, summary: rule.summary, fix: rule.fix)
            #expect(readme.contains(row), "README row out of step; expected:\n\(row)")
        }
        #expect(ReadmeRules.ids(prefix: "GUEST-") == LayoutRules.all.map(\.id), "README lists other GUEST- rules, or in another order")
    }
}
