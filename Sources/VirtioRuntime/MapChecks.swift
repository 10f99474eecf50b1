import Diagnostics

/// Checks of a node's `iommu-map` and `iommu-map-mask` (PCI host bridges).
enum MapChecks {
    static func check(_ node: Int, into findings: inout Findings) {
        let tree = findings.tree
        let bridge = PCIBridge(node, in: tree)
        if let mask = tree.property(node, "iommu-map-mask"), mask.bytes.count != 4 {
            let effect = mask.bytes.count < 4 ? "Linux ignores it and masks nothing" : "Linux reads only its first cell, \(hex(bridge.mask))"
            findings.add(TreeRules.iommuMapMalformed, at: node, "iommu-map-mask has \(mask.bytes.count) bytes, not one cell: \(effect)")
        }
        let rows: [IOMMUMapRow]
        switch bridge.map {
        case .absent: return
        case .malformed(let reason):
            findings.add(TreeRules.iommuMapMalformed, at: node, reason + ": Linux fails the lookup of every RID")
            return
        case .rows(let decoded): rows = decoded
        }
        for (index, row) in rows.enumerated() {
            check(row, index, mask: bridge.mask, at: node, into: &findings)
        }
        checkOverlaps(rows, at: node, into: &findings)
    }

    private static func check(_ row: IOMMUMapRow, _ index: Int, mask: UInt32, at node: Int, into findings: inout Findings) {
        let name = "iommu-map row \(index)"
        guard row.ridBase & ~mask == 0 else {
            findings.add(TreeRules.iommuMapMalformed, at: node, "\(name): rid-base \(hex(row.ridBase)) has bits outside iommu-map-mask \(hex(mask)): Linux fails every lookup that reaches this row")
            return
        }
        guard row.length > 0 else {
            findings.add(TreeRules.iommuMapEmptyRow, at: node, "\(name) (rid-base \(hex(row.ridBase))) has length 0 and maps no RID")
            return
        }
        guard UInt64(row.ridBase) + UInt64(row.length) <= 1 << 32 else {
            findings.add(TreeRules.iommuMapMalformed, at: node, "\(name): rid-base \(hex(row.ridBase)) + length \(hex(row.length)) wraps past 0xffffffff: Linux never matches it")
            return
        }
        guard let target = row.target else {
            findings.add(TreeRules.iommuMapTarget, at: node, "\(name): phandle \(hex(row.phandle)) matches no node: Linux fails the lookup of its RIDs")
            return
        }
        guard case .grant = row.dma else {
            findings.add(TreeRules.iommuMapTarget, at: node, "\(name) points at \(target), not xen,grant-dma: its RIDs get no grant DMA")
            return
        }
        checkOutputs(row, index, mask: mask, at: node, into: &findings)
    }

    /// The domids a grant row produces: one per masked RID in its range.
    private static func checkOutputs(_ row: IOMMUMapRow, _ index: Int, mask: UInt32, at node: Int, into findings: inout Findings) {
        let last = UInt32(UInt64(row.ridBase) + UInt64(row.length) - 1)
        let lastMasked = largestMasked(atMost: last, mask: mask)
        let lastDomid = UInt64(row.outBase) + UInt64(lastMasked - row.ridBase)
        if lastDomid > UInt64(XenGrantDMA.lastDomid) {
            let range = lastDomid == UInt64(row.outBase) ? hex(row.outBase) : "\(hex(row.outBase))-\(hex(lastDomid))"
            findings.add(TreeRules.domidRange, at: node, "iommu-map row \(index) gives backend domids \(range); backend domids are 0 to 0x7fef")
        }
        if lastMasked != row.ridBase {
            // The second RID the row holds after masking, and its domid.
            let second = ((row.ridBase | ~mask) &+ 1) & mask
            let secondDomid = UInt64(row.outBase) + UInt64(second - row.ridBase)
            findings.add(
                TreeRules.iommuMapDomidStride, at: node,
                "iommu-map row \(index) maps RIDs \(hex(row.ridBase))-\(hex(lastMasked)) (iommu-map-mask \(hex(mask))) to domids \(row.outBase)-\(lastDomid), one per RID: \(second <= 0xffff ? "\(RequesterID(UInt16(second)))" : hex(second)) gets domid \(secondDomid), not \(row.outBase)")
        }
    }

    /// The largest value ≤ `limit` that has no bits outside `mask`
    /// (`limit` itself when the mask is full).
    static func largestMasked(atMost limit: UInt32, mask: UInt32) -> UInt32 {
        var result: UInt32 = 0
        var bit: UInt32 = 1 << 31
        while bit != 0 {
            if limit & bit != 0 {
                if mask & bit != 0 {
                    result |= bit
                } else {
                    // Dropping this bit of the limit frees every lower mask bit.
                    return result | (mask & (bit - 1))
                }
            }
            bit >>= 1
        }
        return result
    }

    /// Rows whose RID ranges intersect: one sort by start, one sweep.
    private static func checkOverlaps(_ rows: [IOMMUMapRow], at node: Int, into findings: inout Findings) {
        let spans = rows.enumerated()
            .filter { $0.element.length > 0 }
            .map { (row: $0.offset, start: UInt64($0.element.ridBase), end: UInt64($0.element.ridBase) + UInt64($0.element.length)) }
            .sorted { ($0.start, $0.row) < ($1.start, $1.row) }
        guard var reach = spans.first else { return }
        for span in spans.dropFirst() {
            if span.start < reach.end {
                let first = min(reach.row, span.row), second = max(reach.row, span.row)
                let last = min(span.end, reach.end) - 1
                let shared = last == span.start ? "RID \(hex(last))" : "RIDs \(hex(span.start))-\(hex(last))"
                findings.add(TreeRules.iommuMapOverlap, at: node, "iommu-map rows \(first) and \(second) both cover \(shared): Linux uses row \(first) for them")
            }
            if span.end > reach.end { reach = span }
        }
    }
}
