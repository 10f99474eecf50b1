import DeviceTree
import Testing
import TestSupport
import VirtioRuntime

/// Binding decisions on hand-written and libxl-shaped trees, compiled by dtc.
@Suite struct BinderTests {
    @Test func libxlLayoutWithRawPhandles() throws {
        let binder = try Fixture.binder("libxl-three-devices.dts")
        #expect(binder.devices.map(summary) == [
            "/virtio@2000000 okay 0x2000000+0x200 spi 33 grant 1",
            "/virtio@2000200 okay 0x2000200+0x200 spi 34 grant 0",
            "/virtio@2000400 okay 0x2000400+0x200 spi 35 direct",
        ])
        #expect(binder.pciBridges.isEmpty)
    }

    @Test func bundledReferenceExample() throws {
        let result = try Tool.dtc(["-q", "-I", "dts", "-O", "dtb", "-o", "-", Paths.inPackage("examples/reference/virtio-disk-guest.dts")])
        let binder = Binder(tree: try DTBReader.read(result.stdout))
        #expect(binder.devices.map(summary) == ["/virtio@2000000 okay 0x2000000+0x200 spi 33 grant 1"])
    }

    @Test func labelsAndDtcNumberedPhandles() throws {
        let tree = try Fixture.tree("labels-dtc-phandles.dts")
        // dtc chose the numbers, not libxl's 0xfde8/0xfde9.
        let phandles = ["/iommu", "/interrupt-controller@8000000"].compactMap { tree.node(at: $0)?.phandle }
        #expect(phandles.count == 2 && phandles.allSatisfy { $0 < 0x10 })
        let binder = Binder(tree: tree)
        #expect(binder.devices.map(summary) == ["/virtio@a000000 okay 0xa000000+0x200 spi 48 grant 7"])
    }

    @Test func restrictedDMAPools() throws {
        let binder = try Fixture.binder("restricted-pool.dts")
        #expect(binder.devices.map(summary) == [
            "/virtio@2000000 okay 0x2000000+0x200 spi 33 bounce /reserved-memory/restricted@50400000 0x50400000+0x400000",
            "/virtio@2000200 okay 0x2000200+0x200 spi 34 bounce /reserved-memory/restricted-dynamic boot",
            "/virtio@2000400 okay 0x2000400+0x200 spi 35 bounce /reserved-memory/restricted@50400000 0x50400000+0x400000",
            "/virtio@2000600 okay 0x2000600+0x200 spi 36 grant 3",
            "/virtio@2000800 okay 0x2000800+0x200 spi 37 direct",
            "/virtio@2000a00 okay 0x2000a00+0x200 spi 38 bounce /reserved-memory/restricted@50400000 0x50400000+0x400000",
        ])
        #expect(TreeChecks.run(binder, file: nil).isEmpty)
    }

    @Test func interruptsExtendedAndNonSPIs() throws {
        let binder = try Fixture.binder("interrupts-extended.dts")
        #expect(binder.devices.map(summary) == [
            "/virtio@2000000 okay 0x2000000+0x200 spi 37 direct",
            "/virtio@2000200 okay 0x2000200+0x200 spi - direct",
            "/virtio@2000400 okay 0x2000400+0x200 spi 39 direct",
            "/virtio@2000600 okay 0x2000600+0x200 spi - direct",
            "/virtio@2000800 okay 0x2000800+0x200 spi 41 direct",
        ])
        #expect(TreeChecks.run(binder, file: nil).isEmpty)
    }

    @Test func disabledNodesAreListedNotBound() throws {
        let binder = try Fixture.binder("disabled.dts")
        #expect(binder.devices.map(summary) == [
            "/virtio@2000000 disabled 0x2000000+0x200 spi 33",
            "/virtio@2000200 okay 0x2000200+0x200 spi 34 grant 2",
            "/bus@3000000/virtio@400 disabled 0x3000400+0x200 spi 35",
            "/virtio@2000600 disabled 0x2000600+0x200 spi 36",
        ])
        #expect(binder.devices.map(\.state.dma) == [nil, .grant(backend: 2), nil, nil])
        #expect(TreeChecks.run(binder, file: nil).isEmpty)
    }

    @Test func nestedBusesTranslateThroughRanges() throws {
        let binder = try Fixture.binder("nested-buses.dts")
        #expect(binder.devices.map(summary) == [
            "/soc@40000000/bus@1000000/virtio@1,200 okay 0x41000200+0x200 spi 49 grant 2",
            "/soc@40000000/flat/virtio@800 okay 0x40000800+0x200 spi 50 direct",
            "/high@800000000/virtio@1000 okay 0x800001000+0x200 spi 51 direct",
        ])
        #expect(TreeChecks.run(binder, file: nil).isEmpty)
    }

    @Test func otherIOMMUBindsIOMMU() throws {
        let binder = try Fixture.binder("rules/DT-IOMMUS-NOT-GRANT.dts")
        #expect(binder.devices.map(\.state.dma) == [.iommu(path: "/iommu@5000000"), .direct])
    }

    @Test func grantDMANodeWithWrongCellsGivesNoGrants() throws {
        let binder = try Fixture.binder("rules/DT-GRANT-IOMMU-CELLS.dts")
        #expect(binder.devices.map(\.state.dma) == [.direct, .direct])
    }

    @Test func onlyTheFirstIOMMUsEntryCounts() throws {
        #expect(try Fixture.binder("rules/DT-IOMMUS-EXTRA.dts").devices.map(\.state.dma) == [.grant(backend: 1)])
        // A stray byte after a whole entry: Linux still parses the entry.
        let lengths = try Fixture.binder("rules/DT-IOMMUS-LENGTH.dts").devices.map(\.state.dma)
        #expect(lengths == [.direct, .grant(backend: 1), .grant(backend: 1), .direct])
    }

    @Test func unusablePoolsLeaveDevicesDirect() throws {
        let binder = try Fixture.binder("rules/DT-POOL-UNUSABLE.dts")
        #expect(binder.devices.map(\.state.dma) == [
            .direct, .direct, .direct, .direct, .bounce(pool: "/reserved-memory/restricted@50800000"),
        ])
    }

    @Test func noDevices() {
        let binder = Binder(tree: DeviceTree(root: Node("")))
        #expect(binder.devices.isEmpty)
        #expect(binder.pciBridges.isEmpty)
        #expect(TreeChecks.run(binder, file: nil).isEmpty)
    }
}
