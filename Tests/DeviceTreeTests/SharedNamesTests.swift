import CLibFDT
@testable import DeviceTree
import Testing
import TestSupport

/// The writer lets libfdt store every property name and shares them
/// itself afterwards (`StringsBlock`). Its blobs must be byte for byte
/// those of libfdt sharing names on its own, `fdt_property`'s scan and all.
@Suite struct SharedNamesTests {
    /// Names where one ends another, in both orders of first use, so that
    /// a name is found inside a longer one added before or after it.
    static let names = [
        "reg", "xreg", "a,reg", "phandle", "linux,phandle", "cells", "#address-cells", "#size-cells",
        "size-cells", "interrupts", "interrupt", "pts", "s", "compatible", "e", "le", "ible", "x", "linux,x",
    ]

    @Test func sampleTreeMatchesLibfdt() throws {
        let tree = SampleTrees.everyValueKind
        #expect(try Self.firstDifference(DTBWriter.write(tree), LibfdtSharing.write(tree)) == nil)
    }

    @Test func randomTreesMatchLibfdt() throws {
        var random = SplitMix64(seed: 0x5eed_57a1)
        for round in 0..<300 {
            var values: UInt32 = 0
            let tree = DeviceTree(root: Self.randomNode("", depth: 0, values: &values, random: &random))
            let difference = try Self.firstDifference(DTBWriter.write(tree), LibfdtSharing.write(tree))
            #expect(difference == nil, "round \(round): the blobs differ from byte \(difference ?? 0)")
            if difference != nil { return }
        }
    }

    // MARK: size(of:), the same model without writing

    @Test func sizeSharesSuffixNames() throws {
        // "phandle" is the tail of "linux,phandle" only when that came first.
        let first = DeviceTree(root: Node("", properties: [
            Property("linux,phandle", .u32(1)), Property("phandle", .u32(1)),
        ]))
        let second = DeviceTree(root: Node("", properties: [
            Property("phandle", .u32(1)), Property("linux,phandle", .u32(1)),
        ]))
        #expect(try DTBWriter.size(of: first) == DTBWriter.write(first).count)
        #expect(try DTBWriter.size(of: second) == DTBWriter.write(second).count)
        #expect(DTBWriter.size(of: second) == DTBWriter.size(of: first) + "phandle".utf8.count + 1)
    }

    @Test func sizeOfRandomTreesMatchesLibfdt() throws {
        var random = SplitMix64(seed: 42)
        let names = ["reg", "compatible", "handle", "linux,handle", "status", "okay", "a", "ba", "cba", "#size-cells"]
        for _ in 0..<200 {
            var root = Node("")
            for index in 0..<Int.random(in: 0...6, using: &random) {
                var child = Node("n\(index)@\(index)")
                for name in names.shuffled(using: &random).prefix(Int.random(in: 0...5, using: &random)) {
                    child.set(name, .bytes((0..<Int.random(in: 0...9, using: &random)).map { UInt8($0) }))
                }
                root.children.append(child)
            }
            let tree = DeviceTree(root: root)
            #expect(try DTBWriter.size(of: tree) == DTBWriter.write(tree).count)
        }
    }

    /// Names drawn from three letters: many are tails of others, and a
    /// tree holds more distinct names than the strings model's first table.
    @Test func sizeWithManyNamesSharingTailsMatchesLibfdt() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<50 {
            var node = Node("n")
            for _ in 0..<Int.random(in: 1...120, using: &random) {
                let name = String((0..<Int.random(in: 1...6, using: &random)).map { _ in "ab,".randomElement(using: &random) ?? "a" })
                node.set(name, .empty)
            }
            let tree = DeviceTree(root: Node("", children: [node]))
            #expect(try DTBWriter.size(of: tree) == DTBWriter.write(tree).count)
        }
    }

    /// Far more and longer names than a guest has: every table of the
    /// model grows past its first size (names, entries, hash slots).
    @Test func manyLongNamesMatchLibfdt() throws {
        var node = Node("n")
        for index in 0..<300 {
            node.properties.append(Property("a-rather-long-property-name-\(index)", .u32(UInt32(index))))
            node.properties.append(Property("name-\(index)", .empty))
        }
        let tree = DeviceTree(root: Node("", properties: [Property("name-7", .empty)], children: [node]))
        #expect(try Self.firstDifference(DTBWriter.write(tree), LibfdtSharing.write(tree)) == nil)
        #expect(try DTBWriter.size(of: tree) == DTBWriter.write(tree).count)
    }

    /// The empty name (which the writer refuses, but `size(of:)` takes) is
    /// the tail of every stored name: libfdt finds it at the newest one's
    /// NUL, and stores it only in an empty block.
    @Test func sizeWithEmptyNamesMatchesLibfdt() throws {
        var random = SplitMix64(seed: 11)
        let names = ["", "reg", "g", "eg", "status", "s", "compatible"]
        for _ in 0..<200 {
            var node = Node("n")
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                node.properties.append(Property(names.randomElement(using: &random) ?? "", .empty))
            }
            let tree = DeviceTree(root: Node("", children: [node]))
            #expect(DTBWriter.size(of: tree) == LibfdtSharing.write(tree).count)
        }
    }

    /// The model itself, lookup by lookup: every offset it hands out
    /// (made final with the block's size) is the `nameoff` libfdt gives
    /// that property, and its block is libfdt's, for name sequences where
    /// later names end earlier ones, and the reverse, and the empty name
    /// (found at the newest name's NUL) comes and goes.
    @Test func everyLookupMatchesLibfdt() throws {
        var random = SplitMix64(seed: 23)
        let names = ["", "reg", "g", "eg", "a,reg", "phandle", "linux,phandle", "s", "cells", "#size-cells", "x"]
        for round in 0..<300 {
            let sequence = (0..<Int.random(in: 1...12, using: &random)).map { _ in names.randomElement(using: &random) ?? "" }
            var block = StringsBlock()
            let offsets = sequence.map { block.add($0).offset }
            let ours = offsets.map { Int32(block.size) + $0 }
            var strings = [UInt8](repeating: 0xff, count: block.size)
            strings.withUnsafeMutableBytes { if let base = $0.baseAddress { block.write(to: base) } }
            let theirs = LibfdtSharing.lookups(sequence)
            #expect(ours == theirs.offsets, "round \(round): \(sequence)")
            #expect(strings == theirs.block, "round \(round): \(sequence)")
        }
    }

    /// `TreeNames` answers a string it met before from its representation:
    /// every lookup must still be the model's. Names come as literals, as
    /// strings built at run time (other representations of the same
    /// characters: short ones inline, long ones on the heap), and as
    /// different names sharing their first or last eight bytes.
    @Test func treeNamesAnswerAsTheModel() {
        var random = SplitMix64(seed: 31)
        let literals = [
            "interrupts", "interrupt-parent", "interrupt-controller", "#interrupt-cells", "reg", "phandle",
            "linux,phandle", "compatible", "a-very-long-property-name-1", "a-very-long-property-name-2",
        ]
        var kept: [String] = []  // built names stay alive, as a walked tree's do
        for round in 0..<200 {
            var names = TreeNames()
            var model = StringsBlock()
            for _ in 0..<Int.random(in: 1...40, using: &random) {
                let literal = literals.randomElement(using: &random) ?? ""
                let name = Bool.random(using: &random) ? literal : String(decoding: Array(literal.utf8), as: UTF8.self)
                kept.append(name)
                let ours = names.lookup(name), expected = model.add(name)
                #expect(ours.offset == expected.offset && ours.id == expected.id && ours.isFirst == expected.isFirst, "round \(round)")
            }
            #expect(names.block.size == model.size)
        }
    }

    /// The first offset where the blobs differ (or one ends), nil when equal.
    private static func firstDifference(_ ours: [UInt8], _ theirs: [UInt8]) -> Int? {
        let common = min(ours.count, theirs.count)
        return (0..<common).first { ours[$0] != theirs[$0] } ?? (ours.count == theirs.count ? nil : common)
    }

    /// A node with up to six of `names` and up to three children. Every
    /// value is new, so `phandle` properties never collide.
    private static func randomNode(_ name: String, depth: Int, values: inout UInt32, random: inout SplitMix64) -> Node {
        var properties: [Property] = []
        for name in names.shuffled(using: &random).prefix(Int.random(in: 0...6, using: &random)) {
            values += 1
            properties.append(Property(name, .u32(values)))
        }
        let children = depth < 3 ? Int.random(in: 0...3, using: &random) : 0
        return Node(name, properties: properties, children: (0..<children).map { index in
            randomNode("n\(index)", depth: depth + 1, values: &values, random: &random)
        })
    }
}

/// libfdt's sequential writer with its own name sharing: the reference.
private enum LibfdtSharing {
    static func write(_ tree: DeviceTree) -> [UInt8] {
        let capacity = 1 << 16
        let fdt = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        defer { fdt.deallocate() }
        var status = fdt_create(fdt, Int32(capacity))
        for entry in tree.reservations {
            status |= fdt_add_reservemap_entry(fdt, entry.address, entry.size)
        }
        status |= fdt_finish_reservemap(fdt)
        status |= node(tree.root, fdt)
        status |= fdt_finish(fdt)
        #expect(status == 0, "libfdt failed writing the reference")
        fdt_set_boot_cpuid_phys(fdt, tree.bootCPUID)
        return Array(UnsafeRawBufferPointer(start: fdt, count: Int(grantdt_fdt_totalsize(fdt))))
    }

    /// The `nameoff` of one property per name of `names` (in a root node)
    /// and the strings block, as libfdt sharing names makes them.
    static func lookups(_ names: [String]) -> (offsets: [Int32], block: [UInt8]) {
        var root = Node("")
        root.properties = names.map { Property($0, .empty) }
        let blob = write(DeviceTree(root: root))
        let header = { (field: Int) in Int(blob.bigEndianWord(at: field)) }
        let (structure, strings, stringsSize) = (header(8), header(12), header(32))
        // BEGIN_NODE and the root's empty name (4 + 4 bytes), then one
        // 12-byte FDT_PROP header per empty-valued property.
        let offsets = names.indices.map { Int32(blob.bigEndianWord(at: structure + 8 + 12 * $0 + 8)) }
        return (offsets, Array(blob[strings..<(strings + stringsSize)]))
    }

    private static func node(_ node: Node, _ fdt: UnsafeMutableRawPointer) -> Int32 {
        var status = fdt_begin_node(fdt, node.name)
        for property in node.properties {
            status |= property.value.bytes.withUnsafeBytes { fdt_property(fdt, property.name, $0.baseAddress, Int32($0.count)) }
        }
        for child in node.children {
            status |= self.node(child, fdt)
        }
        return status | fdt_end_node(fdt)
    }
}

extension [UInt8] {
    fileprivate func bigEndianWord(at offset: Int) -> UInt32 {
        self[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
