import Testing
import TestSupport
import XLConfig

/// The README's XL-* table is the front-end catalog, row for row.
@Suite struct ReadmeTests {
    @Test func readmeListsEveryRuleAsTheCatalogSaysIt() {
        let readme = ReadmeRules.text
        for rule in XLRules.all {
            let row = ReadmeRules.row(id: rule.id, severity: rule.severity.rawValue, summary: rule.summary, fix: rule.fix)
            #expect(readme.contains(row), "README row out of step; expected:\n\(row)")
        }
        #expect(ReadmeRules.ids(prefix: "XL-") == XLRules.all.map(\.id), "README lists other XL- rules, or in another order")
    }
}
