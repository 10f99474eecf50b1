import DeviceTree
@testable import GuestLayout
import Testing
import TestSupport

/// The DTB size the domain builder places is computed without writing
/// the blob; libfdt (through `DTBWriter`, the same sequential-write calls
/// libxl makes) is the oracle.
@Suite struct BlobSizeTests {
    @Test(arguments: GoldenCase.all.map(\.name))
    func matchesLibfdtForGoldenGuests(name: String) throws {
        let golden = try #require(GoldenCase.all.first { $0.name == name })
        let tree = try #require(GuestLayoutBuilder.build(golden.guest, inputs: golden.inputs, options: golden.options).tree)
        #expect(try BlobSize.of(tree) == DTBWriter.write(tree).count)
    }

    /// The size the layout reports is libfdt's for the tree libxl builds
    /// before finalising it; here that tree is rebuilt from the final one
    /// by putting the placeholders back (initrd 0, a zeroed 128-byte
    /// `rng-seed`, a zeroed `reg` in every bank's memory node, a zeroed
    /// `hypervisor` `reg` for the grant table and every region slot).
    @Test(arguments: GoldenCase.all.map(\.name))
    func reportedSizeIsTheUnfinalisedBlobs(name: String) throws {
        let golden = try #require(GoldenCase.all.first { $0.name == name })
        let result = GuestLayoutBuilder.build(golden.guest, inputs: golden.inputs, options: golden.options)
        let summary = try #require(result.summary)
        let template = Template.builtin
        let slots = try #require(template.rules(for: golden.options.xenVersion)).extendedRegionSlots
        var root = try #require(result.tree).root
        let firstMemory = try #require(root.children.firstIndex { $0.name.hasPrefix("memory@") })
        root.children.removeAll { $0.name.hasPrefix("memory@") }
        root.children.insert(contentsOf: template.memoryMap.ramBanks.map { bank in
            Node("memory@\(String(bank.base, radix: 16))", properties: [
                Property("device_type", .string("memory")), Property("reg", .u64Pairs([(0, 0)])),
            ])
        }, at: firstMemory)
        for index in root.children.indices {
            switch root.children[index].name {
            case "chosen":
                for initrd in ["linux,initrd-start", "linux,initrd-end"] where root.children[index][property: initrd] != nil {
                    root.children[index].set(initrd, .u64(0))
                }
                root.children[index].set("rng-seed", .bytes(Array(repeating: 0, count: 128)))
            case "hypervisor":
                root.children[index].set("reg", .u64Pairs(Array(repeating: (0, 0), count: slots + 1)))
            default:
                break
            }
        }
        #expect(try summary.deviceTreeSize == DTBWriter.write(DeviceTree(root: root)).count)
    }

    @Test func suffixNamesShareStorage() throws {
        // "phandle" is the tail of "linux,phandle" only when that came first.
        let first = DeviceTree(root: Node("", properties: [
            Property("linux,phandle", .u32(1)), Property("phandle", .u32(1)),
        ]))
        let second = DeviceTree(root: Node("", properties: [
            Property("phandle", .u32(1)), Property("linux,phandle", .u32(1)),
        ]))
        #expect(try BlobSize.of(first) == DTBWriter.write(first).count)
        #expect(try BlobSize.of(second) == DTBWriter.write(second).count)
        #expect(BlobSize.of(second) == BlobSize.of(first) + "phandle".utf8.count + 1)
    }

    @Test func randomTreesMatchLibfdt() throws {
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
            #expect(try BlobSize.of(tree) == DTBWriter.write(tree).count)
        }
    }

    /// Names drawn from three letters: many are tails of others, and a
    /// tree holds more distinct names than the strings model's first table.
    @Test func manyNamesSharingTailsMatchLibfdt() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<50 {
            var node = Node("n")
            for _ in 0..<Int.random(in: 1...120, using: &random) {
                let name = String((0..<Int.random(in: 1...6, using: &random)).map { _ in "ab,".randomElement(using: &random) ?? "a" })
                node.set(name, .empty)
            }
            let tree = DeviceTree(root: Node("", children: [node]))
            #expect(try BlobSize.of(tree) == DTBWriter.write(tree).count)
        }
    }
}
