import DeviceTree

/// What a device's `memory-region` gives it, as Linux's
/// `of_dma_set_restricted_buffer` and the reserved-memory code decide.
enum PoolOutcome: Hashable {
    /// No entry is an available `restricted-dma-pool`.
    case none
    /// The first available `restricted-dma-pool` entry, usable: every
    /// streaming mapping bounces through it. `range` is its static `reg`,
    /// nil for a pool given by `size` only (placed at boot).
    case usable(pool: Int, range: AddressRange?)
    /// The first available `restricted-dma-pool` entry, which Linux
    /// refuses ("failed to initialise"): the device stays dma-direct.
    case unusable(pool: Int, reason: String)
}

/// One `memory-region` phandle that matches no node.
struct DanglingRegion: Hashable {
    let entry: Int
    let phandle: UInt32
}

enum RestrictedPool {
    static let compatible = "restricted-dma-pool"

    /// Properties that make `rmem_swiotlb_setup` refuse a pool.
    static let refusedProperties = ["no-map", "reusable", "linux,cma-default", "linux,dma-default"]

    /// The pool a device gets. Linux takes the first `memory-region`
    /// entry that is compatible and available, then tries only that one.
    static func outcome(of index: Int, in tree: TreeIndex) -> PoolOutcome {
        guard let regions = tree.property(index, "memory-region"), regions.bytes.count % 4 == 0 else { return .none }
        for entry in 0..<Cells.count(in: regions) {
            guard let phandle = Cells.at(entry, in: regions), let pool = tree.target(ofPhandle: phandle),
                tree.isCompatible(pool, compatible), TreeIndex.isAvailable(tree.node(pool))
            else { continue }
            if let reason = refusal(of: pool, in: tree) { return .unusable(pool: pool, reason: reason) }
            return .usable(pool: pool, range: AddressTranslation.firstReg(of: pool, in: tree).range)
        }
        return .none
    }

    /// The `memory-region` entries of a node that match no node, and
    /// whether the value is a whole number of cells.
    static func dangling(of index: Int, in tree: TreeIndex) -> (entries: [DanglingRegion], wholeCells: Bool)? {
        guard let regions = tree.property(index, "memory-region") else { return nil }
        let entries = (0..<Cells.count(in: regions)).compactMap { entry -> DanglingRegion? in
            guard let phandle = Cells.at(entry, in: regions), tree.target(ofPhandle: phandle) == nil else { return nil }
            return DanglingRegion(entry: entry, phandle: phandle)
        }
        return (entries, regions.bytes.count % 4 == 0 && !regions.isEmpty)
    }

    /// Why Linux's reserved-memory code would not set the pool up: it
    /// scans only direct children of a well-formed `/reserved-memory`
    /// (same cell counts as the root, `ranges` present), needs a `reg` or a
    /// `size`, and `rmem_swiotlb_setup` refuses the properties above.
    static func refusal(of pool: Int, in tree: TreeIndex) -> String? {
        guard let parent = tree.parent(pool), tree.path(parent) == "/reserved-memory" else {
            return "it is not a child of /reserved-memory, so Linux never registers it"
        }
        if let problem = reservedMemoryProblem(parent, in: tree) { return problem }
        if let refused = refusedProperties.first(where: { tree.has(pool, $0) }) {
            return "it has '\(refused)', which a restricted-dma-pool must not carry"
        }
        guard let reg = tree.property(pool, "reg") else {
            if tree.has(pool, "size") { return nil }
            return "it has neither reg nor size"
        }
        let entryBytes = Int(tree.addressCells(parent) + tree.sizeCells(parent)) * 4
        guard reg.bytes.count >= entryBytes, entryBytes > 0 else {
            return "its reg has \(reg.bytes.count) bytes, less than one \(entryBytes)-byte entry"
        }
        guard let size = Cells.number(Int(tree.addressCells(parent)), count: Int(tree.sizeCells(parent)), in: reg), size > 0
        else {
            return "its reg has size 0"
        }
        return nil
    }

    /// `__reserved_mem_check_root`: Linux ignores every reserved region
    /// unless `/reserved-memory` states the root's cell counts and has
    /// `ranges`.
    private static func reservedMemoryProblem(_ node: Int, in tree: TreeIndex) -> String? {
        let root = 0
        guard tree.firstCell(node, "#address-cells") == tree.addressCells(root),
            tree.firstCell(node, "#size-cells") == tree.sizeCells(root)
        else {
            return "/reserved-memory must set the root's #address-cells and #size-cells; Linux ignores it otherwise"
        }
        if !tree.has(node, "ranges") {
            return "/reserved-memory has no ranges; Linux ignores it"
        }
        return nil
    }
}
