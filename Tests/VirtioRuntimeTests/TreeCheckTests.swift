import Diagnostics
import Foundation
import Testing
import TestSupport
import VirtioRuntime

/// One fixture per rule (Fixtures/rules/RULE-ID.dts) listing the exact
/// diagnostics it must produce; clean trees produce none.
@Suite struct TreeCheckTests {
    @Test func everyRuleHasAFixture() {
        let ids = TreeRules.all.map(\.id)
        #expect(Fixture.ruleFixtures == ids.sorted().map { $0 + ".dts" })
        #expect(Set(ids).count == ids.count, "rule ids must be unique")
        #expect(ids.allSatisfy { $0.hasPrefix("DT-") })
    }

    /// The README's DT-* table is the catalog, row for row.
    @Test func readmeListsEveryRule() {
        let readme = ReadmeRules.text
        for rule in TreeRules.all {
            let row = ReadmeRules.row(id: rule.id, severity: rule.severity.rawValue, summary: rule.summary, fix: rule.fix)
            #expect(readme.contains(row), "README row out of step; expected:\n\(row)")
        }
        #expect(ReadmeRules.ids(prefix: "DT-") == TreeRules.all.map(\.id), "README lists other DT- rules, or in another order")
    }

    @Test(arguments: Fixture.ruleFixtures)
    func fixtureGivesExactlyItsDiagnostics(fixture: String) throws {
        let name = "rules/" + fixture
        let expected = try Fixture.expectations(name)
        let found = TreeChecks.run(try Fixture.tree(name), file: "guest.dtb")
        #expect(found.map { "\($0.rule) \($0.node ?? "-")" } == expected)
        // The fixture's own rule is what it demonstrates.
        #expect(expected.contains { $0.hasPrefix(fixture.dropLast(4) + " ") })
        for diagnostic in found {
            #expect(diagnostic.file == "guest.dtb")
            #expect(diagnostic.line == nil && diagnostic.column == nil)
            #expect(diagnostic.hint?.isEmpty == false)
            let rule = TreeRules.all.first { $0.id == diagnostic.rule }
            #expect(rule?.severity == diagnostic.severity)
        }
    }

    @Test(arguments: ["libxl-three-devices.dts", "labels-dtc-phandles.dts", "pci-iommu-map.dts"])
    func cleanTreesGiveNothingButTheTrapWarning(fixture: String) throws {
        let found = TreeChecks.run(try Fixture.tree(fixture), file: nil)
        // pci-iommu-map.dts has the length-8 row on purpose.
        #expect(found.map(\.rule) == (fixture == "pci-iommu-map.dts" ? ["DT-IOMMU-MAP-DOMID-STRIDE"] : []))
    }

    @Test func messagesNameTheFacts() throws {
        let found = TreeChecks.run(try Fixture.tree("rules/DT-DOMID-RANGE.dts"), file: nil)
        #expect(found[0].message.contains("0x7ff0") && found[0].message.contains("DOMID_SELF"))
        #expect(found[1].message.contains("low 16 bits") && found[1].message.contains("0x1"))
        let stride = TreeChecks.run(try Fixture.tree("rules/DT-IOMMU-MAP-DOMID-STRIDE.dts"), file: nil)
        #expect(stride.map(\.message) == [
            "iommu-map row 0 maps RIDs 0x8-0xf (iommu-map-mask 0xffffffff) to domids 1-8, one per RID: 00:01.1 gets domid 2, not 1",
        ])
        let overlap = TreeChecks.run(try Fixture.tree("rules/DT-IOMMU-MAP-OVERLAP.dts"), file: nil)
        #expect(overlap.map(\.message) == ["iommu-map rows 0 and 2 both cover RID 0x8: Linux uses row 0 for them"])
        let cycle = TreeChecks.run(try Fixture.tree("rules/DT-VIRTIO-NO-IRQ.dts"), file: nil)
        #expect(cycle.contains { $0.node == "/virtio@2000400" && $0.message.contains("loops") })
    }

    @Test func diagnosticsRenderWithTheNodePath() throws {
        let found = TreeChecks.run(try Fixture.tree("rules/DT-IOMMUS-DANGLING.dts"), file: "guest.dtb")
        let text = DiagnosticText.render(found[0])
        #expect(text.hasPrefix("guest.dtb: error[DT-IOMMUS-DANGLING]: /virtio@2000000: iommus phandle 0x1234 matches no node"))
        #expect(text.contains("\nhint: "))
    }

    /// dtc's own iommus check agrees with ours on the fixtures it covers.
    @Test func dtcFlagsTheSameIOMMUsNodes() throws {
        for fixture in ["DT-IOMMUS-DANGLING.dts", "DT-IOMMUS-LENGTH.dts"] {
            let result = try Tool.dtc(["-I", "dts", "-O", "dtb", "-o", "/dev/null", Fixture.directory + "/rules/" + fixture])
            let dtcNodes = Set(
                result.stderr.split(separator: "\n").filter { $0.contains("iommus_property") }
                    .compactMap { $0.split(separator: " ").first { $0.hasPrefix("/virtio") }?.split(separator: ":").first.map(String.init) })
            let ours = Set(TreeChecks.run(try Fixture.tree("rules/" + fixture), file: nil).compactMap(\.node))
            // dtc ignores the stray-byte case only by reporting it differently; it flags every node we flag.
            #expect(ours.isSubset(of: dtcNodes.union(["/virtio@2000600"])), "\(fixture): dtc \(dtcNodes), ours \(ours)")
        }
    }
}
