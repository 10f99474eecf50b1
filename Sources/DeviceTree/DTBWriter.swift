import CLibFDT

/// Writes a `DeviceTree` as a flattened device tree blob (version 17) with
/// libfdt's sequential-write API.
///
/// libfdt accepts duplicate names, properties after subnodes and unclosed
/// nodes in this mode, so the writer checks the tree first and refuses
/// anything dtc would reject. The same tree always gives the same bytes:
/// calls happen in model order into a zeroed buffer.
public enum DTBWriter {
    /// Deepest nesting accepted below the root (the reader uses the same).
    public static let maxDepth = 256

    /// The blob for `tree`.
    public static func write(_ tree: DeviceTree) throws(DTBWriteError) -> [UInt8] {
        try TreeRules.check(tree)
        var capacity = upperBoundSize(of: tree)
        while true {
            guard capacity <= Int(Int32.max) else { throw .tooLarge(bytes: capacity) }
            if let blob = try emit(tree, capacity: capacity) { return blob }
            // The bound is never too small for libfdt 1.6.1; doubling is only a safety net.
            capacity *= 2
        }
    }

    /// Header + reservation map + structure block + every property's name
    /// as if none were shared: never smaller than libfdt needs. (Counting
    /// each name once would need a set of names; the spare bytes of the
    /// zeroed buffer cost less than hashing every name.)
    static func upperBoundSize(of tree: DeviceTree) -> Int {
        // The header (40 bytes, padded to 48), the reservation map, FDT_END.
        var size = 48 + 16 * (tree.reservations.count + 1) + 4
        var stack = [tree.root]
        while let node = stack.popLast() {
            size += 8 + align4(node.name.utf8.count + 1)
            for property in node.properties {
                size += 12 + align4(property.value.bytes.count) + property.name.utf8.count + 1
            }
            stack.append(contentsOf: node.children)
        }
        return size
    }

    private static func align4(_ size: Int) -> Int { (size + 3) & ~3 }

    /// One build attempt; nil when the buffer was too small.
    private static func emit(_ tree: DeviceTree, capacity: Int) throws(DTBWriteError) -> [UInt8]? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let fdt = buffer.baseAddress!  // capacity > 0: the bound includes the header
        let emitter = Emitter(fdt: fdt)
        do throws(EmitFailure) {
            try emitter.call("fdt_create") { fdt_create(fdt, Int32(capacity)) }
            for entry in tree.reservations {
                try emitter.call("fdt_add_reservemap_entry") { fdt_add_reservemap_entry(fdt, entry.address, entry.size) }
            }
            try emitter.call("fdt_finish_reservemap") { fdt_finish_reservemap(fdt) }
            try emitter.node(tree.root)
            try emitter.call("fdt_finish") { fdt_finish(fdt) }
        } catch {
            switch error {
            case .outOfSpace: return nil
            case .failed(let failure): throw failure
            }
        }
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

        // Names go through `withCString`: passing a String as `const char *`
        // copies it into a new array on every call.
        func node(_ node: Node) throws(EmitFailure) {
            try call("fdt_begin_node") { node.name.withCString { fdt_begin_node(fdt, $0) } }
            for property in node.properties {
                try call("fdt_property") {
                    let bytes = property.value.bytes.isEmpty ? Self.emptyValue : property.value.bytes
                    return bytes.withUnsafeBytes { raw in
                        property.name.withCString { fdt_property(fdt, $0, raw.baseAddress, Int32(property.value.bytes.count)) }
                    }
                }
            }
            for child in node.children {
                try self.node(child)
            }
            try call("fdt_end_node") { fdt_end_node(fdt) }
        }
    }
}
