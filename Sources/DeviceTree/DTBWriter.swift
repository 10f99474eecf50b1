import CLibFDT

/// Writes a `DeviceTree` as a flattened device tree blob (version 17) with
/// libfdt's sequential-write API.
///
/// libfdt accepts duplicate names, properties after subnodes and unclosed
/// nodes in this mode, so the writer checks every node against
/// `TreeRules` as it emits it and refuses anything dtc would reject,
/// keeping nothing it emitted. The same tree always gives the same bytes:
/// calls happen in model order, and `fdt_create_with_flags` zeroes the
/// whole buffer first (libfdt leaves padding after names and values
/// unwritten). Property names are
/// shared as libfdt shares them, by `StringsBlock` (see there why).
public enum DTBWriter {
    /// Deepest nesting accepted below the root (the reader uses the same).
    public static let maxDepth = 256

    /// The blob for `tree`.
    public static func write(_ tree: DeviceTree) throws(DTBWriteError) -> [UInt8] {
        try TreeRules.checkRoot(tree)
        var capacity = upperBoundSize(of: tree)
        while true {
            guard capacity <= Int(Int32.max) else { throw .tooLarge(bytes: capacity) }
            if let blob = try emit(tree, capacity: capacity) { return blob }
            // The bound is never too small for libfdt 1.6.1; doubling is only a safety net.
            capacity *= 2
        }
    }

    /// The `totalsize` of the blob `write` gives `tree` (the same as
    /// libxl's libfdt calls give it), without writing it: the domain
    /// builder places modules after a DTB of this size.
    public static func size(of tree: DeviceTree) -> Int {
        Sizes(of: tree, sharingNames: true).total
    }

    /// The room libfdt needs while it writes `tree` storing a name per
    /// property (the shared block made afterwards is never larger).
    static func upperBoundSize(of tree: DeviceTree) -> Int {
        Sizes(of: tree, sharingNames: false).total
    }

    /// A blob's size, block by block, walking the tree in `write`'s order
    /// (pre-order, children in order: name sharing depends on it).
    private struct Sizes {
        /// The header (40 bytes, padded to 48) and the reservation map.
        private let head: Int
        private var structure = 4  // FDT_END
        private var names = 0
        private var shared: StringsBlock?

        var total: Int { head + structure + (shared?.size ?? names) }

        init(of tree: DeviceTree, sharingNames: Bool) {
            head = 48 + 16 * (tree.reservations.count + 1)
            shared = sharingNames ? StringsBlock() : nil
            withUnsafePointer(to: tree.root) { add($0) }
        }

        /// A node and its subtree. Nodes and properties are read in place,
        /// through pointers into their arrays: a copy of a `Node`, to pass
        /// it or to keep it on a stack, costs a retain and a release of
        /// each of its four fields.
        private mutating func add(_ node: UnsafePointer<Node>) {
            structure += 4 + align4(node.pointee.name.utf8.count + 1) + 4  // BEGIN_NODE + name, END_NODE
            node.pointee.properties.withUnsafeBufferPointer { properties in
                for index in properties.indices {
                    structure += 12 + align4(properties[index].value.bytes.count)
                    if shared == nil { names += properties[index].name.utf8.count + 1 } else { shared?.add(properties[index].name) }
                }
            }
            node.pointee.children.withUnsafeBufferPointer { children in
                guard let first = children.baseAddress else { return }
                for index in children.indices { add(first + index) }
            }
        }
    }

    private static func align4(_ size: Int) -> Int { (size + 3) & ~3 }

    /// One build attempt; nil when the buffer was too small.
    private static func emit(_ tree: DeviceTree, capacity: Int) throws(DTBWriteError) -> [UInt8]? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        let fdt = buffer.baseAddress!  // capacity > 0: the bound includes the header
        var emitter = Emitter(fdt: fdt)
        do throws(EmitFailure) {
            let unshared = UInt32(FDT_CREATE_FLAG_NO_NAME_DEDUP)
            try emitter.call("fdt_create_with_flags") { fdt_create_with_flags(fdt, Int32(capacity), unshared) }
            for entry in tree.reservations {
                try emitter.call("fdt_add_reservemap_entry") { fdt_add_reservemap_entry(fdt, entry.address, entry.size) }
            }
            try emitter.call("fdt_finish_reservemap") { fdt_finish_reservemap(fdt) }
            try emitter.node(tree.root, depth: 0)
            try emitter.finishRules()
            try emitter.call("fdt_finish") { fdt_finish(fdt) }
        } catch {
            switch error {
            case .outOfSpace: return nil
            case .failed(let failure): throw failure
            }
        }
        emitter.shareNames()
        if tree.bootCPUID != 0 {
            fdt_set_boot_cpuid_phys(fdt, tree.bootCPUID)
        }
        let size = Int(grantdt_fdt_totalsize(fdt))
        return Array(UnsafeRawBufferPointer(rebasing: buffer[..<size]))
    }

    private enum EmitFailure: Error {
        case outOfSpace
        case failed(DTBWriteError)
    }

    private struct Emitter {
        let fdt: UnsafeMutableRawPointer
        /// The tree rules' walk, node by node as the tree is emitted.
        private var rules = TreeRules.Walk()
        /// The block libfdt would have built sharing names.
        private var strings = StringsBlock()
        /// Each property's tag, from the structure block's start, and where
        /// its name is in `strings`.
        private var names: [(tag: UInt32, offset: Int32)] = []
        /// Empty properties still need a valid pointer: libfdt 1.6.1's
        /// `fdt_property` copies from it even for length 0.
        private static let emptyValue: [UInt8] = [0]

        init(fdt: UnsafeMutableRawPointer) { self.fdt = fdt }

        func call(_ name: String, _ body: () -> Int32) throws(EmitFailure) {
            let result = body()
            guard result < 0 else { return }
            guard let code = FDTErrorCode(returnValue: result) else {
                throw .failed(.libfdt(call: name, code: .internalError))
            }
            throw code == .noSpace ? .outOfSpace : .failed(.libfdt(call: name, code: code))
        }

        /// Checks `node` against the tree rules and emits it, property by
        /// property, then its children. A name met before in the tree was
        /// checked then: `StringsBlock` says which names are new.
        ///
        /// Names go through `withCString`: passing a String as `const char *`
        /// copies it into a new array on every call. Properties and
        /// children are read by index: iterating copies every one.
        mutating func node(_ node: Node, depth: Int) throws(EmitFailure) {
            try checked { () throws(DTBWriteError) in try rules.enter(node, depth: depth) }
            try call("fdt_begin_node") { node.name.withCString { fdt_begin_node(fdt, $0) } }
            let repeatedProperty = TreeRules.firstRepeat(node.properties, \.name)
            var hasPhandle = false
            for index in node.properties.indices {
                let name = node.properties[index].name
                let value = node.properties[index].value.bytes
                let (offset, isFirst) = strings.add(name)
                try checked { () throws(DTBWriteError) in
                    try TreeRules.checkProperty(
                        node.properties[index], at: index, repeated: repeatedProperty, nameChecked: !isFirst, path: rules.path)
                }
                hasPhandle = hasPhandle || TreeRules.namesPhandle(name)
                names.append((grantdt_fdt_size_dt_struct(fdt), offset))
                try call("fdt_property") {
                    (value.isEmpty ? Self.emptyValue : value).withUnsafeBytes { raw in
                        name.withCString { fdt_property(fdt, $0, raw.baseAddress, Int32(value.count)) }
                    }
                }
            }
            rules.notePhandle(of: node, hasOne: hasPhandle)
            let repeatedChild = TreeRules.firstRepeat(node.children, \.name)
            for index in node.children.indices {
                try checked { () throws(DTBWriteError) in try rules.enterChild(of: node, at: index, repeated: repeatedChild) }
                try self.node(node.children[index], depth: depth + 1)
                rules.leaveChild()
            }
            try call("fdt_end_node") { fdt_end_node(fdt) }
        }

        /// The rules over the whole tree, once every node is emitted.
        func finishRules() throws(EmitFailure) {
            try checked { () throws(DTBWriteError) in try rules.finish() }
        }

        /// Runs a rule check, a broken rule failing the write.
        private func checked(_ check: () throws(DTBWriteError) -> Void) throws(EmitFailure) {
            do throws(DTBWriteError) { try check() } catch { throw .failed(error) }
        }

        /// Replaces the finished blob's one-copy-per-property strings block
        /// with the shared one and points every property at its name there.
        /// The shared block is never larger, so it fits where the other was.
        func shareNames() {
            let structure = fdt + Int(grantdt_fdt_off_dt_struct(fdt))
            let nameField = 8  // struct fdt_property: tag, len, nameoff (all big-endian 32-bit)
            for (tag, offset) in names {
                let nameOffset = UInt32(bitPattern: Int32(strings.size) + offset)
                structure.storeBytes(of: nameOffset.bigEndian, toByteOffset: Int(tag) + nameField, as: UInt32.self)
            }
            let block = grantdt_fdt_off_dt_strings(fdt)
            strings.write(to: fdt + Int(block))
            fdt_set_size_dt_strings(fdt, UInt32(strings.size))
            fdt_set_totalsize(fdt, block + UInt32(strings.size))
        }
    }
}
