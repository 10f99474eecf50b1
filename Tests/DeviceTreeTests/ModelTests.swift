import DeviceTree
import Testing

@Suite struct ModelTests {
    @Test func valueAccessors() {
        #expect(PropertyValue.u32(7).u32 == 7)
        #expect(PropertyValue.u64(0x1_0000_0002).cells == [1, 2])
        #expect(PropertyValue.u64(0x1_0000_0002).u64 == 0x1_0000_0002)
        #expect(PropertyValue.strings(["a", "bc"]).strings == ["a", "bc"])
        #expect(PropertyValue.strings(["a", "bc"]).string == nil)
        #expect(PropertyValue.string("x").string == "x")
        #expect(PropertyValue.bytes([1, 2, 3]).cells == nil)
        #expect(PropertyValue.bytes([1, 2, 3]).strings == nil)
        #expect(PropertyValue.empty.isEmpty)
        #expect(PropertyValue.u64Pairs([(0x4000_0000, 0x2000_0000)]).cells == [0, 0x4000_0000, 0, 0x2000_0000])
    }

    @Test func equalityIsOnBytes() {
        let typed = PropertyValue.cells([0x6100_0000])
        let raw = PropertyValue(bytes: [0x61, 0, 0, 0])
        #expect(typed == raw)
        #expect(typed.shape != raw.shape)
    }

    /// What each constructor and concatenation tells the DTS printer.
    @Test func shapesOfConstructorsAndConcatenations() {
        typealias Segment = PropertyValue.Segment
        let plain: (Int) -> Segment = { .cells(count: $0, phandles: []) }
        #expect(PropertyValue.u32(1).shape == [plain(1)])
        #expect(PropertyValue.u64(1).shape == [plain(2)])
        #expect(PropertyValue.cells([UInt32]()).shape == [plain(0)])
        #expect(PropertyValue.cells([Cell.number(1), .number(2)]).shape == [plain(2)])
        #expect(PropertyValue.cells([Cell.number(1), .phandle(2)]).shape == [.cells(count: 2, phandles: [1])])
        #expect(PropertyValue.u64Pairs([(1, 2), (3, 4), (5, 6)]).shape == [plain(4), plain(4), plain(4)])
        #expect(PropertyValue.u64Pairs([]).shape == [])
        #expect(PropertyValue.strings(["a", "b"]).shape == [.strings(count: 2)])
        #expect(PropertyValue.bytes([1, 2]).shape == [.bytes(count: 2)])
        #expect(PropertyValue.empty.shape == [])
        #expect((PropertyValue.u64(1) + .u64(2)).shape == [plain(2), plain(2)])
        #expect((PropertyValue.u32(1) + .u64(2)).shape == [plain(1), plain(2)])
        #expect((PropertyValue.string("a") + .string("b")).shape == [.strings(count: 1), .strings(count: 1)])
        #expect((PropertyValue.u32(1) + PropertyValue(bytes: [0, 0, 0, 2])).shape == nil)
        #expect((PropertyValue.u32(1) + .u32(2)).bytes == [0, 0, 0, 1, 0, 0, 0, 2])
    }

    /// The constructors' fast paths (shared small cells, shared shapes of
    /// a leading phandle, bytes written in one go) give what the general
    /// encoding gives.
    @Test func constructorsMatchTheGeneralEncoding() {
        func bigEndian(_ words: [UInt32]) -> [UInt8] { words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } } }
        for value: UInt32 in [0, 1, 2, 3, 4, 0xfde8, .max] {
            #expect(PropertyValue.u32(value).bytes == bigEndian([value]))
            #expect(PropertyValue.u32(value).shape == [.cells(count: 1, phandles: [])])
            #expect(PropertyValue.phandle(value).bytes == bigEndian([value]))
            #expect(PropertyValue.phandle(value).shape == [.cells(count: 1, phandles: [0])])
        }
        #expect(PropertyValue.u64(0x0102_0304_0506_0708).bytes == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(PropertyValue.u64Pairs([(0x1_0000_0002, 3)]).bytes == bigEndian([1, 2, 0, 3]))
        for count in [0, 1, 257] {
            let repeated = PropertyValue.u64Pairs(repeating: (5, 0x6_0000_0007), count: count)
            let listed = PropertyValue.u64Pairs(Array(repeating: (5, 0x6_0000_0007), count: count))
            #expect(repeated.bytes == listed.bytes && repeated.shape == listed.shape)
        }
        for count in 1...6 {
            let cells = [Cell.phandle(9)] + (1..<count).map { Cell.number(UInt32($0)) }
            #expect(PropertyValue.cells(cells).bytes == bigEndian([9] + (1..<count).map { UInt32($0) }))
            #expect(PropertyValue.cells(cells).shape == [.cells(count: count, phandles: [0])])
        }
        #expect(PropertyValue.cells([.phandle(1), .number(2), .phandle(3)]).shape == [.cells(count: 3, phandles: [0, 2])])
        #expect(PropertyValue.strings(["", "é", "ab"]).bytes == [0, 0xc3, 0xa9, 0, 0x61, 0x62, 0])
        #expect(PropertyValue.strings([]).bytes == [])
    }

    @Test func nodeNamesAndLookup() {
        let node = Node("virtio@2000000", properties: [Property("phandle", .u32(9))])
        #expect(node.baseName == "virtio")
        #expect(node.unitAddress == "2000000")
        #expect(Node("chosen").unitAddress == nil)
        #expect(node.phandle == 9)
        let tree = SampleTrees.everyValueKind
        #expect(tree.node(at: "/virtio@2000000/i2c") != nil)
        #expect(tree.node(at: "/virtio") == nil, "a base name must not match a node with a unit address")
        #expect(tree.node(at: "relative") == nil)
    }

    @Test func setReplacesInPlace() {
        var node = Node("n", properties: [Property("a", .u32(1)), Property("b", .u32(2))])
        node.set("a", .u32(3))
        node.set("c", .empty)
        #expect(node.properties.map(\.name) == ["a", "b", "c"])
        #expect(node[property: "a"]?.u32 == 3)
    }

    @Test func nodeTableIndexes() {
        let table = NodeTable(SampleTrees.everyValueKind)
        #expect(table.entries.first?.path == "/")
        let gic = table.index(ofPhandle: 0xfde8)
        #expect(gic.map { table[$0].path } == "/interrupt-controller@3001000")
        let i2c = table.index(ofPath: "/virtio@2000000/i2c")
        #expect(i2c.map { Array(table.ancestors(of: $0)).map { table[$0].path } } == ["/virtio@2000000", "/"])
        #expect(table.phandleClashes.isEmpty && table.invalidPhandles.isEmpty)
    }

    @Test func nodeTableReportsBadPhandles() {
        let tree = DeviceTree(root: Node("", children: [
            Node("a", properties: [Property("phandle", .u32(4))]),
            Node("b", properties: [Property("phandle", .u32(4))]),
            Node("c", properties: [Property("phandle", .u32(0))]),
            Node("d", properties: [Property("phandle", .u32(1)), Property("linux,phandle", .u32(2))]),
        ]))
        let table = NodeTable(tree)
        #expect(table.phandleClashes.map(\.phandle) == [4])
        #expect(table.phandleClashes.map(\.paths) == [["/a", "/b"]])
        #expect(table.invalidPhandles == ["/c", "/d"])
        #expect(table.index(ofPhandle: 4).map { table[$0].path } == "/a")
    }

    @Test func nodeTableHandlesDeepTrees() {
        let table = NodeTable(SampleTrees.deep(DTBWriter.maxDepth))
        #expect(table.entries.count == DTBWriter.maxDepth + 1)
        #expect(table.entries.last?.depth == DTBWriter.maxDepth)
    }
}
