import DeviceTree

/// A CPU-physical address range. `base + size` never exceeds 2^64.
public struct AddressRange: Hashable, Sendable, CustomStringConvertible {
    public let base: UInt64
    public let size: UInt64

    /// A range, or nil when it would end past 2^64.
    public init?(base: UInt64, size: UInt64) {
        guard UInt128(base) + UInt128(size) <= UInt128(1) << 64 else { return nil }
        self.base = base
        self.size = size
    }

    /// One past the last byte (up to 2^64).
    var end: UInt128 { UInt128(base) + UInt128(size) }

    public var description: String { "\(hex(base))+\(hex(size))" }
}

/// What became of a node's first `reg` entry.
enum RegOutcome: Hashable {
    /// No `reg` property.
    case absent
    /// `reg` does not hold one (address, size) entry.
    case malformed(String)
    /// The entry cannot be turned into a CPU address (Linux's
    /// `of_translate_address` returns OF_BAD_ADDR).
    case untranslatable(String)
    case resolved(AddressRange)

    var range: AddressRange? {
        if case .resolved(let range) = self { range } else { nil }
    }
}

/// Translates the first `reg` entry of a node into a CPU-physical range,
/// as Linux's `of_translate_address` does with the default bus: the
/// entry is read with the parent's `#address-cells`/`#size-cells`, then
/// every bus between the node and the root maps it through its `ranges`
/// (empty `ranges`: identity; absent: not translatable). The root's own
/// `ranges` are not used. PCI buses' space codes are not interpreted.
enum AddressTranslation {
    static func firstReg(of index: Int, in tree: TreeIndex) -> RegOutcome {
        guard let reg = tree.property(index, "reg") else { return .absent }
        guard let bus = tree.parent(index) else { return .malformed("the root node cannot carry reg") }
        let addressCells = tree.addressCells(bus)
        let sizeCells = tree.sizeCells(bus)
        if let problem = cellCountProblem(bus, in: tree, address: addressCells, size: sizeCells) {
            return .untranslatable(problem)
        }
        let entryCells = Int(addressCells + sizeCells)
        guard let address = Cells.number(0, count: Int(addressCells), in: reg),
            let size = Cells.number(Int(addressCells), count: Int(sizeCells), in: reg)
        else {
            return .malformed(
                "reg has \(reg.bytes.count) bytes; one entry needs \(entryCells * 4) "
                    + "(#address-cells = \(addressCells), #size-cells = \(sizeCells) in \(tree.path(bus)))")
        }
        return translate(address: address, size: size, cells: addressCells, from: bus, in: tree)
    }

    /// Maps `address` (in `bus`'s child address space, `cells` wide)
    /// upwards to the root.
    private static func translate(
        address start: UInt128, size: UInt128, cells: UInt32, from bus: Int, in tree: TreeIndex
    ) -> RegOutcome {
        var address = start
        var cells = cells
        var node = bus
        while let parent = tree.parent(node) {
            let parentCells = tree.addressCells(parent)
            if let problem = cellCountProblem(parent, in: tree, address: parentCells, size: tree.sizeCells(parent)) {
                return .untranslatable(problem)
            }
            switch step(address, cells: cells, through: node, parentCells: parentCells, in: tree) {
            case .success(let mapped): address = mapped
            case .failure(let problem): return .untranslatable(problem.text)
            }
            cells = parentCells
            node = parent
        }
        guard address <= UInt128(UInt64.max), size <= UInt128(UInt64.max),
            let range = AddressRange(base: UInt64(address), size: UInt64(size))
        else {
            return .untranslatable("\(hex(address))+\(hex(size)) does not fit the 64-bit physical address space")
        }
        return .resolved(range)
    }

    private struct Problem: Error { let text: String }

    /// One bus's `ranges` applied to an address of its child space.
    private static func step(
        _ address: UInt128, cells: UInt32, through bus: Int, parentCells: UInt32, in tree: TreeIndex
    ) -> Result<UInt128, Problem> {
        let path = tree.path(bus)
        guard let ranges = tree.property(bus, "ranges") else {
            return .failure(Problem(text: "bus \(path) has no ranges, so its child addresses are not CPU addresses"))
        }
        let limit: UInt128 = parentCells >= 4 ? .max : (UInt128(1) << (32 * parentCells)) - 1
        if ranges.isEmpty {
            guard address <= limit else {
                return .failure(Problem(text: "\(hex(address)) does not fit the \(parentCells)-cell addresses above \(path)"))
            }
            return .success(address)
        }
        let sizeCells = Int(tree.sizeCells(bus))
        let width = Int(cells) + Int(parentCells) + sizeCells
        for entry in 0..<(Cells.count(in: ranges) / width) {
            let first = entry * width
            guard let child = Cells.number(first, count: Int(cells), in: ranges),
                let parent = Cells.number(first + Int(cells), count: Int(parentCells), in: ranges),
                let size = Cells.number(first + Int(cells) + Int(parentCells), count: sizeCells, in: ranges)
            else { break }
            let (end, wraps) = child.addingReportingOverflow(size)
            guard address >= child, wraps || address < end else { continue }
            let (mapped, overflow) = parent.addingReportingOverflow(address - child)
            guard !overflow, mapped <= limit else {
                return .failure(Problem(text: "ranges of \(path) map \(hex(address)) beyond the parent's address space"))
            }
            return .success(mapped)
        }
        return .failure(Problem(text: "\(hex(address)) is not covered by the ranges of \(path)"))
    }

    /// Why a bus's cell counts cannot describe addresses, as Linux's
    /// `OF_CHECK_COUNTS` sees it (1 to 4 address cells, at least one size cell).
    private static func cellCountProblem(_ bus: Int, in tree: TreeIndex, address: UInt32, size: UInt32) -> String? {
        if !(1...4).contains(address) {
            return "#address-cells = \(address) in \(tree.path(bus)); an address needs 1 to 4 cells"
        }
        if !(1...4).contains(size) {
            return "#size-cells = \(size) in \(tree.path(bus)); a size needs 1 to 4 cells"
        }
        return nil
    }
}
