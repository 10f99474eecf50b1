import DeviceTree

/// A PCI host bridge and its decoded `iommu-map`.
public struct PCIBridge: Hashable, Sendable {
    public let path: String
    /// `iommu-map-mask`, or 0xffffffff (every bit) when absent.
    public let mask: UInt32
    public let map: IOMMUMap
}

/// A bridge's `iommu-map` property.
public enum IOMMUMap: Hashable, Sendable {
    /// No `iommu-map`: Linux cannot translate any RID ("Cannot translate ID").
    case absent
    /// Empty or not a whole number of 4-cell rows: Linux rejects it for every RID.
    case malformed(reason: String)
    case rows([IOMMUMapRow])

    /// The rows, empty unless the map decodes.
    public var rows: [IOMMUMapRow] {
        if case .rows(let rows) = self { rows } else { [] }
    }
}

/// One `iommu-map` row: RIDs `ridBase ..< ridBase + length` (after
/// masking) map to `outBase + (rid − ridBase)` at the target.
public struct IOMMUMapRow: Hashable, Sendable {
    public let ridBase: UInt32
    public let phandle: UInt32
    public let outBase: UInt32
    public let length: UInt32
    /// The target node's path, nil when the phandle matches no node.
    public let target: String?
    /// What the row's first RID binds to: grant (backend `outBase`) when
    /// the target is `xen,grant-dma`, iommu for another available IOMMU,
    /// direct otherwise.
    public let dma: DMABinding
}

/// How Linux's `of_map_id` treated one RID.
public enum MapLookup: Hashable, Sendable {
    /// The bridge has no `iommu-map`.
    case noMap
    /// The map is rejected as a whole.
    case malformedMap(reason: String)
    /// The walk reached row `row`, whose rid-base has bits outside the
    /// mask: the lookup fails (-EFAULT).
    case rowOutsideMask(row: Int)
    /// Row `row` holds the RID but its phandle matches no node (-ENODEV).
    case danglingTarget(row: Int, phandle: UInt32)
    /// No row holds the masked RID: no translation, no target.
    case noMatch(maskedRID: UInt32)
    /// Row `row` holds the masked RID and maps it to `output`.
    case matched(row: Int, maskedRID: UInt32, output: UInt32)
}

/// One requester ID bound through a bridge's `iommu-map`.
public struct RIDBinding: Hashable, Sendable {
    public let rid: RequesterID
    public let bridge: String
    public let lookup: MapLookup
    /// grant when the matched row targets `xen,grant-dma` (backend = the
    /// mapped output), iommu for another IOMMU, direct otherwise.
    public let dma: DMABinding
}

extension PCIBridge {
    /// Decodes a bridge node's `iommu-map` and `iommu-map-mask`.
    init(_ index: Int, in tree: TreeIndex) {
        path = tree.path(index)
        // of_property_read_u32: the first cell of a value of ≥ 4 bytes.
        mask = tree.firstCell(index, "iommu-map-mask") ?? 0xffff_ffff
        guard let value = tree.property(index, "iommu-map") else {
            map = .absent
            return
        }
        guard !value.isEmpty, value.bytes.count % 16 == 0 else {
            map = .malformed(reason: "iommu-map has \(value.bytes.count) bytes; it must be a non-empty list of 16-byte rows")
            return
        }
        map = .rows(
            (0..<(value.bytes.count / 16)).map { row in
                let cell = { Cells.at(row * 4 + $0, in: value) ?? 0 }
                let phandle = cell(1)
                let target = tree.target(ofPhandle: phandle)
                return IOMMUMapRow(
                    ridBase: cell(0), phandle: phandle, outBase: cell(2), length: cell(3),
                    target: target.map(tree.path), dma: Self.dma(target: target, output: cell(2), in: tree))
            })
    }

    /// The binding of a mapped ID at a target, as the Xen grant callback
    /// (grant for `xen,grant-dma`) and `of_iommu_configure` decide.
    static func dma(target: Int?, output: UInt32, in tree: TreeIndex) -> DMABinding {
        guard let target else { return .direct }
        if tree.isCompatible(target, XenGrantDMA.compatible) { return .grant(backend: output) }
        if tree.available[target] && tree.has(target, "#iommu-cells") { return .iommu(path: tree.path(target)) }
        return .direct
    }

    /// Linux's `of_map_id` for one RID: mask it, walk the rows in order,
    /// fail at a row whose rid-base has bits outside the mask, skip rows
    /// that do not hold it, take the first that does. Sums wrap at 32 bits
    /// as in the kernel, so a row whose end wraps never matches.
    public func lookup(_ rid: UInt32) -> MapLookup {
        let rows: [IOMMUMapRow]
        switch map {
        case .absent: return .noMap
        case .malformed(let reason): return .malformedMap(reason: reason)
        case .rows(let decoded): rows = decoded
        }
        let masked = rid & mask
        for (index, row) in rows.enumerated() {
            if row.ridBase & ~mask != 0 { return .rowOutsideMask(row: index) }
            if masked < row.ridBase || masked >= row.ridBase &+ row.length { continue }
            guard row.target != nil else { return .danglingTarget(row: index, phandle: row.phandle) }
            return .matched(row: index, maskedRID: masked, output: masked &- row.ridBase &+ row.outBase)
        }
        return .noMatch(maskedRID: masked)
    }
}
