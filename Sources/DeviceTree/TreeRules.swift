/// The structural rules a tree must meet before it is written: valid and
/// unique names, unique labels and phandles, shapes that match the bytes,
/// bounded depth. These are the rules dtc enforces as errors and libfdt's
/// sequential writer does not.
enum TreeRules {
    static func check(_ tree: DeviceTree) throws(DTBWriteError) {
        var state = State()
        guard tree.root.name.isEmpty else {
            throw .badNodeName(path: "/", problem: "the root node must have an empty name, not '\(tree.root.name)'")
        }
        try check(tree.root, path: "/", depth: 0, state: &state)
        if let (label, paths) = state.labels.first(where: { $0.value.count > 1 }) {
            throw .duplicateLabel(label: label, paths: paths)
        }
        if let (phandle, paths) = state.phandles.sorted(by: { $0.key < $1.key }).first(where: { $0.value.count > 1 }) {
            throw .duplicatePhandle(phandle: phandle, paths: paths)
        }
    }

    private struct State {
        var labels: [String: [String]] = [:]
        var phandles: [UInt32: [String]] = [:]
    }

    private static func check(_ node: Node, path: String, depth: Int, state: inout State) throws(DTBWriteError) {
        guard depth <= DTBWriter.maxDepth else { throw .tooDeep(path: path, limit: DTBWriter.maxDepth) }
        for label in node.labels {
            if let problem = Names.labelProblem(label) { throw .badLabel(path: path, problem: problem) }
            state.labels[label, default: []].append(path)
        }
        var propertyNames = Set<String>()
        for property in node.properties {
            if let problem = Names.propertyNameProblem(property.name) {
                throw .badPropertyName(path: path, problem: problem)
            }
            guard propertyNames.insert(property.name).inserted else {
                throw .duplicateProperty(path: path, name: property.name)
            }
            if let problem = shapeProblem(property.value) {
                throw .shapeMismatch(path: path, property: property.name, problem: problem)
            }
        }
        if let phandle = node.phandle {
            state.phandles[phandle, default: []].append(path)
        }
        var childNames = Set<String>()
        for child in node.children {
            let path = childPath(path, child.name)
            if let problem = Names.nodeNameProblem(child.name) { throw .badNodeName(path: path, problem: problem) }
            guard childNames.insert(child.name).inserted else { throw .duplicateNode(path: path) }
            try check(child, path: path, depth: depth + 1, state: &state)
        }
    }

    /// Why a value's shape does not describe its bytes; nil when it does.
    static func shapeProblem(_ value: PropertyValue) -> String? {
        guard let shape = value.shape else { return nil }
        var offset = 0
        let bytes = value.bytes
        for segment in shape {
            switch segment {
            case .cells(let count, let phandles):
                guard count >= 0, offset + count * 4 <= bytes.count else { return "cells run past the value" }
                guard phandles.allSatisfy({ (0..<count).contains($0) }) else { return "a phandle index is outside its cell group" }
                offset += count * 4
            case .strings(let count):
                var seen = 0
                while seen < count {
                    guard let end = bytes[offset...].firstIndex(of: 0) else { return "a string has no terminating NUL" }
                    offset = end + 1
                    seen += 1
                }
            case .bytes(let count):
                guard count >= 0, offset + count <= bytes.count else { return "bytes run past the value" }
                offset += count
            }
        }
        return offset == bytes.count ? nil : "a string contains a NUL byte, or the shape does not cover the value"
    }
}
