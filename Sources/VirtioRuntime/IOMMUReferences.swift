import DeviceTree

/// One parsed `iommus` entry: the provider node and its specifier cells.
struct IOMMUEntry: Hashable {
    let provider: Int
    let arguments: [UInt32]
}

/// Why `iommus` stops parsing at the entry after the parsed ones.
enum IOMMUsProblem: Hashable {
    /// The phandle (0 and 0xffffffff included) matches no node.
    case dangling(phandle: UInt32)
    /// The provider has no `#iommu-cells`, so its entries have no length.
    case noCellCount(provider: Int)
    /// Fewer cells remain than the provider's `#iommu-cells` needs.
    case truncated(provider: Int, needed: UInt32, remaining: Int)
}

/// A node's `iommus`, parsed entry by entry as `of_parse_phandle_with_args`
/// does with `#iommu-cells`: the whole cells of the value, `entries` up to
/// the first `problem` (which concerns entry `entries.count`).
struct IOMMUList {
    var entries: [IOMMUEntry] = []
    var problem: IOMMUsProblem?
    /// Bytes after the last whole cell (Linux ignores them).
    var strayBytes = 0

    /// Parses `iommus`; nil when the node has none.
    static func parse(_ index: Int, in tree: TreeIndex) -> IOMMUList? {
        guard let value = tree.property(index, "iommus") else { return nil }
        var list = IOMMUList(strayBytes: value.bytes.count % 4)
        let total = Cells.count(in: value)
        var cell = 0
        while cell < total {
            let phandle = Cells.at(cell, in: value) ?? 0
            guard let provider = tree.target(ofPhandle: phandle) else {
                list.problem = .dangling(phandle: phandle)
                return list
            }
            guard let width = tree.firstCell(provider, "#iommu-cells") else {
                list.problem = .noCellCount(provider: provider)
                return list
            }
            let remaining = total - cell - 1
            guard Int(width) <= remaining else {
                list.problem = .truncated(provider: provider, needed: width, remaining: remaining)
                return list
            }
            let arguments = (0..<Int(width)).compactMap { Cells.at(cell + 1 + $0, in: value) }
            list.entries.append(IOMMUEntry(provider: provider, arguments: arguments))
            cell += 1 + Int(width)
        }
        return list
    }
}

/// The IOMMU view of a device's first `iommus` entry, as the Xen grant
/// callback and `of_iommu_configure` see it.
enum IOMMUOutcome: Hashable {
    /// No usable first entry (absent or unparsable): no IOMMU.
    case none
    /// `xen,grant-dma` with exactly one argument: grant DMA to this domid.
    case grant(backend: UInt32)
    /// `xen,grant-dma` with another argument count: the grant callback
    /// refuses it ("Incompatible IOMMU node") and the stub IOMMU driver
    /// leaves the device not behind an IOMMU.
    case grantStub
    /// Another, available IOMMU: the device is behind it.
    case otherIOMMU(provider: Int)

    static func of(_ list: IOMMUList?, in tree: TreeIndex) -> IOMMUOutcome {
        guard let first = list?.entries.first else { return .none }
        if tree.isCompatible(first.provider, XenGrantDMA.compatible) {
            guard first.arguments.count == 1 else { return .grantStub }
            return .grant(backend: first.arguments[0])
        }
        // of_iommu_xlate treats a disabled IOMMU as no IOMMU.
        return tree.available[first.provider] ? .otherIOMMU(provider: first.provider) : .none
    }
}

/// Constants of the `xen,grant-dma` binding and Xen's domain ids
/// (xen-arm-guest-dt.md §3.13 and §4.3).
public enum XenGrantDMA {
    public static let compatible = "xen,grant-dma"
    /// The last valid guest or backend domid; 0x7FF0 and up are reserved.
    public static let lastDomid: UInt32 = 0x7FEF

    /// The name of a reserved domid (`DOMID_SELF`, ...), if it has one.
    public static func reservedName(_ domid: UInt32) -> String? {
        switch domid {
        case 0x7FF0: "DOMID_SELF"
        case 0x7FF1: "DOMID_IO"
        case 0x7FF2: "DOMID_XEN"
        case 0x7FF3: "DOMID_COW"
        case 0x7FF4: "DOMID_INVALID"
        case 0x7FF5: "DOMID_ANY"
        case 0x7FFF: "DOMID_IDLE"
        default: nil
        }
    }
}
