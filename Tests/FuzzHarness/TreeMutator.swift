import DeviceTree
import TestSupport

/// Structure-aware mutation of device tree blobs, for libFuzzer's custom
/// mutator. Byte flips alone rarely get past the header and libfdt's
/// full check, so most mutations decode the blob, edit the tree the way a
/// hostile or careless author would (dangling and clashing phandles, odd
/// `iommus`, `#…-cells`, `reg`, `ranges` and `iommu-map` values, moved and
/// copied subtrees, disabled nodes) and encode it again. A quarter of the
/// mutations, and every input that does not decode, go to libFuzzer's own
/// byte mutator so the reader keeps seeing malformed blobs.
public enum TreeMutator {
    /// libFuzzer's byte mutator (`LLVMFuzzerMutate`): mutates `bytes` in
    /// place, keeping at most `maxSize` bytes.
    public typealias ByteMutator = (_ bytes: inout [UInt8], _ maxSize: Int) -> Void

    /// A mutation of `input` of at most `maxSize` bytes (when the byte
    /// mutator keeps that promise), the same for the same `seed`: one to
    /// three edits of the decoded tree, tried up to four times until the
    /// writer accepts the result, else a byte mutation.
    public static func mutate(_ input: [UInt8], maxSize: Int, seed: UInt32, bytes byteMutator: ByteMutator) -> [UInt8] {
        var random = SplitMix64(seed: UInt64(seed))
        if random.next() % 4 != 0, let tree = try? DTBReader.read(input) {
            for _ in 0..<4 {
                var edited = tree
                for _ in 0...(random.next() % 3) {
                    TreeEdit.apply(to: &edited, using: &random, bytes: byteMutator)
                }
                if let blob = try? DTBWriter.write(edited), blob.count <= maxSize { return blob }
            }
        }
        var bytes = input
        byteMutator(&bytes, maxSize)
        return bytes
    }
}

/// One random edit of a tree.
enum TreeEdit: CaseIterable {
    case setProperty, mutateValue, tweakCell, removeProperty, copySubtree, moveSubtree, removeSubtree

    static func apply(to tree: inout DeviceTree, using random: inout SplitMix64, bytes byteMutator: TreeMutator.ByteMutator) {
        let nodes = NodePath.all(in: tree.root)
        let target = nodes.randomElement(using: &random) ?? []
        let phandles = NodePath.phandles(in: tree.root)
        let edit = allCases.randomElement(using: &random) ?? .setProperty
        switch edit {
        case .setProperty:
            let name = Vocabulary.names.randomElement(using: &random) ?? "status"
            let value = Vocabulary.value(for: name, phandles: phandles, using: &random)
            tree.root.modify(at: target[...]) { $0.set(name, value) }
        case .mutateValue:
            tree.root.modify(at: target[...]) { node in
                guard let index = node.properties.indices.randomElement(using: &random) else { return }
                var bytes = node.properties[index].value.bytes
                byteMutator(&bytes, max(2 * bytes.count, 64))
                node.properties[index].value = PropertyValue(bytes: bytes)
            }
        case .tweakCell:
            tree.root.modify(at: target[...]) { node in
                guard let index = node.properties.indices.randomElement(using: &random),
                      var cells = node.properties[index].value.cells, !cells.isEmpty
                else { return }
                let cell = Int(random.next() % UInt64(cells.count))
                cells[cell] = Vocabulary.number(phandles: phandles, using: &random)
                node.properties[index].value = .cells(cells)
            }
        case .removeProperty:
            tree.root.modify(at: target[...]) { node in
                guard let index = node.properties.indices.randomElement(using: &random) else { return }
                node.properties.remove(at: index)
            }
        case .copySubtree, .moveSubtree, .removeSubtree:
            guard !target.isEmpty else { return }
            let subtree = tree.root.node(at: target[...])
            if edit != .copySubtree { tree.root.remove(at: target[...]) }
            guard edit != .removeSubtree else { return }
            // After a removal the paths are stale: pick the destination anew.
            let destination = NodePath.all(in: tree.root).randomElement(using: &random) ?? []
            var copy = subtree
            copy.name = "\(subtree.baseName)@\(String(random.next() % 0x1_0000_0000, radix: 16))"
            tree.root.modify(at: destination[...]) { $0.children.append(copy) }
        }
    }
}

/// Nodes addressed by child indices from the root.
enum NodePath {
    /// Every node's path, root first, in pre-order.
    static func all(in root: Node) -> [[Int]] {
        var paths: [[Int]] = []
        var stack: [(Node, [Int])] = [(root, [])]
        while let (node, path) = stack.popLast() {
            paths.append(path)
            for index in node.children.indices.reversed() { stack.append((node.children[index], path + [index])) }
        }
        return paths
    }

    /// The phandles the tree's nodes carry.
    static func phandles(in root: Node) -> [UInt32] {
        var found: [UInt32] = []
        var stack = [root]
        while let node = stack.popLast() {
            if let phandle = node.phandle { found.append(phandle) }
            stack.append(contentsOf: node.children)
        }
        return found
    }
}

extension Node {
    func node(at path: ArraySlice<Int>) -> Node {
        guard let first = path.first else { return self }
        return children[first].node(at: path.dropFirst())
    }

    mutating func modify(at path: ArraySlice<Int>, _ body: (inout Node) -> Void) {
        guard let first = path.first else { return body(&self) }
        children[first].modify(at: path.dropFirst(), body)
    }

    /// Removes the node at a non-empty path.
    mutating func remove(at path: ArraySlice<Int>) {
        guard let first = path.first else { return }
        if path.count == 1 { children.remove(at: first) } else { children[first].remove(at: path.dropFirst()) }
    }
}
