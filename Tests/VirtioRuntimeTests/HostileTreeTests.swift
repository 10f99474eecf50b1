import DeviceTree
import Diagnostics
import Testing
import TestSupport
import VirtioRuntime

/// Values from untrusted blobs: odd lengths, huge cell counts, cycles and
/// overflows give diagnostics or nil fields, never a trap or a hang.
@Suite struct HostileTreeTests {
    private func virtio(_ name: String, _ properties: [Property]) -> Node {
        Node(name, properties: [Property("compatible", .string("virtio,mmio"))] + properties)
    }

    private func gic(phandle: UInt32 = 1) -> Node {
        Node("gic", properties: [
            Property("compatible", .string("arm,gic-v3")), Property("interrupt-controller", .empty),
            Property("#interrupt-cells", .u32(3)), Property("#address-cells", .u32(0)), Property("phandle", .u32(phandle)),
        ])
    }

    private func run(_ root: Node) -> (devices: [DeviceBinding], rules: [String]) {
        let binder = Binder(tree: DeviceTree(root: root))
        return (binder.devices, TreeChecks.run(binder, file: nil).map(\.rule))
    }

    @Test func interruptParentPointingAtItself() {
        let node = virtio("virtio@0", [
            Property("reg", .cells([0, 0, 0, 0x200])), Property("interrupts", .cells([0, 1, 1])),
            Property("interrupt-parent", .u32(5)), Property("phandle", .u32(5)),
        ])
        let (devices, rules) = run(Node("", children: [node]))
        #expect(devices[0].spi == nil)
        #expect(rules == ["DT-VIRTIO-NO-IRQ"])
    }

    @Test func longInterruptParentChainIsLinear() {
        // 2,000 nodes, each pointing at the next; only the last is the GIC.
        var nodes = (0..<2000).map { index in
            Node("link\(index)", properties: [Property("phandle", .u32(UInt32(10 + index))), Property("interrupt-parent", .u32(UInt32(11 + index)))])
        }
        nodes.append(gic(phandle: 2010))
        let devices = (0..<500).map { index in
            virtio("virtio@\(String(index * 0x200, radix: 16))", [
                Property("reg", .cells([0, UInt32(index * 0x200), 0, 0x200])),
                Property("interrupts", .cells([0, UInt32(index), 1])), Property("interrupt-parent", .u32(10)),
            ])
        }
        let (bound, rules) = run(Node("", children: nodes + devices))
        #expect(bound.map(\.spi) == (0..<500).map { UInt32(32 + $0) })
        #expect(rules.isEmpty)
    }

    @Test(arguments: [UInt32(0), 5, 0xffff_ffff])
    func absurdAddressCells(cells: UInt32) {
        let root = Node("", properties: [Property("#address-cells", .u32(cells)), Property("#size-cells", .u32(cells))], children: [
            gic(), virtio("virtio@0", [Property("reg", .cells([0, 0x200])), Property("interrupts", .cells([0, 1, 1])), Property("interrupt-parent", .u32(1))]),
        ])
        let (devices, rules) = run(root)
        #expect(devices[0].reg == nil)
        #expect(rules == ["DT-REG-UNTRANSLATABLE"])
    }

    @Test func addressesBeyondSixtyFourBits() {
        // Three address cells with the top one set: not a 64-bit address.
        let bus = Node("bus", properties: [
            Property("#address-cells", .u32(3)), Property("#size-cells", .u32(1)), Property("ranges", .empty),
        ], children: [virtio("virtio@0", [Property("reg", .cells([1, 0, 0, 0x200]))])])
        #expect(run(Node("", properties: [Property("#address-cells", .u32(3))], children: [bus])).devices[0].reg == nil)

        // A range whose end passes 2^64.
        let top = virtio("virtio@0", [Property("reg", .cells([0xffff_ffff, 0xffff_ff00, 0, 0x200]))])
        let twoByTwo = [Property("#address-cells", .u32(2)), Property("#size-cells", .u32(2))]
        #expect(run(Node("", properties: twoByTwo, children: [top])).devices[0].reg == nil)

        // ranges that push a child address past the parent's 2 cells.
        let shifted = Node("bus@0", properties: [
            Property("#address-cells", .u32(1)), Property("#size-cells", .u32(1)),
            Property("ranges", .cells([0, 0xffff_ffff, 0xffff_f000, 0x10000])),
        ], children: [virtio("virtio@8000", [Property("reg", .cells([0x8000, 0x200]))])])
        #expect(run(Node("", children: [shifted])).devices[0].reg == nil)
    }

    @Test func absurdSpecifierWidths() {
        let wide = Node("wide", properties: [
            Property("interrupt-controller", .empty), Property("#interrupt-cells", .u32(0xffff_ffff)), Property("phandle", .u32(3)),
            Property("#iommu-cells", .u32(0xffff_ffff)),
        ])
        let zero = Node("zero", properties: [Property("interrupt-controller", .empty), Property("#interrupt-cells", .u32(0)), Property("phandle", .u32(4))])
        let root = Node("", children: [
            wide, zero,
            virtio("virtio@0", [Property("reg", .cells([0, 0, 0, 0x200])), Property("interrupts", .cells([1, 2, 3])), Property("interrupt-parent", .u32(3)), Property("iommus", .cells([3, 1]))]),
            virtio("virtio@200", [Property("reg", .cells([0, 0x200, 0, 0x200])), Property("interrupts-extended", .cells([3, 1])), Property("iommus", .cells([3]))]),
            virtio("virtio@400", [Property("reg", .cells([0, 0x400, 0, 0x200])), Property("interrupts", .cells([1])), Property("interrupt-parent", .u32(4))]),
        ])
        let (devices, rules) = run(root)
        #expect(devices.map(\.spi) == [nil, nil, nil])
        #expect(devices.map(\.state.dma) == [.direct, .direct, .direct])
        #expect(rules.filter { $0 == "DT-VIRTIO-NO-IRQ" }.count == 3)
    }

    @Test func oddLengthsEverywhere() {
        var properties: [Property] = []
        for name in ["reg", "interrupts", "interrupt-parent", "iommus", "memory-region", "status", "compatible-extra"] {
            properties.append(Property(name, .bytes([0xff, 0x01, 0x02])))
        }
        let bridge = Node("pcie@0", properties: [
            Property("compatible", .string("pci-host-ecam-generic")), Property("iommu-map", .bytes(Array(repeating: 0xff, count: 17))),
            Property("iommu-map-mask", .bytes([1])),
        ])
        let root = Node("", properties: [Property("#address-cells", .bytes([0, 0, 2])), Property("interrupt-parent", .bytes([1]))], children: [
            virtio("virtio@0", properties), bridge,
        ])
        let binder = Binder(tree: DeviceTree(root: root))
        #expect(binder.devices.map(\.state) == [.disabled])
        #expect(binder.pciBridges[0].map == .malformed(reason: "iommu-map has 17 bytes; it must be a non-empty list of 16-byte rows"))
        _ = TreeChecks.run(binder, file: nil)
    }

    @Test func deepNestingWithRangesAtEveryLevel() {
        var node = virtio("virtio@0", [Property("reg", .cells([0, 0x200]))])
        for level in 0..<DTBWriter.maxDepth - 1 {
            node = Node("bus@\(level)", properties: [
                Property("#address-cells", .u32(1)), Property("#size-cells", .u32(1)),
                Property("ranges", .cells([0, 0x10, 0x1000])),
            ], children: [node])
        }
        let root = Node("", properties: [Property("#address-cells", .u32(1)), Property("#size-cells", .u32(1))], children: [node])
        let reg = Binder(tree: DeviceTree(root: root)).devices[0].reg
        #expect(reg?.base == UInt64(0x10 * (DTBWriter.maxDepth - 1)))
    }

    /// Random trees from a small vocabulary of properties with random,
    /// often hostile, values: binding and checks finish, are deterministic,
    /// and keep their invariants.
    @Test func randomTreesKeepInvariants() throws {
        var random = SplitMix64(seed: 0xb1d_e5)
        for _ in 0..<300 {
            let tree = RandomTree.make(using: &random)
            let first = Binder(tree: tree)
            let diagnostics = TreeChecks.run(first, file: "r.dtb")
            let again = Binder(tree: tree)
            #expect(first.devices == again.devices)
            #expect(TreeChecks.run(again, file: "r.dtb") == diagnostics)
            for device in first.devices {
                if let spi = device.spi { #expect((32...1019).contains(spi)) }
                if let reg = device.reg { #expect(UInt128(reg.base) + UInt128(reg.size) <= UInt128(1) << 64) }
                if case .bounce = device.state.dma {} else { #expect(device.poolRange == nil) }
            }
            for rid in [UInt16(0), 8, 0x10, 0xffff] {
                _ = try? first.bind(rid: RequesterID(rid), bridge: first.pciBridges.first?.path)
            }
            // The same tree through a blob reads back to the same bindings.
            if let blob = try? DTBWriter.write(tree) {
                #expect(Binder(tree: try DTBReader.read(blob)).devices == first.devices)
            }
        }
    }

    /// Bit flips in a real blob: whatever the reader accepts, the binder
    /// and checks handle.
    @Test func flippedBlobs() throws {
        let blob = try Fixture.blob("restricted-pool.dts")
        var random = SplitMix64(seed: 0xf11b)
        var accepted = 0
        for _ in 0..<400 {
            var bytes = blob
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
            guard let tree = try? DTBReader.read(bytes) else { continue }
            accepted += 1
            _ = TreeChecks.run(Binder(tree: tree), file: nil)
        }
        #expect(accepted > 50, "too few mutated blobs were readable to exercise the binder")
    }
}

/// Random trees whose properties reference each other through a few
/// small phandles, so references resolve, dangle and loop by chance.
enum RandomTree {
    static func make(using random: inout SplitMix64) -> DeviceTree {
        var counter = 0
        func node(depth: Int) -> Node {
            counter += 1
            var properties: [Property] = []
            let names = ["compatible", "reg", "ranges", "#address-cells", "#size-cells", "interrupts", "interrupts-extended",
                         "interrupt-parent", "#interrupt-cells", "interrupt-controller", "interrupt-map", "iommus", "#iommu-cells",
                         "memory-region", "status", "phandle", "iommu-map", "iommu-map-mask", "no-map", "size", "device_type"]
            for name in names where Int.random(in: 0..<4, using: &random) == 0 {
                properties.append(Property(name, value(for: name, using: &random)))
            }
            let children = depth < 4 ? (0..<Int.random(in: 0...3, using: &random)).map { _ in node(depth: depth + 1) } : []
            let base = ["virtio", "bus", "reserved-memory", "pcie", "gic"][Int.random(in: 0..<5, using: &random)]
            return Node("\(base)@\(String(counter, radix: 16))", properties: properties, children: children)
        }
        let root = Node("", properties: [Property("#address-cells", .u32(2)), Property("#size-cells", .u32(2))],
                        children: (0..<Int.random(in: 1...6, using: &random)).map { _ in node(depth: 1) })
        return DeviceTree(root: root)
    }

    private static func value(for name: String, using random: inout SplitMix64) -> PropertyValue {
        let small = { (random: inout SplitMix64) in UInt32.random(in: 0...6, using: &random) }
        switch name {
        case "compatible":
            let choices = ["virtio,mmio", "xen,grant-dma", "arm,gic-v3", "restricted-dma-pool", "simple-bus", "pci-host-ecam-generic", "arm,smmu-v3"]
            return .strings([choices[Int.random(in: 0..<choices.count, using: &random)]])
        case "status": return .string(["okay", "ok", "disabled", ""][Int.random(in: 0..<4, using: &random)])
        case "device_type": return .string("pci")
        case "interrupt-controller", "no-map": return .empty
        case "phandle": return .u32(UInt32.random(in: 1...6, using: &random))
        default:
            if Int.random(in: 0..<8, using: &random) == 0 {
                return .bytes((0..<Int.random(in: 0...9, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
            }
            let count = Int.random(in: 0...9, using: &random)
            return .cells((0..<count).map { _ in Int.random(in: 0..<5, using: &random) == 0 ? UInt32.random(in: 0...UInt32.max, using: &random) : small(&random) })
        }
    }
}
