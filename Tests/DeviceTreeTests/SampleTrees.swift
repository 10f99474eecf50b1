import DeviceTree

/// Trees used across the DeviceTree tests.
enum SampleTrees {
    /// Every kind of value, labels and phandle references, reservations.
    static var everyValueKind: DeviceTree {
        let gic = Node(
            "interrupt-controller@3001000", labels: ["gic"],
            properties: [
                Property("compatible", .strings(["arm,cortex-a15-gic", "arm,cortex-a9-gic"])),
                Property("#interrupt-cells", .u32(3)),
                Property("#address-cells", .u32(0)),
                Property("interrupt-controller", .empty),
                Property("reg", .u64Pairs([(0x3001000, 0x1000), (0x3002000, 0x2000)])),
                Property("linux,phandle", .u32(0xfde8)),
                Property("phandle", .u32(0xfde8)),
            ])
        let virtio = Node(
            "virtio@2000000",
            properties: [
                Property("compatible", .string("virtio,mmio")),
                Property("reg", .u64Pairs([(0x2000000, 0x200)])),
                Property("interrupts", .cells([0, 1, 0xf01])),
                Property("interrupt-parent", .phandle(0xfde8)),
                Property("dma-coherent", .empty),
                Property("iommus", .cells([.phandle(0xfde9), .number(7)])),
            ],
            children: [Node("i2c", properties: [Property("compatible", .string("virtio,device22"))])])
        let iommu = Node(
            "xen_iommu", labels: ["xen_iommu"],
            properties: [
                Property("compatible", .string("xen,grant-dma")),
                Property("#iommu-cells", .u32(1)),
                Property("phandle", .u32(0xfde9)),
            ])
        let chosen = Node(
            "chosen",
            properties: [
                Property("bootargs", .string("console=hvc0 root=/dev/xvda \"quoted\" tab\there back\\slash")),
                Property("linux,initrd-start", .u64(0x4800_0000)),
                Property("linux,initrd-end", .u64(0x4880_0000)),
                Property("rng-seed", .bytes((0..<128).map { UInt8($0 * 7 & 0xff) })),
            ])
        let odd = Node(
            "odd-values",
            properties: [
                Property("three-bytes", .bytes([1, 2, 3])),
                Property("mixed", .string("name") + .cells([1, 2]) + .bytes([0xff])),
                Property("empty-string", .string("")),
                Property("list-with-empty", .strings(["a", "", "b"])),
                Property("big", .u64(0xffff_ffff_ffff_ffff)),
            ])
        return DeviceTree(
            root: Node(
                "",
                properties: [
                    Property("model", .string("XENVM-4.22")),
                    Property("compatible", .strings(["xen,xenvm-4.22", "xen,xenvm"])),
                    Property("interrupt-parent", .phandle(0xfde8)),
                    Property("#address-cells", .u32(2)),
                    Property("#size-cells", .u32(2)),
                ],
                children: [chosen, gic, virtio, iommu, odd]),
            reservations: [MemoryReservation(address: 0x4000_0000, size: 0x1000)],
            bootCPUID: 0)
    }

    /// A chain of `depth` nested nodes.
    static func deep(_ depth: Int) -> DeviceTree {
        var node = Node("leaf", properties: [Property("depth", .u32(UInt32(depth)))])
        for level in stride(from: depth - 1, to: 0, by: -1) {
            node = Node("level\(level)", properties: [Property("depth", .u32(UInt32(level)))], children: [node])
        }
        return DeviceTree(root: Node("", children: [node]))
    }

    /// `count` siblings with unit addresses and matching `reg`.
    static func siblings(_ count: Int) -> DeviceTree {
        let children = (0..<count).map { index in
            Node(
                "dev@\(String(index, radix: 16))",
                properties: [Property("reg", .u32(UInt32(index))), Property("status", .string("okay"))])
        }
        return DeviceTree(root: Node(
            "",
            properties: [Property("#address-cells", .u32(1)), Property("#size-cells", .u32(0))],
            children: children))
    }

    /// A tree with one very long string property.
    static var longStrings: DeviceTree {
        let long = String(repeating: "0123456789abcdef", count: 4096)
        return DeviceTree(root: Node(
            "",
            properties: [Property("long", .string(long)), Property("list", .strings([long, "x", long]))]))
    }
}

