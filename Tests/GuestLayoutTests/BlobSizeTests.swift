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
}
