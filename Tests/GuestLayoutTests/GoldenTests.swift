import DeviceTree
import GuestLayout
import Testing
import TestSupport

/// Every hand-written golden DTS under Golden/ against the layout of the
/// guest it describes, with dtc as the judge: our DTB decompiles to what
/// the golden compiles to, our DTS compiles to the golden's very bytes,
/// and dtc warns about nothing beyond the waiver list on any of them.
@Suite struct GoldenTests {
    static let waivers = DTC.waivedChecks.flatMap { ["-W", "no-\($0)"] }

    @Test(arguments: GoldenCase.all.map(\.name))
    func layoutMatchesGolden(name: String) throws {
        let golden = try #require(GoldenCase.all.first { $0.name == name })
        let result = GuestLayoutBuilder.build(golden.guest, inputs: golden.inputs, options: golden.options)
        #expect(result.diagnostics.map(\.rule) == golden.expectedRules, "\(result.diagnostics)")
        let tree = try #require(result.tree)
        let ours = try DTBWriter.write(tree)

        let expected = try DTC.compile(GoldenFiles.text(name), waiving: DTC.waivedChecks)
        #expect(expected.warnings.isEmpty, "dtc warned on the golden: \(expected.warnings)")
        let decompiled = try DTC.decompile(ours, waiving: DTC.waivedChecks)
        #expect(decompiled.warnings.isEmpty, "dtc warned on our DTB: \(decompiled.warnings)")
        #expect(try decompiled.text == DTC.decompile(expected.blob).text)

        let fromOurDTS = try DTC.compile(DTSPrinter.print(tree), waiving: DTC.waivedChecks)
        #expect(fromOurDTS.warnings.isEmpty, "dtc warned on our DTS: \(fromOurDTS.warnings)")
        #expect(fromOurDTS.blob == expected.blob, "our labelled DTS does not compile to the golden's bytes")

        // dtc re-serialising our blob gives the golden's bytes too: labels
        // and phandle references change nothing in the DTB.
        let rebuilt = try Tool.dtc(["-I", "dtb", "-O", "dtb", "-o", "-"] + Self.waivers + ["-"], stdin: ours)
        #expect(rebuilt.status == 0 && rebuilt.stderr.isEmpty, "\(rebuilt.stderr)")
        #expect(rebuilt.stdout == expected.blob)
        #expect(try DTBWriter.write(DeviceTree(root: Self.unlabelled(tree.root))) == ours, "labels reached the DTB")
    }

    /// The fallback-placement goldens state the DTB size they assume.
    @Test(arguments: [("ramdisk-top-of-bank", 4097...8192), ("ramdisk-below-kernel", 1...4096)])
    func placementGoldensAssumeTheirDTBSize(name: String, size: ClosedRange<Int>) throws {
        let golden = try #require(GoldenCase.all.first { $0.name == name })
        let summary = try #require(GuestLayoutBuilder.build(golden.guest, inputs: golden.inputs, options: golden.options).summary)
        #expect(size.contains(summary.deviceTreeSize), "\(summary.deviceTreeSize)")
    }

    static func unlabelled(_ node: Node) -> Node {
        Node(node.name, properties: node.properties, children: node.children.map(unlabelled))
    }
}
