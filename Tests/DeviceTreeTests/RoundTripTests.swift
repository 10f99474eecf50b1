import DeviceTree
import Testing
import TestSupport

/// model → DTB → reader → model is the identity, and writing is deterministic.
@Suite struct RoundTripTests {
    /// The tree as the reader returns it: no labels (a DTB has none).
    private func withoutLabels(_ tree: DeviceTree) -> DeviceTree {
        func strip(_ node: Node) -> Node {
            Node(node.name, properties: node.properties, children: node.children.map(strip))
        }
        return DeviceTree(root: strip(tree.root), reservations: tree.reservations, bootCPUID: tree.bootCPUID)
    }

    private func roundTrip(_ tree: DeviceTree) throws {
        let blob = try DTBWriter.write(tree)
        let back = try DTBReader.read(blob)
        #expect(back == withoutLabels(tree))
        #expect(try DTBWriter.write(back) == blob, "re-writing the read tree changed the bytes")
    }

    @Test func everyValueKind() throws { try roundTrip(SampleTrees.everyValueKind) }
    @Test func deepNesting() throws { try roundTrip(SampleTrees.deep(DTBWriter.maxDepth)) }
    @Test func manySiblings() throws { try roundTrip(SampleTrees.siblings(5000)) }
    @Test func longStrings() throws { try roundTrip(SampleTrees.longStrings) }

    @Test func emptyProperties() throws {
        try roundTrip(DeviceTree(root: Node("", properties: [Property("a", .empty), Property("b", .empty)])))
    }

    @Test func emptyRoot() throws { try roundTrip(DeviceTree(root: Node(""))) }

    @Test func headerExtras() throws {
        let tree = DeviceTree(
            root: Node(""),
            reservations: [MemoryReservation(address: 0x1000, size: 0x2000), MemoryReservation(address: 1 << 40, size: 1)],
            bootCPUID: 3)
        try roundTrip(tree)
    }

    @Test func writingIsDeterministic() throws {
        let first = try DTBWriter.write(SampleTrees.everyValueKind)
        for _ in 0..<5 {
            #expect(try DTBWriter.write(SampleTrees.everyValueKind) == first)
        }
    }

    @Test func blobHeaderIsVersion17Compact() throws {
        let blob = try DTBWriter.write(SampleTrees.everyValueKind)
        func word(_ index: Int) -> UInt32 {
            blob[index * 4 ..< index * 4 + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        #expect(word(0) == 0xd00d_feed)
        #expect(Int(word(1)) == blob.count)
        #expect(word(5) == 17)
        #expect(word(6) == 16)
    }

    @Test(arguments: 0..<40)
    func randomTreesRoundTrip(seed: Int) throws {
        var generator = SplitMix64(seed: UInt64(seed))
        try roundTrip(RandomTree.make(using: &generator))
    }
}

/// Random well-formed trees for property tests.
enum RandomTree {
    static func make(using generator: inout SplitMix64) -> DeviceTree {
        var nodes = 0
        let root = node(name: "", depth: 0, using: &generator, budget: &nodes)
        let reservations = (0..<Int(generator.next() % 3)).map { _ in
            MemoryReservation(address: generator.next() & ~0xfff, size: generator.next() % 0x10_0000 + 1)
        }
        return DeviceTree(root: root, reservations: reservations)
    }

    private static func node(name: String, depth: Int, using generator: inout SplitMix64, budget: inout Int) -> Node {
        budget += 1
        var node = Node(name)
        for index in 0..<Int(generator.next() % 6) {
            node.properties.append(Property("prop-\(index)", value(using: &generator)))
        }
        guard depth < 6 else { return node }
        for index in 0..<Int(generator.next() % 5) where budget < 300 {
            let childName = generator.next() % 2 == 0 ? "node\(index)" : "dev@\(String(index, radix: 16))"
            node.children.append(self.node(name: childName, depth: depth + 1, using: &generator, budget: &budget))
        }
        return node
    }

    private static func value(using generator: inout SplitMix64) -> PropertyValue {
        switch generator.next() % 6 {
        case 0: .empty
        case 1: .cells((0..<Int(generator.next() % 8)).map { _ in UInt32(truncatingIfNeeded: generator.next()) })
        case 2: .u64(generator.next())
        case 3: .strings((0..<Int(generator.next() % 4 + 1)).map { _ in word(using: &generator) })
        case 4: .bytes((0..<Int(generator.next() % 40)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        default: .string(word(using: &generator)) + .cells([UInt32(truncatingIfNeeded: generator.next())])
        }
    }

    private static func word(using generator: inout SplitMix64) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789,._- \"\\\t")
        return String((0..<Int(generator.next() % 12)).map { _ in letters[Int(generator.next() % UInt64(letters.count))] })
    }
}
