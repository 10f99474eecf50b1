/// The structural rules a tree must meet to be written: valid and unique
/// names, unique labels and phandles, shapes that match the bytes,
/// bounded depth. These are the rules dtc enforces as errors and libfdt's
/// sequential writer does not.
///
/// The writer applies them node by node as it emits the tree, in
/// pre-order (one walk instead of a checking walk and a writing walk): it
/// throws the first problem and keeps nothing it emitted.
enum TreeRules {
    /// The root node's own rule, checked before anything is emitted.
    static func checkRoot(_ tree: DeviceTree) throws(DTBWriteError) {
        guard tree.root.name.isEmpty else {
            throw .badNodeName(path: "/", problem: "the root node must have an empty name, not '\(tree.root.name)'")
        }
    }

    /// Property `index` of a node: its name (unless the same name was
    /// checked earlier in the tree), that no earlier property has it
    /// (`repeated` is `firstRepeat` of the node's properties), its shape.
    static func checkProperty(
        _ property: Property, at index: Int, repeated: Int?, nameChecked: Bool, path: @autoclosure () -> String
    ) throws(DTBWriteError) {
        if !nameChecked, let problem = Names.propertyNameProblem(property.name) {
            throw .badPropertyName(path: path(), problem: problem)
        }
        guard index != repeated else { throw .duplicateProperty(path: path(), name: property.name) }
        if let problem = shapeProblem(property.value) {
            throw .shapeMismatch(path: path(), property: property.name, problem: problem)
        }
    }

    /// Where a walk is, and what must be unique across the whole tree. It
    /// keeps the names from the root to the current node and spells a path
    /// out only for the few nodes that need one (labels, phandles, errors).
    struct Walk {
        private var names: [String] = []
        private var labels: [String: [String]] = [:]
        private var phandles: [UInt32: [String]] = [:]

        var path: String { names.isEmpty ? "/" : names.reduce(into: "") { $0 += "/" + $1 } }

        /// A node's rules before its properties: depth and labels.
        mutating func enter(_ node: Node, depth: Int) throws(DTBWriteError) {
            guard depth <= DTBWriter.maxDepth else { throw .tooDeep(path: path, limit: DTBWriter.maxDepth) }
            for label in node.labels {
                if let problem = Names.labelProblem(label) { throw .badLabel(path: path, problem: problem) }
                labels[label, default: []].append(path)
            }
        }

        /// Notes the node's phandle, when a property of its has a phandle's name.
        mutating func notePhandle(of node: Node, hasOne: Bool) {
            if hasOne, let phandle = node.phandle {
                phandles[phandle, default: []].append(path)
            }
        }

        /// Child `index` of `node`, before it is visited: a valid name that
        /// no earlier sibling has (`repeated` is `firstRepeat` of the
        /// children). `leaveChild` follows the visit.
        mutating func enterChild(of node: Node, at index: Int, repeated: Int?) throws(DTBWriteError) {
            let name = node.children[index].name
            names.append(name)
            if let problem = Names.nodeNameProblem(name) { throw .badNodeName(path: path, problem: problem) }
            guard index != repeated else { throw .duplicateNode(path: path) }
        }

        mutating func leaveChild() { names.removeLast() }

        /// The rules over the whole tree, after the walk.
        func finish() throws(DTBWriteError) {
            if let (label, paths) = labels.first(where: { $0.value.count > 1 }) {
                throw .duplicateLabel(label: label, paths: paths)
            }
            if let (phandle, paths) = phandles.sorted(by: { $0.key < $1.key }).first(where: { $0.value.count > 1 }) {
                throw .duplicatePhandle(phandle: phandle, paths: paths)
            }
        }
    }

    /// Whether `name` is `phandle` or `linux,phandle`, the names
    /// `Node.phandle` reads: most nodes have neither, and then their
    /// phandle is not looked up. Lengths first: `==` on two different
    /// short strings takes String's slow path.
    static func namesPhandle(_ name: String) -> Bool {
        switch name.utf8.count {
        case 7: name == "phandle"
        case 13: name == "linux,phandle"
        default: false
        }
    }

    /// The index of the first element whose name an earlier one has, or
    /// nil. A node's properties and most nodes' children are few: comparing
    /// them pairwise costs less than hashing every name. Long lists (a bus
    /// with thousands of devices) are hashed.
    ///
    /// Names of different byte lengths are taken as different without
    /// comparing them: only names that differ in Unicode normalization
    /// could still be equal, and those have non-ASCII bytes, which the name
    /// rules refuse at an earlier index than any repeat of them.
    static func firstRepeat<Element>(_ elements: [Element], _ name: (Element) -> String) -> Int? {
        guard elements.count > 16 else {
            for later in elements.indices {
                let laterName = name(elements[later])
                let length = laterName.utf8.count
                if elements[..<later].contains(where: { earlier in
                    let earlierName = name(earlier)
                    return earlierName.utf8.count == length && earlierName == laterName
                }) { return later }
            }
            return nil
        }
        var seen = Set<String>(minimumCapacity: elements.count)
        return elements.firstIndex { !seen.insert(name($0)).inserted }
    }

    /// Why a value's shape does not describe its bytes; nil when it does.
    static func shapeProblem(_ value: PropertyValue) -> String? {
        let bytes = value.bytes
        var offset = 0
        switch value.layout {
        case .unknown: return nil
        case .cellGroups(let size, let count):
            return size >= 0 && count >= 0 && size * count * 4 == bytes.count ? nil : "the cells do not cover the value"
        case .strings(let count):
            if let problem = cover(.strings(count: count), of: bytes, from: &offset) { return problem }
        case .segments(let segments):
            for segment in segments {
                if let problem = cover(segment, of: bytes, from: &offset) { return problem }
            }
        }
        return offset == bytes.count ? nil : "a string contains a NUL byte, or the shape does not cover the value"
    }

    /// Moves `offset` past the bytes `segment` describes; why it cannot.
    private static func cover(_ segment: PropertyValue.Segment, of bytes: [UInt8], from offset: inout Int) -> String? {
        switch segment {
        case .cells(let count, let phandles):
            guard count >= 0, offset + count * 4 <= bytes.count else { return "cells run past the value" }
            guard phandles.allSatisfy({ (0..<count).contains($0) }) else { return "a phandle index is outside its cell group" }
            offset += count * 4
        case .strings(let count):
            for _ in 0..<max(count, 0) {
                guard let end = bytes[offset...].firstIndex(of: 0) else { return "a string has no terminating NUL" }
                offset = end + 1
            }
        case .bytes(let count):
            guard count >= 0, offset + count <= bytes.count else { return "bytes run past the value" }
            offset += count
        }
        return nil
    }
}
