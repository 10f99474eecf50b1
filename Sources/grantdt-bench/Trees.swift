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
