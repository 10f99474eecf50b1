/// The structural rules a tree must meet before it is written: valid and
/// unique names, unique labels and phandles, shapes that match the bytes,
/// bounded depth. These are the rules dtc enforces as errors and libfdt's
/// sequential writer does not.
enum TreeRules {
    static func check(_ tree: DeviceTree) throws(DTBWriteError) {
        guard tree.root.name.isEmpty else {
            throw .badNodeName(path: "/", problem: "the root node must have an empty name, not '\(tree.root.name)'")
        }
        var walk = Walk()
        try walk.visit(tree.root, depth: 0)
        if let (label, paths) = walk.labels.first(where: { $0.value.count > 1 }) {
            throw .duplicateLabel(label: label, paths: paths)
        }
        if let (phandle, paths) = walk.phandles.sorted(by: { $0.key < $1.key }).first(where: { $0.value.count > 1 }) {
            throw .duplicatePhandle(phandle: phandle, paths: paths)
        }
    }

    /// A pre-order walk that keeps the names from the root to the current
    /// node and spells a path out only for the few nodes that need one
    /// (labelled nodes, phandles, errors).
    private struct Walk {
        var names: [String] = []
        var labels: [String: [String]] = [:]
        var phandles: [UInt32: [String]] = [:]

        var path: String { names.isEmpty ? "/" : names.reduce(into: "") { $0 += "/" + $1 } }

        mutating func visit(_ node: Node, depth: Int) throws(DTBWriteError) {
            guard depth <= DTBWriter.maxDepth else { throw .tooDeep(path: path, limit: DTBWriter.maxDepth) }
            for label in node.labels {
                if let problem = Names.labelProblem(label) { throw .badLabel(path: path, problem: problem) }
                labels[label, default: []].append(path)
            }
            let repeatedProperty = firstRepeat(node.properties, \.name)
            var mayHavePhandle = false
            // By index, here and below: iterating copies every element.
            for index in node.properties.indices {
                let name = node.properties[index].name
                if let problem = Names.propertyNameProblem(name) {
                    throw .badPropertyName(path: path, problem: problem)
                }
                guard index != repeatedProperty else { throw .duplicateProperty(path: path, name: name) }
                if let problem = shapeProblem(node.properties[index].value) {
                    throw .shapeMismatch(path: path, property: name, problem: problem)
                }
                mayHavePhandle = mayHavePhandle || TreeRules.mayNamePhandle(name)
            }
            if mayHavePhandle, let phandle = node.phandle {
                phandles[phandle, default: []].append(path)
            }
            let repeatedChild = firstRepeat(node.children, \.name)
            for index in node.children.indices {
                let name = node.children[index].name
                names.append(name)
                if let problem = Names.nodeNameProblem(name) { throw .badNodeName(path: path, problem: problem) }
                guard index != repeatedChild else { throw .duplicateNode(path: path) }
                try visit(node.children[index], depth: depth + 1)
                names.removeLast()
            }
        }
    }

    /// Whether `name` has the byte length of `phandle` or `linux,phandle`:
    /// a node without such a property has no phandle, and most nodes have
    /// none.
    static func mayNamePhandle(_ name: String) -> Bool {
        let length = name.utf8.count
        return length == 7 || length == 13
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
