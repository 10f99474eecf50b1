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

    /// Where a walk is, and what must be unique across the whole tree. It
    /// keeps the names from the root to the current node and spells a path
    /// out only for errors: labels and phandles are kept as values, and
    /// when two nodes share one, `finish` walks the tree again for their
    /// paths.
    struct Walk {
        private var names: [String] = []
        /// Every label, in pre-order.
        private var labels: [String] = []
        /// The phandle of every node with a property of a phandle's name,
        /// in pre-order.
        private var phandles: [UInt32] = []
        /// Every property name met so far, by its `StringsBlock` id.
        private var propertyNames: [PropertyName] = []
        /// The number of the node being checked (nodes are numbered in
        /// pre-order from 1).
        private var node: Int32 = 0

        /// A property name met in the tree: the last node that has it (for
        /// repeats inside a node), and whether it is a phandle's name.
        private struct PropertyName {
            var lastNode: Int32
            let namesPhandle: Bool
        }

        var path: String { names.isEmpty ? "/" : names.reduce(into: "") { $0 += "/" + $1 } }

        /// Room for the names of `properties` properties.
        init(properties: Int) {
            propertyNames.reserveCapacity(min(properties, 64))
        }

        /// A node's rules before its properties: depth and labels.
        /// Inlined: most nodes have no label.
        @inline(__always)
        mutating func enter(labels: [String], depth: Int) throws(DTBWriteError) {
            node += 1
            guard depth <= DTBWriter.maxDepth else { throw .tooDeep(path: path, limit: DTBWriter.maxDepth) }
            if !labels.isEmpty { try note(labels) }
        }

        /// A node's labels: each valid, then noted.
        private mutating func note(_ labels: [String]) throws(DTBWriteError) {
            for label in labels {
                if let problem = Names.labelProblem(label) { throw .badLabel(path: path, problem: problem) }
            }
            self.labels += labels
        }

        /// A property of the node being checked, whose name `StringsBlock`
        /// found as `lookup`: its name (checked at its first use in the
        /// tree), that no earlier property of the node has it, its shape.
        /// Whether it is a phandle's name. The property is read in place:
        /// the common case reads no name and no value.
        @inline(__always)
        mutating func checkProperty(_ property: UnsafePointer<Property>, _ lookup: StringsBlock.Lookup) throws(DTBWriteError) -> Bool {
            if lookup.isFirst {
                if let problem = Names.propertyNameProblem(property.pointee.name) {
                    throw .badPropertyName(path: path, problem: problem)
                }
                propertyNames.append(PropertyName(lastNode: 0, namesPhandle: TreeRules.namesPhandle(property.pointee.name)))
            }
            guard propertyNames[lookup.id].lastNode != node else {
                throw .duplicateProperty(path: path, name: property.pointee.name)
            }
            propertyNames[lookup.id].lastNode = node
            // Only a caller's shape, or a string with a NUL, can miss its bytes.
            if property.pointee.value.needsShapeCheck, let problem = shapeProblem(property.pointee.value) {
                throw .shapeMismatch(path: path, property: property.pointee.name, problem: problem)
            }
            return propertyNames[lookup.id].namesPhandle
        }

        /// Notes the phandle of the node being checked, one of whose
        /// properties has a phandle's name.
        mutating func notePhandle(_ phandle: UInt32?) {
            if let phandle { phandles.append(phandle) }
        }

        /// A child before it is visited: a valid name that no earlier
        /// sibling has (`isRepeat`, from `firstRepeat` of the children).
        /// `leaveChild` follows the visit.
        mutating func enterChild(named name: String, isRepeat: Bool) throws(DTBWriteError) {
            names.append(name)
            if let problem = Names.nodeNameProblem(name) { throw .badNodeName(path: path, problem: problem) }
            guard !isRepeat else { throw .duplicateNode(path: path) }
        }

        mutating func leaveChild() { names.removeLast() }

        /// The rules over the whole tree (the one walked), after the walk:
        /// the label first met a second time, then the lowest phandle on
        /// more than one node, with the paths of their nodes.
        func finish(_ tree: DeviceTree) throws(DTBWriteError) {
            if let second = firstRepeat(labels, { $0 }) {
                let label = labels[second]
                throw .duplicateLabel(label: label, paths: TreeRules.paths(in: tree) { node in node.labels.count { $0 == label } })
            }
            guard phandles.count > 1 else { return }
            let sorted = phandles.sorted()
            if let second = sorted.indices.dropFirst().first(where: { sorted[$0] == sorted[$0 - 1] }) {
                let phandle = sorted[second]
                throw .duplicatePhandle(phandle: phandle, paths: TreeRules.paths(in: tree) { node in
                    node.properties.contains { TreeRules.namesPhandle($0.name) } && node.phandle == phandle ? 1 : 0
                })
            }
        }
    }

    /// The paths of the nodes in pre-order, each as many times as
    /// `matches` counts it.
    static func paths(in tree: DeviceTree, where matches: (Node) -> Int) -> [String] {
        var paths: [String] = []
        func visit(_ node: Node, _ path: String) {
            paths += repeatElement(path, count: matches(node))
            for child in node.children { visit(child, childPath(path, child.name)) }
        }
        visit(tree.root, "/")
        return paths
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
    /// them pairwise costs less than hashing every name. Long lists (a
    /// root with its devices, a bus with thousands) are hashed.
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
        var seen = NameSet(capacity: elements.count)
        return elements.indices.first { index in !seen.insert(index, named: name(elements[index])) { name(elements[$0]) } }
    }

    /// Why a value's shape does not describe its bytes; nil when it does.
    static func shapeProblem(_ value: PropertyValue) -> String? {
        switch value.layout {
        case .unknown: nil
        case .cellGroups(let size, let count):
            size >= 0 && count >= 0 && size * count * 4 == value.bytes.count ? nil : "the cells do not cover the value"
        case .strings(let count): stringsProblem(count: count, of: value.bytes)
        case .segments(let segments): segmentsProblem(segments, of: value.bytes)
        }
    }

    /// Why `bytes` are not `count` NUL-terminated strings; nil when they
    /// are. The same answers as covering them with one `.strings(count:)`
    /// segment, from one count of their NULs: fewer NULs than strings
    /// leave one unterminated; more, or a last byte that is not a NUL,
    /// leave bytes uncovered.
    private static func stringsProblem(count: Int, of bytes: [UInt8]) -> String? {
        let nuls = bytes.withUnsafeBufferPointer { bytes in
            var nuls = 0
            for byte in bytes where byte == 0 { nuls += 1 }
            return nuls
        }
        if nuls < count { return "a string has no terminating NUL" }
        let covered = count <= 0 ? bytes.isEmpty : nuls == count && bytes.last == 0
        return covered ? nil : "a string contains a NUL byte, or the shape does not cover the value"
    }

    /// Why `segments` do not cover `bytes` exactly; nil when they do.
    private static func segmentsProblem(_ segments: some Collection<PropertyValue.Segment>, of bytes: [UInt8]) -> String? {
        var offset = 0
        for segment in segments {
            if let problem = cover(segment, of: bytes, from: &offset) { return problem }
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

/// Names by the index of the element that has each, for `firstRepeat`
/// of a long list: open addressing on `StringsBlock`'s cheap hash, where
/// `Set<String>` would hash every name with SipHash.
private struct NameSet {
    private var slots: [(hash: UInt64, index: Int)]
    private let mask: Int

    /// A table at most half full with `capacity` names.
    init(capacity: Int) {
        var count = 32
        while count < 2 * capacity { count *= 2 }
        slots = Array(repeating: (0, -1), count: count)
        mask = count - 1
    }

    /// Adds element `index`, named `name`, unless an element of the same
    /// name (`nameOf` another index) is in: then false.
    mutating func insert(_ index: Int, named name: String, nameOf: (Int) -> String) -> Bool {
        let hash = StringsBlock.hash(of: name)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot].index >= 0 {
            if slots[slot].hash == hash, nameOf(slots[slot].index) == name { return false }
            slot = (slot + 1) & mask
        }
        slots[slot] = (hash, index)
        return true
    }
}
