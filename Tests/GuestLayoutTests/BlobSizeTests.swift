import DeviceTree
@testable import GuestLayout
import Testing

/// The DTB size the domain builder places (`DTBWriter.size(of:)`, without
/// writing the blob) for the guests of the golden tests; libfdt (through
/// `DTBWriter.write`, the same sequential-write calls libxl makes) is the
/// oracle.
@Suite struct BlobSizeTests {
    @Test(arguments: GoldenCase.all.map(\.name))
    func matchesLibfdtForGoldenGuests(name: String) throws {
        let golden = try #require(GoldenCase.all.first { $0.name == name })
        let tree = try #require(GuestLayoutBuilder.build(golden.guest, inputs: golden.inputs, options: golden.options).tree)
        #expect(try DTBWriter.size(of: tree) == DTBWriter.write(tree).count)
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
}
