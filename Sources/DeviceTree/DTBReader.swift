import CLibFDT

/// Reads untrusted device tree blobs into a `DeviceTree`.
///
/// Order of defence: copy into an 8-byte-aligned buffer; check the header
/// against the real size (`BlobHeader`); let `fdt_check_full` walk every
/// tag; then walk the tags ourselves, iteratively, with a depth limit and
/// name checks. Accepts what real toolstacks emit: NOP tokens (libxl NOPs
/// empty memory nodes) and unused bytes after the blocks.
public enum DTBReader {
    /// The tree in `bytes`, or a typed error saying what is wrong and where.
    public static func read(_ bytes: [UInt8]) throws(DTBError) -> DeviceTree {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        defer { buffer.deallocate() }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        let blob = UnsafeRawBufferPointer(rebasing: buffer[..<bytes.count])

        let header = try BlobHeader(blob)
        let reservations = try header.reservations(in: blob)
        let fdt = UnsafeRawPointer(buffer.baseAddress!)
        try checkFull(blob, header: header)

        var walker = TagWalker(fdt: fdt)
        let root = try walker.walk()
        return DeviceTree(root: root, reservations: reservations, bootCPUID: header.bootCPUID)
    }
}

/// `fdt_check_full`, tolerating NOP tokens between the root's end and
/// FDT_END, which libfdt 1.6.1 wrongly refuses (fixed upstream in caf7465).
private func checkFull(_ blob: UnsafeRawBufferPointer, header: BlobHeader) throws(DTBError) {
    let result = fdt_check_full(blob.baseAddress, blob.count)
    guard let code = FDTErrorCode(returnValue: result) else { return }
    guard code == .badStructure, header.version >= 17, let firstNop = nopTailStart(blob, header: header) else {
        throw .malformed(code, offset: nil)
    }
    // Re-check a copy whose NOP tail is cut short by an early FDT_END.
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: blob.count, alignment: 8)
    defer { copy.deallocate() }
    copy.copyMemory(from: blob)
    copy.storeBytes(of: UInt32(FDT_END).bigEndian, toByteOffset: firstNop, as: UInt32.self)
    if let code = FDTErrorCode(returnValue: fdt_check_full(copy.baseAddress, copy.count)) {
        throw .malformed(code, offset: nil)
    }
}

/// The blob offset of the first of the NOP words just before the final
/// FDT_END, or nil when FDT_END is not preceded by a NOP. In a valid
/// stream the words before FDT_END are tokens, so the scan is unambiguous.
private func nopTailStart(_ blob: UnsafeRawBufferPointer, header: BlobHeader) -> Int? {
    func token(at offset: Int) -> UInt32 { UInt32(bigEndian: blob.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    let end = header.structOffset + header.structSize - 4
    guard header.structSize >= 8, token(at: end) == UInt32(FDT_END) else { return nil }
    var offset = end
    while offset - 4 >= header.structOffset, token(at: offset - 4) == UInt32(FDT_NOP) { offset -= 4 }
    return offset < end ? offset : nil
}

/// Builds nodes from the structure block's tag stream with an explicit
/// stack, so a hostile depth cannot exhaust the call stack.
private struct TagWalker {
    private struct Partial {
        var name: String
        var properties: [Property] = []
        var children: [Node] = []
        var propertyNames = Set<String>()
        var childNames = Set<String>()
    }

    let fdt: UnsafeRawPointer
    private var stack: [Partial] = []
    /// Property names by strings-block offset: names repeat in every node.
    private var names: [Int32: String] = [:]

    init(fdt: UnsafeRawPointer) { self.fdt = fdt }

    private var path: String {
        stack.count <= 1 ? "/" : "/" + stack.dropFirst().map(\.name).joined(separator: "/")
    }

    mutating func walk() throws(DTBError) -> Node {
        var offset: Int32 = 0
        while true {
            var next: Int32 = 0
            let tag = fdt_next_tag(fdt, offset, &next)
            if next < 0, let code = FDTErrorCode(returnValue: next) { throw .malformed(code, offset: Int(offset)) }
            switch Int32(bitPattern: tag) {
            case FDT_BEGIN_NODE:
                try beginNode(at: offset)
            case FDT_PROP:
                try property(at: offset)
            case FDT_END_NODE:
                guard let done = stack.popLast() else { throw .malformed(.badStructure, offset: Int(offset)) }
                let node = Node(done.name, properties: done.properties, children: done.children)
                if stack.isEmpty { return node }
                stack[stack.count - 1].children.append(node)
            case FDT_NOP:
                break
            default:
                // FDT_END before the root closed, or an unknown tag.
                throw .malformed(.badStructure, offset: Int(offset))
            }
            offset = next
        }
    }

    private mutating func beginNode(at offset: Int32) throws(DTBError) {
        var length: Int32 = 0
        guard let raw = fdt_get_name(fdt, offset, &length), length >= 0 else {
            throw .malformed(FDTErrorCode(returnValue: length) ?? .badStructure, offset: Int(offset))
        }
        let name = String(decoding: UnsafeRawBufferPointer(start: raw, count: Int(length)), as: UTF8.self)
        if stack.isEmpty {
            guard name.isEmpty else { throw .badNodeName(offset: Int(offset), problem: "the root node is named '\(Names.printable(name))'") }
        } else {
            if let problem = Names.nodeNameProblem(name) { throw .badNodeName(offset: Int(offset), problem: problem) }
            guard stack[stack.count - 1].childNames.insert(name).inserted else {
                throw .badNodeName(offset: Int(offset), problem: "two nodes named \(childPath(path, name))")
            }
        }
        guard stack.count <= DTBWriter.maxDepth else { throw .tooDeep(path: childPath(path, name), limit: DTBWriter.maxDepth) }
        stack.append(Partial(name: name))
    }

    private mutating func property(at offset: Int32) throws(DTBError) {
        guard !stack.isEmpty else { throw .malformed(.badStructure, offset: Int(offset)) }
        var length: Int32 = 0
        guard let property = fdt_get_property_by_offset(fdt, offset, &length), length >= 0 else {
            throw .malformed(FDTErrorCode(returnValue: length) ?? .badStructure, offset: Int(offset))
        }
        let name = try propertyName(Int32(bitPattern: fdt32_to_cpu(property.pointee.nameoff)), at: offset)
        guard stack[stack.count - 1].propertyNames.insert(name).inserted else {
            throw .badPropertyName(offset: Int(offset), path: path, problem: "property '\(name)' appears twice")
        }
        // The value follows the 12-byte property header; fdt_check_full has
        // verified it lies inside the structure block.
        let value = UnsafeRawBufferPointer(start: UnsafeRawPointer(property) + 12, count: Int(length))
        // A property after a subnode (libxl's ACPI module node does this) is
        // kept, but our model lists properties first.
        stack[stack.count - 1].properties.append(Property(name, PropertyValue(bytes: Array(value))))
    }

    private mutating func propertyName(_ nameOffset: Int32, at offset: Int32) throws(DTBError) -> String {
        if let cached = names[nameOffset] { return cached }
        var length: Int32 = 0
        guard let raw = fdt_get_string(fdt, nameOffset, &length), length >= 0 else {
            throw .malformed(FDTErrorCode(returnValue: length) ?? .truncated, offset: Int(offset))
        }
        let name = String(decoding: UnsafeRawBufferPointer(start: raw, count: Int(length)), as: UTF8.self)
        if let problem = Names.propertyNameProblem(name) {
            throw .badPropertyName(offset: Int(offset), path: path, problem: problem)
        }
        names[nameOffset] = name
        return name
    }
}
