import DeviceTree
import Diagnostics
import Testing
import TestSupport
import VirtioRuntime

/// PCI requester IDs through `iommu-map`, as Linux's `of_map_id` walks it.
@Suite struct PCIBindingTests {
    private func bind(_ binder: Binder, _ rid: String, _ bridge: String?) throws -> RIDBinding {
        let requester = try #require(RequesterID(parsing: rid))
        return try binder.bind(rid: requester, bridge: bridge)
    }

    @Test func fixtureRowsDecode() throws {
        let binder = try Fixture.binder("pci-iommu-map.dts")
        #expect(binder.pciBridges.map(\.path) == ["/pcie@10000000", "/pcie@30000000"])
        #expect(binder.pciBridges.map(\.mask) == [0xffff_ffff, 0xfff8])
        let rows = binder.pciBridges[0].map.rows
        #expect(rows.map(\.ridBase) == [0x8, 0x9, 0x10])
        #expect(rows.map(\.outBase) == [1, 5, 2])
        #expect(rows.map(\.length) == [1, 1, 8])
        #expect(rows.map(\.target) == ["/xen_iommu", "/xen_iommu", "/xen_iommu"])
        #expect(rows.map(\.dma) == [.grant(backend: 1), .grant(backend: 5), .grant(backend: 2)])
    }

    @Test(arguments: [
        ("00:01.0", DMABinding.grant(backend: 1)),
        ("00:01.1", .grant(backend: 5)),
        ("00:01.2", .direct),
        ("0x0010", .grant(backend: 2)),
        // The length-8 trap: function 3 of slot 2 goes to domain 2 + 3.
        ("00:02.3", .grant(backend: 5)),
        ("00:03.0", .direct),
        ("01:01.0", .direct),
    ])
    func unmaskedBridge(rid: String, dma: DMABinding) throws {
        let binding = try bind(try Fixture.binder("pci-iommu-map.dts"), rid, "/pcie@10000000")
        #expect(binding.dma == dma)
        #expect(binding.bridge == "/pcie@10000000")
    }

    @Test(arguments: [
        ("00:01.0", DMABinding.grant(backend: 4)),
        ("00:01.5", .grant(backend: 4)),
        ("0x0103", .grant(backend: 6)),
        ("02:01.0", .direct),
    ])
    func maskedBridge(rid: String, dma: DMABinding) throws {
        #expect(try bind(try Fixture.binder("pci-iommu-map.dts"), rid, "/pcie@30000000").dma == dma)
    }

    @Test func lookupReportsTheRow() throws {
        let binder = try Fixture.binder("pci-iommu-map.dts")
        #expect(try bind(binder, "00:02.3", "/pcie@10000000").lookup == .matched(row: 2, maskedRID: 0x13, output: 5))
        #expect(try bind(binder, "00:01.5", "/pcie@30000000").lookup == .matched(row: 0, maskedRID: 0x8, output: 4))
        #expect(try bind(binder, "00:03.0", "/pcie@10000000").lookup == .noMatch(maskedRID: 0x18))
    }

    @Test func bridgeChoice() throws {
        let binder = try Fixture.binder("pci-iommu-map.dts")
        let rid = RequesterID(8)
        #expect(throws: RIDBindError.ambiguous(["/pcie@10000000", "/pcie@30000000"])) { try binder.bind(rid: rid, bridge: nil) }
        #expect(throws: RIDBindError.unknownBridge(path: "/xen_iommu", known: ["/pcie@10000000", "/pcie@30000000"])) {
            try binder.bind(rid: rid, bridge: "/xen_iommu")
        }
        let none = try Fixture.binder("libxl-three-devices.dts")
        #expect(throws: RIDBindError.noBridge) { try none.bind(rid: rid, bridge: nil) }
    }

    // MARK: - of_map_id details, on trees built in code

    private func bridgeTree(map: [UInt32]?, mask: PropertyValue? = nil, extra: [Node] = []) -> DeviceTree {
        var bridge = Node(
            "pcie@10000000",
            properties: [Property("compatible", .string("pci-host-ecam-generic")), Property("device_type", .string("pci"))])
        if let map { bridge.set("iommu-map", .cells(map)) }
        if let mask { bridge.set("iommu-map-mask", mask) }
        let grant = Node("xen_iommu", properties: [
            Property("compatible", .string("xen,grant-dma")), Property("#iommu-cells", .u32(1)), Property("phandle", .u32(0xfde9)),
        ])
        return DeviceTree(root: Node("", children: [grant, bridge] + extra))
    }

    private func lookup(_ tree: DeviceTree, _ rid: UInt16) throws -> RIDBinding {
        try Binder(tree: tree).bind(rid: RequesterID(rid), bridge: nil)
    }

    @Test func noMapMeansNoTranslation() throws {
        let binding = try lookup(bridgeTree(map: nil), 8)
        #expect(binding.lookup == .noMap)
        #expect(binding.dma == .direct)
    }

    @Test func malformedMapFailsEveryRID() throws {
        let tree = bridgeTree(map: [8, 0xfde9, 1])
        #expect(try lookup(tree, 8).lookup == .malformedMap(reason: "iommu-map has 12 bytes; it must be a non-empty list of 16-byte rows"))
        #expect(try lookup(bridgeTree(map: []), 8).dma == .direct)
    }

    @Test func rowOutsideTheMaskFailsOnlyLookupsThatReachIt() throws {
        // Row 0 matches RID 0x8 first; row 1 (rid-base 0x11 with mask 0xfff8) is never reached for it.
        let tree = bridgeTree(map: [8, 0xfde9, 1, 8, 0x11, 0xfde9, 2, 8], mask: .u32(0xfff8))
        #expect(try lookup(tree, 0x8).dma == .grant(backend: 1))
        #expect(try lookup(tree, 0x20).lookup == .rowOutsideMask(row: 1))
    }

    @Test func danglingTargetFailsOnlyItsRIDs() throws {
        let tree = bridgeTree(map: [8, 0x1234, 1, 1, 0x10, 0xfde9, 2, 1])
        #expect(try lookup(tree, 0x8).lookup == .danglingTarget(row: 0, phandle: 0x1234))
        #expect(try lookup(tree, 0x10).dma == .grant(backend: 2))
    }

    @Test func firstMatchingRowWins() throws {
        let tree = bridgeTree(map: [8, 0xfde9, 1, 8, 8, 0xfde9, 9, 1])
        #expect(try lookup(tree, 0x8).lookup == .matched(row: 0, maskedRID: 8, output: 1))
    }

    @Test func wrappingRowNeverMatches() throws {
        // 0xfffffff0 + 0x20 wraps to 0x10 in 32 bits, so masked >= end for every RID.
        let tree = bridgeTree(map: [0xffff_fff0, 0xfde9, 1, 0x20, 0, 0xfde9, 3, 0x10000])
        #expect(try lookup(tree, 0x5).lookup == .matched(row: 1, maskedRID: 5, output: 8))
    }

    @Test func shortMaskIsIgnoredLongMaskReadsItsFirstCell() throws {
        let short = bridgeTree(map: [8, 0xfde9, 1, 1], mask: .bytes([0xff, 0xf8]))
        #expect(try lookup(short, 0x9).dma == .direct)
        let long = bridgeTree(map: [8, 0xfde9, 1, 1], mask: .cells([0xfff8, 0]))
        #expect(try lookup(long, 0x9).dma == .grant(backend: 1))
    }

    @Test func nonGrantTargets() throws {
        let smmu = Node("iommu@5000000", properties: [
            Property("compatible", .string("arm,smmu-v3")), Property("#iommu-cells", .u32(1)), Property("phandle", .u32(7)),
        ])
        let plain = Node("plain", properties: [Property("phandle", .u32(9))])
        let tree = bridgeTree(map: [8, 7, 0x40, 1, 0x10, 9, 1, 1], extra: [smmu, plain])
        #expect(try lookup(tree, 0x8).dma == .iommu(path: "/iommu@5000000"))
        #expect(try lookup(tree, 0x10).dma == .direct)
        #expect(Binder(tree: tree).pciBridges[0].map.rows.map(\.dma) == [.iommu(path: "/iommu@5000000"), .direct])
    }

    @Test func disabledAndNestedBridges() throws {
        var disabled = bridgeTree(map: [8, 0xfde9, 1, 1])
        disabled.root.children[1].set("status", .string("disabled"))
        #expect(Binder(tree: disabled).pciBridges.isEmpty)
        // A PCI-PCI bridge below a host bridge is not a host bridge.
        let child = Node("pci@1,0", properties: [Property("device_type", .string("pci"))])
        var nested = bridgeTree(map: [8, 0xfde9, 1, 1])
        nested.root.children[1].children = [child]
        #expect(Binder(tree: nested).pciBridges.map(\.path) == ["/pcie@10000000"])
    }

    // MARK: - Properties against brute force

    /// Random maps and masks: the binding of every 16-bit RID equals the
    /// first row holding the masked RID, computed the slow way; the
    /// overlap rule fires exactly when two non-empty rows intersect; the
    /// domid rule when some RID maps above 0x7fef; the stride warning when
    /// a row holds more than one masked RID.
    @Test func randomMapsAgainstBruteForce() throws {
        var random = SplitMix64(seed: 0x5eed_0001)
        for _ in 0..<40 {
            let mask: UInt32 = [0xffff_ffff, 0xfff8, 0xff00, 0x00f0][Int.random(in: 0..<4, using: &random)]
            var cells: [UInt32] = []
            for _ in 0..<Int.random(in: 1...5, using: &random) {
                let base = UInt32.random(in: 0..<0x80, using: &random) & mask
                let out = UInt32.random(in: 0x7f80...0x7ff8, using: &random)
                cells += [base, 0xfde9, out, UInt32.random(in: 0...24, using: &random)]
            }
            let tree = bridgeTree(map: cells, mask: .u32(mask))
            let binder = Binder(tree: tree)
            let rows = stride(from: 0, to: cells.count, by: 4).map { Array(cells[$0..<($0 + 4)]) }
            for rid in UInt32(0)..<0x100 {
                let masked = rid & mask
                let row = rows.first { masked >= $0[0] && UInt64(masked) < UInt64($0[0]) + UInt64($0[3]) }
                let expected: DMABinding = row.map { .grant(backend: masked - $0[0] + $0[2]) } ?? .direct
                #expect(try binder.bind(rid: RequesterID(UInt16(rid)), bridge: nil).dma == expected)
            }
            let rules = Set(TreeChecks.run(binder, file: nil).map(\.rule))
            let spans = rows.filter { $0[3] > 0 }.map { UInt64($0[0])..<(UInt64($0[0]) + UInt64($0[3])) }
            let overlapping = spans.indices.contains { i in spans.indices.contains { j in i < j && spans[i].overlaps(spans[j]) } }
            #expect(rules.contains("DT-IOMMU-MAP-OVERLAP") == overlapping, "map \(cells) mask \(mask)")
            #expect(rules.contains("DT-DOMID-RANGE") == (highestOutput(rows, mask) > 0x7fef), "map \(cells) mask \(mask)")
            let strided = rows.contains { row in (row[0]..<(row[0] + row[3])).filter { $0 & mask == $0 }.count > 1 }
            #expect(rules.contains("DT-IOMMU-MAP-DOMID-STRIDE") == strided, "map \(cells) mask \(mask)")
        }
    }

    /// The largest output of any row for any masked RID in its own range,
    /// shadowed or not (the check looks at each row on its own).
    private func highestOutput(_ rows: [[UInt32]], _ mask: UInt32) -> UInt64 {
        var highest: UInt64 = 0
        for row in rows where row[3] > 0 {
            for rid in row[0]..<(row[0] + row[3]) where rid & mask == rid {
                highest = max(highest, UInt64(rid - row[0]) + UInt64(row[2]))
            }
        }
        return highest
    }
}

@Suite struct RequesterIDTests {
    @Test(arguments: [
        ("0x0008", UInt16(0x0008)), ("0x8", 0x8), ("0XFFFF", 0xffff), ("00:01.0", 0x8), ("00:01.1", 0x9),
        ("0000:00:01.1", 0x9), ("ff:1f.7", 0xffff), ("1:2.3", 0x113), ("0a:00.0", 0xa00),
    ])
    func parses(text: String, value: UInt16) {
        #expect(RequesterID(parsing: text)?.value == value)
    }

    @Test(arguments: ["", "8", "0x", "0x10000", "0x-1", "00:20.0", "00:01.8", "00:01", "+1:00.0", "100:00.0", "00000:00:01.0", "00:01.0.0", "g0:00.0"])
    func rejects(text: String) {
        #expect(RequesterID(parsing: text) == nil)
    }

    @Test func everyValueRoundTrips() {
        for value in UInt16.min...UInt16.max {
            let rid = RequesterID(value)
            #expect(RequesterID(parsing: rid.description) == rid)
            #expect(RequesterID(parsing: rid.hexText) == rid)
        }
        #expect(RequesterID(0x0a0b).description == "0a:01.3")
        #expect(RequesterID(0x0008).hexText == "0x0008")
    }
}
