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

/// A PCI requester ID: `bus << 8 | device << 3 | function`.
public struct RequesterID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt16

    public init(_ value: UInt16) { self.value = value }

    public var bus: UInt16 { value >> 8 }
    public var device: UInt16 { (value >> 3) & 0x1f }
    public var function: UInt16 { value & 0x7 }

    /// `0x0008` style.
    public var hexText: String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// `00:01.0` style, as lspci prints it.
    public var description: String { "\(pad(bus, 2)):\(pad(device, 2)).\(function)" }

    /// Parses `0x0008` (hexadecimal, at most 0xffff) or `bus:dev.fn` in
    /// lspci's hexadecimal notation, optionally with a PCI domain in front
    /// (`0000:00:01.0`; a RID does not carry the domain).
    public init?(parsing text: String) {
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            guard let value = Self.hex(text.dropFirst(2), digits: 1...4) else { return nil }
            self.value = value
            return
        }
        var parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 3 {
            guard Self.hex(parts[0], digits: 1...4) != nil else { return nil }
            parts.removeFirst()
        }
        guard parts.count == 2 else { return nil }
        let slot = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard slot.count == 2, let bus = Self.hex(parts[0], digits: 1...2),
            let device = Self.hex(slot[0], digits: 1...2), device < 32,
            let function = Self.hex(slot[1], digits: 1...1), function < 8
        else { return nil }
        value = bus << 8 | device << 3 | function
    }

    /// Strict hexadecimal: only hex digits (no sign), within a digit count.
    private static func hex(_ text: Substring, digits: ClosedRange<Int>) -> UInt16? {
        guard digits.contains(text.count), text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt16(text, radix: 16)
    }

    private func pad(_ value: UInt16, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(width - digits.count, 0)) + digits
    }
}
