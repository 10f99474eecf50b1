import Diagnostics

/// The rules `TreeChecks` applies to a guest tree. Each has one severity;
/// the README lists them from `all`.
public enum TreeRules {
    // MARK: iommus on virtio,mmio nodes

    public static let iommusDangling = Rule(
        "DT-IOMMUS-DANGLING", .error,
        summary: "an `iommus` phandle of a virtio,mmio node matches no node",
        fix: "point iommus at the xen,grant-dma node: iommus = <&xen_iommu BACKEND_DOMID>")
    public static let iommusNotGrant = Rule(
        "DT-IOMMUS-NOT-GRANT", .error,
        summary: "the first `iommus` entry of a virtio,mmio node targets a node that is not `xen,grant-dma`",
        fix: "a Xen guest's virtio devices get grant DMA only through a node with compatible = \"xen,grant-dma\"")
    public static let iommusLength = Rule(
        "DT-IOMMUS-LENGTH", .error,
        summary: "`iommus` is empty, not whole cells, or its cells do not split into (phandle, #iommu-cells arguments) entries",
        fix: "write exactly one entry: iommus = <&xen_iommu BACKEND_DOMID>")
    public static let iommusExtra = Rule(
        "DT-IOMMUS-EXTRA", .warning,
        summary: "a virtio,mmio node has more than one `iommus` entry; Linux uses only the first",
        fix: "keep one entry (virtio/mmio.yaml allows at most one)")
    public static let grantIOMMUCells = Rule(
        "DT-GRANT-IOMMU-CELLS", .error,
        summary: "a `xen,grant-dma` node's `#iommu-cells` is missing or not <1>",
        fix: "set #iommu-cells = <1>; the one cell is the backend domid")
    public static let domidRange = Rule(
        "DT-DOMID-RANGE", .error,
        summary: "a backend domid (an `iommus` cell or an `iommu-map` output) is above 0x7fef",
        fix: "use the backend domain's id, 0 to 32751 (0x7fef); 0x7ff0 and up are reserved ids such as DOMID_SELF")

    // MARK: iommu-map on PCI host bridges

    public static let iommuMapMalformed = Rule(
        "DT-IOMMU-MAP-MALFORMED", .error,
        summary: "`iommu-map` is empty or not 16-byte rows, a row's rid-base has bits outside `iommu-map-mask`, a row wraps past 0xffffffff, or the mask is not one cell",
        fix: "write rows of <rid-base &xen_iommu domid length> whose rid-base keeps only mask bits")
    public static let iommuMapOverlap = Rule(
        "DT-IOMMU-MAP-OVERLAP", .error,
        summary: "two `iommu-map` rows cover the same RIDs; Linux uses the first and ignores the rest",
        fix: "give each row its own RID range")
    public static let iommuMapEmptyRow = Rule(
        "DT-IOMMU-MAP-EMPTY-ROW", .error,
        summary: "an `iommu-map` row has length 0 and maps nothing",
        fix: "give the row the number of RIDs it covers (1 per function)")
    public static let iommuMapTarget = Rule(
        "DT-IOMMU-MAP-TARGET", .error,
        summary: "an `iommu-map` row's phandle matches no node or a node that is not `xen,grant-dma`",
        fix: "point every row at the xen,grant-dma node")
    public static let iommuMapDomidStride = Rule(
        "DT-IOMMU-MAP-DOMID-STRIDE", .warning,
        summary: "a grant `iommu-map` row holds several masked RIDs, so each gets its own domid (out-base + offset): function f of a slot goes to domid + f",
        fix: "use one row of length 1 per function, or iommu-map-mask = <0xfff8> so all functions of a slot share the domid")

    // MARK: restricted DMA pools

    public static let memoryRegionDangling = Rule(
        "DT-MEMORY-REGION-DANGLING", .error,
        summary: "a virtio,mmio node's `memory-region` holds a phandle that matches no node, or is not a list of phandles",
        fix: "point memory-region at a child of /reserved-memory: memory-region = <&pool>")
    public static let poolUnusable = Rule(
        "DT-POOL-UNUSABLE", .error,
        summary: "the `restricted-dma-pool` a virtio,mmio node selects cannot be set up by Linux (`no-map`, `reusable`, not under a valid /reserved-memory, no `reg` or `size`), so the device stays dma-direct",
        fix: "put the pool under /reserved-memory with a static reg and without no-map or reusable")

    // MARK: virtio,mmio node shape

    public static let virtioNoReg = Rule(
        "DT-VIRTIO-NO-REG", .error,
        summary: "a virtio,mmio node has no `reg`, or `reg` holds less than one (address, size) entry",
        fix: "give the node reg = <ADDRESS SIZE> in its parent's #address-cells/#size-cells (libxl: <0x0 BASE 0x0 0x200>)")
    public static let regUntranslatable = Rule(
        "DT-REG-UNTRANSLATABLE", .error,
        summary: "a `reg` (of a virtio,mmio node or its pool) cannot be translated to a CPU address: a bus without `ranges`, `ranges` that do not cover it, bad cell counts, or overflow",
        fix: "give every bus between the node and the root a ranges property that covers the node (empty ranges = 1:1)")
    public static let virtioNoIRQ = Rule(
        "DT-VIRTIO-NO-IRQ", .error,
        summary: "a virtio,mmio node has no interrupt Linux can use: no `interrupts`/`interrupts-extended`, no interrupt parent, a looping or dangling `interrupt-parent`, or a bad specifier",
        fix: "give the node interrupts = <0 SPI-32 0xf01> and an interrupt-parent that is the GIC")
    public static let regOverlap = Rule(
        "DT-REG-OVERLAP", .error,
        summary: "two enabled virtio,mmio devices have overlapping register ranges",
        fix: "give each device its own 0x200-byte window")
    public static let spiShared = Rule(
        "DT-SPI-SHARED", .error,
        summary: "an enabled virtio,mmio device uses a GIC SPI that another enabled node also uses",
        fix: "give each device its own SPI (libxl uses 33, 34, ...)")

    public static let all: [Rule] = [
        iommusDangling, iommusNotGrant, iommusLength, iommusExtra, grantIOMMUCells, domidRange,
        iommuMapMalformed, iommuMapOverlap, iommuMapEmptyRow, iommuMapTarget, iommuMapDomidStride,
        memoryRegionDangling, poolUnusable,
        virtioNoReg, regUntranslatable, virtioNoIRQ, regOverlap, spiShared,
    ]
}
