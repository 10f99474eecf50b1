import DeviceTree

/// One decoded interrupt specifier.
struct Interrupt: Hashable {
    /// Entry index of the controller (or nexus) that receives it.
    let controller: Int
    /// The GIC interrupt ID of an SPI (SPI cell + 32, as xl numbers it),
    /// nil when the interrupt is not a GIC SPI.
    let spi: UInt32?
}

/// A node's interrupts: the specifiers decoded in order, up to the first
/// that Linux could not use (`problem`).
struct InterruptList: Hashable {
    var entries: [Interrupt] = []
    var problem: String?
    /// The node has neither `interrupts` nor `interrupts-extended`.
    var isAbsent = false
}

/// What the binder treats as a GIC: the compatibles Linux's GICv2 and
/// GICv3 drivers (`irq-gic.c`, `irq-gic-v3.c`) bind to. Their first two
/// specifier cells are (type, number): type 0 is an SPI with interrupt ID
/// number + 32; 1 is a PPI, and GICv3's 2 and 3 are extended ranges.
enum GIC {
    static let compatibles: Set<String> = [
        "arm,gic-v3", "arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic", "arm,cortex-a7-gic",
        "arm,cortex-a5-gic", "arm,arm11mp-gic", "arm,arm1176jzf-devchip-gic", "arm,eb11mp-gic",
        "arm,tc11mp-gic", "arm,pl390", "brcm,brahma-b15-gic", "nvidia,tegra210-agic",
        "qcom,msm-8660-qgic", "qcom,msm-qgic2",
    ]
    /// The last SPI number: interrupt IDs 32…1019 are SPIs.
    static let lastSPINumber: UInt32 = 987
}

/// Resolves interrupts as Linux's `of_irq_parse_one` does:
/// `interrupts-extended` first (phandle + that controller's
/// `#interrupt-cells` per entry); else `interrupts`, read with the
/// `#interrupt-cells` of the interrupt parent, found by
/// `of_irq_find_parent`'s walk (the node's `interrupt-parent`, else its
/// parent, repeated until a node with `#interrupt-cells`).
///
/// The walk result is memoised per node, so resolving every node of a
/// tree is linear even with long `interrupt-parent` chains, and a cycle
/// (which makes Linux loop forever) is reported instead of followed.
/// Nexus nodes (`interrupt-map`) are accepted but not translated.
struct InterruptResolver {
    let tree: TreeIndex
    private var domains: [Int: Result<Int, Problem>] = [:]

    struct Problem: Error, Hashable { let text: String }

    init(_ tree: TreeIndex) { self.tree = tree }

    mutating func interrupts(of index: Int) -> InterruptList {
        var extended: InterruptList?
        if let value = tree.property(index, "interrupts-extended") {
            let list = decodeExtended(value)
            if !list.entries.isEmpty { return list }
            extended = list
        }
        guard let value = tree.property(index, "interrupts") else {
            return extended ?? InterruptList(isAbsent: true)
        }
        switch domain(startingAfter: index) {
        case .failure(let problem): return InterruptList(problem: problem.text)
        case .success(let controller): return decode(value, controller: controller)
        }
    }

    // MARK: - interrupts with an interrupt parent

    private func decode(_ value: PropertyValue, controller: Int) -> InterruptList {
        guard let width = tree.firstCell(controller, "#interrupt-cells"), width > 0 else {
            return InterruptList(problem: "#interrupt-cells of \(tree.path(controller)) is missing or 0")
        }
        let count = Cells.count(in: value) / Int(width)
        guard count > 0 else {
            return InterruptList(
                problem: "interrupts has \(value.bytes.count) bytes, less than one \(width)-cell specifier for \(tree.path(controller))")
        }
        var list = InterruptList()
        for entry in 0..<count {
            let cells = (0..<Int(width)).compactMap { Cells.at(entry * Int(width) + $0, in: value) }
            switch specifier(cells, controller: controller) {
            case .success(let interrupt): list.entries.append(interrupt)
            case .failure(let problem):
                list.problem = problem.text
                return list
            }
        }
        return list
    }

    /// The interrupt domain of a node: the first node with
    /// `#interrupt-cells` after it on the `interrupt-parent`/parent walk.
    private mutating func domain(startingAfter index: Int) -> Result<Int, Problem> {
        var chain: [Int] = []
        var seen = Set<Int>()
        var current = next(after: index)
        let result: Result<Int, Problem>
        while true {
            guard case .success(let node) = current else {
                result = current
                break
            }
            if let known = domains[node] {
                result = known
                break
            }
            if tree.has(node, "#interrupt-cells") {
                result = .success(node)
                break
            }
            guard seen.insert(node).inserted else {
                result = .failure(Problem(text: "the interrupt-parent chain through \(tree.path(node)) loops"))
                break
            }
            chain.append(node)
            current = next(after: node)
        }
        for node in chain { domains[node] = result }
        return result
    }

    /// One step of the walk: the `interrupt-parent` target, else the parent.
    private func next(after index: Int) -> Result<Int, Problem> {
        if let phandle = tree.firstCell(index, "interrupt-parent") {
            guard let target = tree.target(ofPhandle: phandle) else {
                return .failure(Problem(text: "interrupt-parent \(hex(phandle)) of \(tree.path(index)) matches no node"))
            }
            return .success(target)
        }
        guard let parent = tree.parent(index) else {
            return .failure(Problem(text: "no interrupt-parent on the node or any ancestor"))
        }
        return .success(parent)
    }

    // MARK: - interrupts-extended

    private func decodeExtended(_ value: PropertyValue) -> InterruptList {
        var list = InterruptList()
        var cell = 0
        let total = Cells.count(in: value)
        while cell < total {
            let entry = list.entries.count
            guard let phandle = Cells.at(cell, in: value), let controller = tree.target(ofPhandle: phandle) else {
                list.problem = "interrupts-extended entry \(entry): phandle \(hex(Cells.at(cell, in: value) ?? 0)) matches no node"
                return list
            }
            guard let width = tree.firstCell(controller, "#interrupt-cells") else {
                list.problem = "interrupts-extended entry \(entry): \(tree.path(controller)) has no #interrupt-cells"
                return list
            }
            guard cell + 1 + Int(width) <= total else {
                list.problem = "interrupts-extended entry \(entry): \(tree.path(controller)) needs \(width) cells, \(total - cell - 1) remain"
                return list
            }
            let cells = (0..<Int(width)).compactMap { Cells.at(cell + 1 + $0, in: value) }
            switch specifier(cells, controller: controller) {
            case .success(let interrupt): list.entries.append(interrupt)
            case .failure(let problem):
                list.problem = problem.text
                return list
            }
            cell += 1 + Int(width)
        }
        if list.entries.isEmpty && list.problem == nil {
            list.problem = "interrupts-extended holds no complete entry"
        }
        return list
    }

    // MARK: - Specifiers

    /// Decodes one specifier for its controller: a GIC SPI gets its
    /// interrupt ID; other controllers and nexus nodes are accepted with
    /// no SPI; a node that is neither cannot take interrupts.
    private func specifier(_ cells: [UInt32], controller: Int) -> Result<Interrupt, Problem> {
        let path = tree.path(controller)
        guard tree.has(controller, "interrupt-controller") else {
            if tree.has(controller, "interrupt-map") { return .success(Interrupt(controller: controller, spi: nil)) }
            return .failure(Problem(text: "\(path) is neither an interrupt controller nor an interrupt nexus"))
        }
        guard tree.compatibles(controller).contains(where: GIC.compatibles.contains) else {
            return .success(Interrupt(controller: controller, spi: nil))
        }
        guard cells.count >= 3 else {
            return .failure(Problem(text: "GIC \(path) needs at least 3 cells per interrupt, has #interrupt-cells = \(cells.count)"))
        }
        guard cells[0] == 0 else { return .success(Interrupt(controller: controller, spi: nil)) }
        guard cells[1] <= GIC.lastSPINumber else {
            return .failure(Problem(text: "SPI number \(cells[1]) is past the GIC's last SPI (\(GIC.lastSPINumber), interrupt ID 1019)"))
        }
        return .success(Interrupt(controller: controller, spi: cells[1] + 32))
    }
}
