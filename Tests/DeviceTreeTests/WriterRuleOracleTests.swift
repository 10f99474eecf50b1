import DeviceTree
import Testing
import TestSupport

/// The writer checks the tree rules while it emits, with shortcuts (a
/// property name is checked at its first use in the tree, repeats inside a
/// node are found by name number, label and phandle paths are spelled out
/// only for an error). Its first error must be that of the rules applied
/// plainly, node by node in pre-order: `PlainRules` below, on random trees
/// full of broken names, repeats, bad shapes, labels and phandles.
@Suite struct WriterRuleOracleTests {
    @Test func firstErrorIsThePlainRulesFirstError() {
        var random = SplitMix64(seed: 0x7e57_0001)
        var valid = 0
        for round in 0..<3000 {
            let tree = DeviceTree(root: RandomTrees.node("", depth: 0, random: &random))
            let expected = PlainRules.firstError(tree)
            let found: DTBWriteError?
            do {
                _ = try DTBWriter.write(tree)
                found = nil
            } catch {
                found = error
            }
            #expect(found == expected, "round \(round)")
            if found != expected { return }
            if expected == nil { valid += 1 }
        }
        // Both outcomes are common enough to be tested.
        #expect(valid > 300 && valid < 2700, "\(valid) of 3000 trees are valid")
    }
}

/// Trees drawn from small pools, each fault rare enough that most trees
/// hold none or one: invalid names, repeated names, bad shapes, invalid
/// and repeated labels, phandles shared by two nodes.
private enum RandomTrees {
    static let nodeNames = ["a", "b", "c@1", "a@1", "d", "e"]
    static let badNodeNames = ["bad name", "@1", "a@1@2"]
    static let propertyNames = ["reg", "x", "y", "phandle", "linux,phandle", "compatible", "z"]
    static let labels = ["l1", "l2", "l3", "l4", "l5"]

    static func node(_ name: String, depth: Int, random: inout SplitMix64) -> Node {
        var node = Node(name)
        if chance(1, in: 5, &random) {
            node.labels = (0..<Int.random(in: 1...2, using: &random)).map { _ in
                chance(1, in: 40, &random) ? "9bad" : labels.randomElement(using: &random) ?? ""
            }
        }
        var names = propertyNames.shuffled(using: &random).prefix(Int.random(in: 0...3, using: &random))
        if chance(1, in: 60, &random) { names.append("has space") }
        if chance(1, in: 40, &random), let again = names.first { names.append(again) }
        for name in names.shuffled(using: &random) {
            let isPhandle = name == "phandle" || name == "linux,phandle"
            node.properties.append(Property(name, isPhandle ? .u32(UInt32.random(in: 1...12, using: &random)) : value(&random)))
        }
        guard depth < 3 else { return node }
        var children = nodeNames.shuffled(using: &random).prefix(Int.random(in: 0...3, using: &random))
        if chance(1, in: 60, &random) { children.append(badNodeNames.randomElement(using: &random) ?? "") }
        if chance(1, in: 40, &random), let again = children.first { children.append(again) }
        for child in children.shuffled(using: &random) {
            node.children.append(self.node(child, depth: depth + 1, random: &random))
        }
        return node
    }

    private static func chance(_ times: Int, in outOf: Int, _ random: inout SplitMix64) -> Bool {
        Int.random(in: 0..<outOf, using: &random) < times
    }

    private static func value(_ random: inout SplitMix64) -> PropertyValue {
        switch Int.random(in: 0..<80, using: &random) {
        case 0: .string("a\0b")
        case 1: PropertyValue(bytes: [1, 2, 3], shape: [.cells(count: 1, phandles: [])])
        case 2...20: .empty
        default: .u32(UInt32.random(in: 1...40, using: &random))
        }
    }
}

/// The rules as dtc states them, applied without shortcuts: the root's
/// name; then node by node in pre-order its depth, its labels, each
/// property's name, uniqueness and shape, then each child's name and
/// uniqueness before the child is visited; at the end the first label met
/// a second time, then the lowest phandle on more than one node.
private enum PlainRules {
    static func firstError(_ tree: DeviceTree) -> DTBWriteError? {
        guard tree.root.name.isEmpty else {
            return .badNodeName(path: "/", problem: "the root node must have an empty name, not '\(tree.root.name)'")
        }
        var labels: [(label: String, path: String)] = []
        var phandles: [(phandle: UInt32, path: String)] = []
        if let error = visit(tree.root, path: "/", depth: 0, labels: &labels, phandles: &phandles) { return error }
        for (index, entry) in labels.enumerated() where labels[..<index].contains(where: { $0.label == entry.label }) {
            return .duplicateLabel(label: entry.label, paths: labels.filter { $0.label == entry.label }.map(\.path))
        }
        let repeated = Set(phandles.map(\.phandle).filter { phandle in phandles.count { $0.phandle == phandle } > 1 })
        if let lowest = repeated.min() {
            return .duplicatePhandle(phandle: lowest, paths: phandles.filter { $0.phandle == lowest }.map(\.path))
        }
        return nil
    }

    private static func visit(
        _ node: Node, path: String, depth: Int, labels: inout [(label: String, path: String)],
        phandles: inout [(phandle: UInt32, path: String)]
    ) -> DTBWriteError? {
        if depth > DTBWriter.maxDepth { return .tooDeep(path: path, limit: DTBWriter.maxDepth) }
        for label in node.labels {
            if let problem = Names.labelProblem(label) { return .badLabel(path: path, problem: problem) }
            labels.append((label, path))
        }
        for (index, property) in node.properties.enumerated() {
            if let problem = Names.propertyNameProblem(property.name) { return .badPropertyName(path: path, problem: problem) }
            if node.properties[..<index].contains(where: { $0.name == property.name }) {
                return .duplicateProperty(path: path, name: property.name)
            }
            if let problem = shapeProblem(property.value) {
                return .shapeMismatch(path: path, property: property.name, problem: problem)
            }
        }
        if node.properties.contains(where: { $0.name == "phandle" || $0.name == "linux,phandle" }), let phandle = node.phandle {
            phandles.append((phandle, path))
        }
        for (index, child) in node.children.enumerated() {
            let childPath = childPath(path, child.name)
            if let problem = Names.nodeNameProblem(child.name) { return .badNodeName(path: childPath, problem: problem) }
            if node.children[..<index].contains(where: { $0.name == child.name }) { return .duplicateNode(path: childPath) }
            if let error = visit(child, path: childPath, depth: depth + 1, labels: &labels, phandles: &phandles) { return error }
        }
        return nil
    }

    /// The shape faults `RandomTrees` makes, in the writer's words.
    private static func shapeProblem(_ value: PropertyValue) -> String? {
        if value.shape == [.strings(count: 1)], value.bytes.dropLast().contains(0) {
            return "a string contains a NUL byte, or the shape does not cover the value"
        }
        if value.shape == [.cells(count: 1, phandles: [])], value.bytes.count < 4 {
            return "cells run past the value"
        }
        return nil
    }
}
