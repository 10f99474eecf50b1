import DeviceTree
import TestSupport

/// The properties the binder, the tree checks and the partial-tree copy
/// read, with values near their edges.
enum Vocabulary {
    static let names = [
        "compatible", "status", "iommus", "#iommu-cells", "phandle", "linux,phandle", "interrupt-parent",
        "interrupts", "interrupts-extended", "#interrupt-cells", "interrupt-controller", "interrupt-map",
        "interrupt-map-mask", "reg", "ranges", "dma-ranges", "#address-cells", "#size-cells", "iommu-map",
        "iommu-map-mask", "memory-region", "no-map", "reusable", "size", "alignment", "dma-coherent",
        "device_type", "bus-range", "clocks", "ethernet0",
    ]

    static let compatibles = [
        "virtio,mmio", "xen,grant-dma", "restricted-dma-pool", "pci-host-ecam-generic", "pci-host-cam-generic",
        "simple-bus", "arm,gic-v3", "arm,gic-400", "arm,cortex-a15-gic", "virtio,device22", "virtio,device29",
        "xen,xen", "arm,psci-1.0",
    ]

    static let strings = ["okay", "ok", "disabled", "fail", "", "pci", "memory", "/passthrough", "/", "/virtio@2000000"]

    static let numbers: [UInt32] = [
        0, 1, 2, 3, 4, 0x200, 0x2000000, 0x3001000, 0xf01, 0xf08, 0xfde8, 0xfde9, 0x7fef, 0x7ff0, 0xfff8,
        0xffff, 0x1_0000, 0x1000_0000, 0x8000_0000, 0xffff_fffe, 0xffff_ffff,
    ]

    static func number(phandles: [UInt32], using random: inout SplitMix64) -> UInt32 {
        switch random.next() % 4 {
        case 0: phandles.randomElement(using: &random) ?? 0xfde8
        case 1: UInt32(truncatingIfNeeded: random.next())
        default: numbers.randomElement(using: &random) ?? 0
        }
    }

    private static func cells(_ count: UInt64, phandles: [UInt32], using random: inout SplitMix64) -> PropertyValue {
        .cells((0..<count).map { _ in number(phandles: phandles, using: &random) })
    }

    /// A value for `name`: usually well-formed for it, sometimes a cell
    /// short or long, or of the wrong kind.
    static func value(for name: String, phandles: [UInt32], using random: inout SplitMix64) -> PropertyValue {
        let phandle = { (random: inout SplitMix64) in phandles.randomElement(using: &random) ?? 0xfde9 }
        let skew = random.next() % 5 == 0 ? random.next() % 3 : 0
        switch name {
        case "compatible":
            return .strings((0...(random.next() % 2)).map { _ in compatibles.randomElement(using: &random) ?? "" })
        case "status", "device_type", "ethernet0":
            return .string(strings.randomElement(using: &random) ?? "okay")
        case "interrupt-controller", "no-map", "reusable", "dma-coherent":
            return .empty
        case "phandle", "linux,phandle", "interrupt-parent":
            return .u32(random.next() % 2 == 0 ? phandle(&random) : number(phandles: phandles, using: &random))
        case "iommus", "memory-region", "clocks":
            // Entries of (phandle, argument) with an occasional stray cell.
            let entries = 1 + random.next() % 3
            var cells: [UInt32] = []
            for _ in 0..<entries { cells += [phandle(&random), number(phandles: phandles, using: &random)] }
            return .cells(Array(cells.dropLast(Int(skew))))
        case "iommu-map", "interrupt-map", "interrupts-extended":
            let rows = 1 + random.next() % 3
            var cells: [UInt32] = []
            for _ in 0..<rows {
                cells += [number(phandles: phandles, using: &random), phandle(&random)]
                cells += (0..<(2 + random.next() % 3)).map { _ in number(phandles: phandles, using: &random) }
            }
            return .cells(cells)
        case "#iommu-cells", "#address-cells", "#size-cells", "#interrupt-cells":
            return .u32(UInt32(random.next() % 5))
        default:
            return cells(random.next() % 13 + skew, phandles: phandles, using: &random)
        }
    }
}
