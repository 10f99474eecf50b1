/// A flat, pre-order index of a tree, built once, for the lookups that
/// libfdt does by scanning the whole blob each time: parent of a node,
/// node by phandle, node by path.
public struct NodeTable: Sendable {
    /// One node of the tree with its place in it.
    public struct Entry: Sendable {
        public let node: Node
        public let path: String
        /// Index of the parent entry; nil for the root.
        public let parent: Int?
        public let depth: Int
    }

    /// Two or more nodes that claim the same phandle.
    public struct PhandleClash: Hashable, Sendable {
        public let phandle: UInt32
        public let paths: [String]
    }

    /// All nodes in pre-order; index 0 is the root.
    public let entries: [Entry]
    private let byPath: [String: Int]
    private let byPhandle: [UInt32: Int]
    /// Phandles carried by more than one node (the first node wins lookups).
    public let phandleClashes: [PhandleClash]
    /// Nodes whose `phandle` is 0 or 0xffffffff, or whose `phandle` and
    /// `linux,phandle` disagree or have the wrong length.
    public let invalidPhandles: [String]

    public init(_ tree: DeviceTree) {
        var entries: [Entry] = []
        var byPath: [String: Int] = [:]
        var byPhandle: [UInt32: Int] = [:]
        var clashes: [UInt32: [String]] = [:]
        var invalid: [String] = []
        // Iterative pre-order walk: hostile trees may be deep.
        var stack: [(node: Node, path: String, parent: Int?, depth: Int)] = [(tree.root, "/", nil, 0)]
        while let (node, path, parent, depth) = stack.popLast() {
            let index = entries.count
            entries.append(Entry(node: node, path: path, parent: parent, depth: depth))
            byPath[path] = byPath[path] ?? index
            switch Self.phandle(of: node) {
            case .none: break
            case .invalid: invalid.append(path)
            case .valid(let phandle):
                if let first = byPhandle[phandle] {
                    clashes[phandle, default: [entries[first].path]].append(path)
                } else {
                    byPhandle[phandle] = index
                }
            }
            for child in node.children.reversed() {
                stack.append((child, childPath(path, child.name), index, depth + 1))
            }
        }
        self.entries = entries
        self.byPath = byPath
        self.byPhandle = byPhandle
        self.phandleClashes = clashes.keys.sorted().map { PhandleClash(phandle: $0, paths: clashes[$0] ?? []) }
        self.invalidPhandles = invalid
    }

    /// The entry index of the node at an absolute path.
    public func index(ofPath path: String) -> Int? { byPath[path] }

    /// The entry index of the node carrying this phandle.
    public func index(ofPhandle phandle: UInt32) -> Int? { byPhandle[phandle] }

    /// The entry at an index.
    public subscript(index: Int) -> Entry { entries[index] }

    /// Indexes of the node's ancestors, nearest first.
    public func ancestors(of index: Int) -> some Sequence<Int> {
        sequence(first: entries[index].parent) { [entries] in $0.flatMap { entries[$0].parent } }
            .prefix { $0 != nil }.compactMap { $0 }
    }

    private enum PhandleState { case none, invalid, valid(UInt32) }

    private static func phandle(of node: Node) -> PhandleState {
        let primary = node[property: "phandle"]
        let legacy = node[property: "linux,phandle"]
        guard primary != nil || legacy != nil else { return .none }
        guard let value = (primary ?? legacy)?.u32, value != 0, value != 0xffff_ffff else { return .invalid }
        if let primary, let legacy, primary != legacy { return .invalid }
        return .valid(value)
    }
}
