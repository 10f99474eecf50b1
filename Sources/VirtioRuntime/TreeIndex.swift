import DeviceTree

/// The tree as the binder reads it: the node table plus the per-node facts
/// every resolver asks for (availability, compatible strings), computed
/// once so that each check stays linear in the size of the tree.
///
/// Property reads follow Linux's helpers on untrusted values: a count such
/// as `#address-cells` is the first cell of a value of at least 4 bytes
/// (`of_property_read_u32`), anything shorter counts as absent.
struct TreeIndex {
    let table: NodeTable
    /// Per entry: the node and every ancestor are available (`status`
    /// absent, `"okay"` or `"ok"`). Linux creates no device below a
    /// disabled bus.
    let available: [Bool]
    /// Per entry: the `compatible` strings, decoded once (every check
    /// asks), empty when absent or undecodable.
    private let compatibleLists: [[String]]

    init(_ tree: DeviceTree) {
        table = NodeTable(tree)
        var available: [Bool] = []
        var compatibleLists: [[String]] = []
        available.reserveCapacity(table.entries.count)
        compatibleLists.reserveCapacity(table.entries.count)
        // Pre-order: a parent's entry always precedes its children's.
        for entry in table.entries {
            let own = Self.isAvailable(entry.node)
            available.append(own && (entry.parent.map { available[$0] } ?? true))
            compatibleLists.append(entry.node[property: "compatible"]?.strings ?? [])
        }
        self.available = available
        self.compatibleLists = compatibleLists
    }

    // `entries[index]` rather than the table's subscript: the element is
    // read in place instead of being copied out whole.
    var count: Int { table.entries.count }
    func node(_ index: Int) -> Node { table.entries[index].node }
    func path(_ index: Int) -> String { table.entries[index].path }
    func parent(_ index: Int) -> Int? { table.entries[index].parent }
    func property(_ index: Int, _ name: String) -> PropertyValue? { table.entries[index].node[property: name] }
    func has(_ index: Int, _ name: String) -> Bool { property(index, name) != nil }
    func target(ofPhandle phandle: UInt32) -> Int? { table.index(ofPhandle: phandle) }

    /// The first cell of a property, as `of_property_read_u32` reads it.
    func firstCell(_ index: Int, _ name: String) -> UInt32? {
        property(index, name).flatMap { Cells.at(0, in: $0) }
    }

    /// Whether the node's `compatible` list holds this string.
    func isCompatible(_ index: Int, _ compatible: String) -> Bool {
        compatibles(index).contains(compatible)
    }

    /// The node's `compatible` strings, empty when absent or undecodable.
    func compatibles(_ index: Int) -> [String] { compatibleLists[index] }

    /// `#address-cells` that the node sets for its children; 2 when absent,
    /// as the Devicetree Specification says (Linux instead inherits from
    /// further up; dtc and the specification do not).
    func addressCells(_ index: Int) -> UInt32 { firstCell(index, "#address-cells") ?? 2 }

    /// `#size-cells` that the node sets for its children; 1 when absent.
    func sizeCells(_ index: Int) -> UInt32 { firstCell(index, "#size-cells") ?? 1 }

    /// Linux's `of_device_is_available` on one node: `status` absent, or
    /// its text up to the first NUL is `okay` or `ok`.
    static func isAvailable(_ node: Node) -> Bool {
        guard let status = node[property: "status"] else { return true }
        let text = status.bytes.prefix { $0 != 0 }
        return !status.isEmpty && (text.elementsEqual("okay".utf8) || text.elementsEqual("ok".utf8))
    }
}

/// Length-checked reads of big-endian cells from untrusted values.
enum Cells {
    /// Cell `index` of a value, or nil when the value is too short.
    static func at(_ index: Int, in value: PropertyValue) -> UInt32? {
        let offset = index * 4
        guard index >= 0, offset + 4 <= value.bytes.count else { return nil }
        let bytes = value.bytes
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    /// The number of whole cells in a value (trailing bytes ignored).
    static func count(in value: PropertyValue) -> Int { value.bytes.count / 4 }

    /// `count` cells from `index` as one number (at most 4 cells), or nil
    /// when the value is too short.
    static func number(_ index: Int, count: Int, in value: PropertyValue) -> UInt128? {
        guard (0...4).contains(count) else { return nil }
        var result: UInt128 = 0
        for offset in 0..<count {
            guard let cell = at(index + offset, in: value) else { return nil }
            result = result << 32 | UInt128(cell)
        }
        return result
    }
}

/// Hexadecimal with a `0x` prefix, as dtc prints numbers.
func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
