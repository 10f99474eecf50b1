import DeviceTree

/// Synthetic trees shaped like libxl's virtio nodes.
enum Trees {
    /// One virtio-mmio node like libxl writes, number `index`.
    static func virtioNode(_ index: Int) -> Node {
        let base = 0x2000000 + UInt64(index) * 0x200
        return Node(
            "virtio@" + String(base, radix: 16),
            properties: [
                Property("compatible", .string("virtio,mmio")),
                Property("reg", .u64Pairs([(base, 0x200 as UInt64)])),
                Property("interrupts", .cells([0, UInt32(1 + index % 11), 0xf01])),
                Property("interrupt-parent", .phandle(0xfde8)),
                Property("dma-coherent", .empty),
                Property("iommus", .cells([.phandle(0xfde9), .number(1)])),
            ])
    }

    /// A root with the GIC and IOMMU targets plus `count` virtio nodes,
    /// all siblings under the root.
    static func siblings(_ count: Int) -> DeviceTree {
        DeviceTree(root: root(children: (0..<count).map(virtioNode)))
    }

    /// `count` virtio nodes spread over `simple-bus` buses of `perBus` each.
    static func nested(_ count: Int, perBus: Int = 1000) -> DeviceTree {
        let buses = stride(from: 0, to: count, by: perBus).map { first in
            Node(
                "bus@" + String(first / perBus, radix: 16),
                properties: [
                    Property("compatible", .string("simple-bus")),
                    Property("#address-cells", .u32(2)),
                    Property("#size-cells", .u32(2)),
                    Property("ranges", .empty),
                ],
                children: (first..<min(first + perBus, count)).map(virtioNode))
        }
        return DeviceTree(root: root(children: buses))
    }

    /// A guest of `count` granted virtio devices two buses deep:
    /// `/soc@100000000` (ranges into 4 GiB up) holds `bus@N` of `perBus`
    /// devices each (ranges again). Every bus has its own GIC as
    /// interrupt parent so that all SPIs stay below the GIC's 988 and
    /// unique per controller: a clean tree that exercises the `ranges`
    /// translation and the `interrupt-parent` walk for every device.
    static func guestBuses(_ count: Int, perBus: Int = 500) -> DeviceTree {
        let busCount = (count + perBus - 1) / perBus
        let buses = (0..<busCount).map { bus in
            busOfDevices(bus, indexes: bus * perBus..<min((bus + 1) * perBus, count))
        }
        let soc = Node(
            "soc@100000000",
            properties: [
                Property("compatible", .string("simple-bus")),
                Property("#address-cells", .u32(1)),
                Property("#size-cells", .u32(1)),
                Property("ranges", .cells([0, 1, 0, 0x8000_0000])),
            ],
            children: buses)
        var top = root(children: [soc])
        top.children.insert(contentsOf: (0..<busCount).map(busGIC), at: 0)
        return DeviceTree(root: top)
    }

    /// The GIC that bus `bus` uses as interrupt parent (phandle 0x100 + bus).
    private static func busGIC(_ bus: Int) -> Node {
        let base = UInt64(0x3000_0000 + bus * 0x10_0000)
        return Node(
            "interrupt-controller@" + String(base, radix: 16),
            properties: [
                Property("compatible", .string("arm,gic-v3")),
                Property("#interrupt-cells", .u32(3)),
                Property("#address-cells", .u32(0)),
                Property("interrupt-controller", .empty),
                Property("reg", .u64Pairs([(base, 0x10000 as UInt64)])),
                Property("phandle", .u32(UInt32(0x100 + bus))),
            ])
    }

    /// A 1 MiB simple-bus window holding the devices `indexes`, 0x200 apart.
    private static func busOfDevices(_ bus: Int, indexes: Range<Int>) -> Node {
        let devices = indexes.map { index -> Node in
            let slot = UInt32(index - indexes.lowerBound)
            let domid = UInt32(1 + index % 100)
            return Node(
                "virtio@" + String(slot * 0x200, radix: 16),
                properties: [
                    Property("compatible", .string("virtio,mmio")),
                    Property("reg", .cells([slot * 0x200, 0x200])),
                    Property("interrupts", .cells([0, slot, 0xf01])),
                    Property("dma-coherent", .empty),
                    Property("iommus", .cells([.phandle(0xfde9), .number(domid)])),
                ])
        }
        let window = UInt32(bus * 0x10_0000)
        return Node(
            "bus@" + String(window, radix: 16),
            properties: [
                Property("compatible", .string("simple-bus")),
                Property("#address-cells", .u32(1)),
                Property("#size-cells", .u32(1)),
                Property("ranges", .cells([0, window, 0x10_0000])),
                Property("interrupt-parent", .phandle(UInt32(0x100 + bus))),
            ],
            children: devices)
    }

    private static func root(children: [Node]) -> Node {
        let gic = Node(
            "interrupt-controller@3001000", labels: ["gic"],
            properties: [
                Property("compatible", .string("arm,gic-v3")),
                Property("#interrupt-cells", .u32(3)),
                Property("#address-cells", .u32(0)),
                Property("interrupt-controller", .empty),
                Property("reg", .u64Pairs([(0x3001000, 0x10000), (0x3020000, 0x1000000)])),
                Property("phandle", .u32(0xfde8)),
            ])
        let iommu = Node(
            "xen_iommu", labels: ["xen_iommu"],
            properties: [
                Property("compatible", .string("xen,grant-dma")),
                Property("#iommu-cells", .u32(1)),
                Property("phandle", .u32(0xfde9)),
            ])
        return Node(
            "",
            properties: [
                Property("#address-cells", .u32(2)),
                Property("#size-cells", .u32(2)),
                Property("interrupt-parent", .phandle(0xfde8)),
            ],
            children: [gic, iommu] + children)
    }
}
