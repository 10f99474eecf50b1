import CLibFDT

/// Writes a `DeviceTree` as a flattened device tree blob (version 17) with
/// libfdt's sequential-write API (all but its closing step, `fdt_finish`:
/// see `Emitter.finish`).
///
/// libfdt accepts duplicate names, properties after subnodes and unclosed
/// nodes in this mode, so the writer checks every node against
/// `TreeRules` as it emits it and refuses anything dtc would reject,
/// keeping nothing it emitted. The same tree always gives the same bytes:
/// calls happen in model order, and `fdt_create_with_flags` zeroes the
/// whole buffer first (libfdt leaves padding after names and values
/// unwritten). Property names are shared as libfdt shares them, by
/// `StringsBlock` (see there why).
public enum DTBWriter {
    /// Deepest nesting accepted below the root (the reader uses the same).
    public static let maxDepth = 256

    /// The blob for `tree`.
    public static func write(_ tree: DeviceTree) throws(DTBWriteError) -> [UInt8] {
        try TreeRules.checkRoot(tree)
        let bound = Sizes(of: tree, names: UnsharedNames())
        var capacity = bound.total
        while true {
            guard capacity <= Int(Int32.max) else { throw .tooLarge(bytes: capacity) }
            if let blob = try emit(tree, capacity: capacity, properties: bound.properties) { return blob }
            // The bound is never too small for libfdt 1.6.1; doubling is only a safety net.
            capacity *= 2
        }
    }

    /// The `totalsize` of the blob `write` gives `tree` (the same as
    /// libxl's libfdt calls give it), without writing it: the domain
    /// builder places modules after a DTB of this size.
    public static func size(of tree: DeviceTree) -> Int {
        Sizes(of: tree, names: TreeNames()).total
    }

    /// A blob's size, block by block, walking the tree in `write`'s order
    /// (pre-order, children in order: name sharing depends on it), with
    /// the strings block `Names` makes: libfdt's shared one (`TreeNames`),
    /// or a name per property (`UnsharedNames`), the room libfdt needs
    /// while the writer has it store them so (the shared block made
    /// afterwards is never larger).
    private struct Sizes<Names: NameCount & ~Copyable>: ~Copyable {
        /// The header (40 bytes, padded to 48), the reservation map, the
        /// structure block and the strings block.
        private(set) var total = 0
        /// Properties in the tree.
        private(set) var properties = 0
        private var structure = 4  // FDT_END
        private var names: Names

        init(of tree: DeviceTree, names: consuming Names) {
            self.names = names
            withUnsafePointer(to: tree.root) { add($0) }
            total = 48 + 16 * (tree.reservations.count + 1) + structure + self.names.size
        }

        /// A node and its subtree. Nodes and properties are read in place,
        /// through pointers into their arrays: a copy of a `Node`, to pass
        /// it or to keep it on a stack, costs a retain and a release of
        /// each of its four fields.
        private mutating func add(_ node: UnsafePointer<Node>) {
            structure += 4 + align4(node.pointee.name.utf8.count + 1) + 4  // BEGIN_NODE + name, END_NODE
            node.pointee.properties.withUnsafeBufferPointer { properties in
                self.properties += properties.count
                for index in properties.indices {
                    structure += 12 + align4(properties[index].value.bytes.count)
                    names.count(properties[index].name)
                }
            }
            node.pointee.children.withUnsafeBufferPointer { children in
                guard let first = children.baseAddress else { return }
                for index in children.indices { add(first + index) }
            }
        }
    }

    private static func align4(_ size: Int) -> Int { (size + 3) & ~3 }

    /// One build attempt, written straight into the blob's array; nil
    /// when `capacity` was too small.
    private static func emit(_ tree: DeviceTree, capacity: Int, properties: Int) throws(DTBWriteError) -> [UInt8]? {
        var failure: EmitFailure?
        let blob = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            guard let fdt = buffer.baseAddress else { return failure = .outOfSpace }
            do throws(EmitFailure) {
                try emit(tree, into: UnsafeMutableRawPointer(fdt), capacity: capacity, properties: properties)
                count = Int(grantdt_fdt_totalsize(fdt))
            } catch {
                failure = error
            }
        }
        switch failure {
        case nil: return blob
        case .outOfSpace?: return nil
        case .failed(let failure)?: throw failure
        }
    }

    /// The libfdt calls for `tree` into the `capacity` bytes at `fdt`, then
    /// the blob's end with the shared names (`Emitter.finish`).
    private static func emit(
        _ tree: DeviceTree, into fdt: UnsafeMutableRawPointer, capacity: Int, properties: Int
    ) throws(EmitFailure) {
        var emitter = Emitter(fdt: fdt, properties: properties)
        let unshared = UInt32(FDT_CREATE_FLAG_NO_NAME_DEDUP)
        try emitter.call("fdt_create_with_flags") { fdt_create_with_flags(fdt, Int32(capacity), unshared) }
        for entry in tree.reservations {
            try emitter.call("fdt_add_reservemap_entry") { fdt_add_reservemap_entry(fdt, entry.address, entry.size) }
        }
        try emitter.call("fdt_finish_reservemap") { fdt_finish_reservemap(fdt) }
        try withUnsafePointer(to: tree.root) { root throws(EmitFailure) in try emitter.node(root, depth: 0) }
        try emitter.finishRules(tree)
        try emitter.finish(capacity: capacity)
        if tree.bootCPUID != 0 {
            fdt_set_boot_cpuid_phys(fdt, tree.bootCPUID)
        }
    }

    private enum EmitFailure: Error {
        case outOfSpace
        case failed(DTBWriteError)
    }

    private struct Emitter: ~Copyable {
        let fdt: UnsafeMutableRawPointer
        /// The tree rules' walk, node by node as the tree is emitted.
        private var rules: TreeRules.Walk
        /// The property names, in the block libfdt would have built
        /// sharing them.
        private var strings = TreeNames()
        /// Each property's tag, from the structure block's start, and where
        /// its name is in `strings`.
        private var names: [(tag: UInt32, offset: Int32)] = []
        /// Empty properties still need a valid pointer: libfdt 1.6.1's
        /// `fdt_property` copies from it even for length 0.
        private static let emptyValue: [UInt8] = [0]

        /// An emitter for a tree of `properties` properties into `fdt`.
        init(fdt: UnsafeMutableRawPointer, properties: Int) {
            self.fdt = fdt
            rules = TreeRules.Walk(properties: properties)
            names.reserveCapacity(properties)
        }

        func call(_ name: String, _ body: () -> Int32) throws(EmitFailure) {
            let result = body()
            guard result < 0 else { return }
            guard let code = FDTErrorCode(returnValue: result) else {
                throw .failed(.libfdt(call: name, code: .internalError))
            }
            throw code == .noSpace ? .outOfSpace : .failed(.libfdt(call: name, code: code))
        }

        /// Checks `node` against the tree rules and emits it, property by
        /// property, then its children.
        ///
        /// Nodes are passed as pointers into their parent's children: a
        /// `Node` argument is a copy, a retain and a release of each of its
        /// four fields. Names go through `withCString`: passing a String as
        /// `const char *` copies it into a new array on every call.
        mutating func node(_ node: UnsafePointer<Node>, depth: Int) throws(EmitFailure) {
            try Self.checked { () throws(DTBWriteError) in try rules.enter(labels: node.pointee.labels, depth: depth) }
            try call("fdt_begin_node") { node.pointee.name.withCString { fdt_begin_node(fdt, $0) } }
            var hasPhandle = false
            try node.pointee.properties.withUnsafeBufferPointer { properties throws(EmitFailure) in
                guard let first = properties.baseAddress else { return }
                for property in first..<(first + properties.count) {
                    let lookup = strings.lookup(property.pointee.name)
                    try Self.checked { () throws(DTBWriteError) in
                        hasPhandle = try rules.checkProperty(property, lookup) || hasPhandle
                    }
                    names.append((grantdt_fdt_size_dt_struct(fdt), lookup.offset))
                    try call("fdt_property") {
                        let value = property.pointee.value.bytes
                        return (value.isEmpty ? Self.emptyValue : value).withUnsafeBytes { raw in
                            property.pointee.name.withCString { fdt_property(fdt, $0, raw.baseAddress, Int32(value.count)) }
                        }
                    }
                }
            }
            if hasPhandle { rules.notePhandle(node.pointee.phandle) }
            let children = node.pointee.children
            let repeatedChild = TreeRules.firstRepeat(children, \.name)
            try children.withUnsafeBufferPointer { children throws(EmitFailure) in
                guard let first = children.baseAddress else { return }
                for index in children.indices {
                    try Self.checked { () throws(DTBWriteError) in
                        try rules.enterChild(named: children[index].name, isRepeat: index == repeatedChild)
                    }
                    try self.node(first + index, depth: depth + 1)
                    rules.leaveChild()
                }
            }
            try call("fdt_end_node") { fdt_end_node(fdt) }
        }

        /// The rules over the whole tree, once every node is emitted.
        func finishRules(_ tree: DeviceTree) throws(EmitFailure) {
            try Self.checked { () throws(DTBWriteError) in try rules.finish(tree) }
        }

        /// Runs a rule check, a broken rule failing the write.
        private static func checked(_ check: () throws(DTBWriteError) -> Void) throws(EmitFailure) {
            do throws(DTBWriteError) { try check() } catch { throw .failed(error) }
        }

        /// Ends the blob as `fdt_finish` does, with the shared names.
        ///
        /// `fdt_finish` adds the end tag, moves libfdt's strings block
        /// after the structure and then walks every tag to rebase each
        /// property's name offset into it: nearly a quarter of the writer's
        /// instructions, spent on offsets that point at the one copy per
        /// property this writer has libfdt make, and that it replaces with
        /// the shared block anyway. So the end tag, the shared block and
        /// the header fields `fdt_finish` sets are written here, and each
        /// property's name offset once.
        func finish(capacity: Int) throws(EmitFailure) {
            let structure = Int(grantdt_fdt_off_dt_struct(fdt))
            let structureSize = Int(grantdt_fdt_size_dt_struct(fdt)) + 4  // with FDT_END
            let strings = structure + structureSize
            // libfdt's own names fill the buffer's end; the end tag must fit
            // before them (as fdt_finish's would), and the shared block,
            // never larger, then fits where they were.
            guard strings <= capacity - Int(grantdt_fdt_size_dt_strings(fdt)) else { throw .outOfSpace }
            (fdt + strings - 4).storeBytes(of: UInt32(FDT_END).bigEndian, as: UInt32.self)
            let nameField = 8  // struct fdt_property: tag, len, nameoff (all big-endian 32-bit)
            for (tag, offset) in names {
                let nameOffset = UInt32(bitPattern: Int32(self.strings.block.size) + offset)
                (fdt + structure).storeBytes(of: nameOffset.bigEndian, toByteOffset: Int(tag) + nameField, as: UInt32.self)
            }
            self.strings.block.write(to: fdt + strings)
            fdt_set_size_dt_struct(fdt, UInt32(structureSize))
            fdt_set_off_dt_strings(fdt, UInt32(strings))
            fdt_set_size_dt_strings(fdt, UInt32(self.strings.block.size))
            fdt_set_totalsize(fdt, UInt32(strings + self.strings.block.size))
            // Sequential-write mode kept its flags and its own magic here.
            fdt_set_last_comp_version(fdt, UInt32(FDT_LAST_COMPATIBLE_VERSION))
            fdt_set_magic(fdt, UInt32(FDT_MAGIC))
        }
    }
}

/// How a size walk counts the strings block: name by name, then its size.
private protocol NameCount: ~Copyable {
    mutating func count(_ name: String)
    var size: Int { get }
}

/// A copy of every name, as libfdt stores them when not sharing.
private struct UnsharedNames: NameCount {
    private(set) var size = 0

    mutating func count(_ name: String) { size += name.utf8.count + 1 }
}

extension TreeNames: NameCount {
    mutating func count(_ name: String) { _ = lookup(name) }
    var size: Int { block.size }
}
