import DeviceTree
import Testing
import TestSupport

/// dtc 1.6.1 as an independent oracle: our DTS and our DTB must be the
/// same tree in dtc's eyes, and well-formed trees draw no dtc warnings.
@Suite struct DTCOracleTests {
    static let wellFormed: [(String, DeviceTree)] = [
        ("every value kind", SampleTrees.everyValueKind),
        ("500 siblings", SampleTrees.siblings(500)),
        ("deep", SampleTrees.deep(60)),
        ("long strings", SampleTrees.longStrings),
        ("empty root", DeviceTree(root: Node(""))),
    ]

    @Test(arguments: wellFormed.indices)
    func dtsAndDtbAreTheSameTreeForDtc(index: Int) throws {
        let (_, tree) = Self.wellFormed[index]
        let blob = try DTBWriter.write(tree)
        let fromOurDTS = try DTC.compile(DTSPrinter.print(tree))
        #expect(fromOurDTS.warnings.isEmpty, "dtc warned on our DTS: \(fromOurDTS.warnings)")
        let viaDTS = try DTC.decompile(fromOurDTS.blob)
        let viaDTB = try DTC.decompile(blob)
        #expect(viaDTB.warnings.isEmpty, "dtc warned on our DTB: \(viaDTB.warnings)")
        #expect(viaDTS.text == viaDTB.text)
    }

    @Test(arguments: 0..<15)
    func randomTreesAgreeWithDtc(seed: Int) throws {
        var generator = SplitMix64(seed: UInt64(seed) &* 7919)
        let tree = RandomTree.make(using: &generator)
        let viaDTS = try DTC.decompile(DTC.compile(DTSPrinter.print(tree)).blob)
        let viaDTB = try DTC.decompile(DTBWriter.write(tree))
        #expect(viaDTS.text == viaDTB.text)
    }

    /// A blob made by dtc from hand-written source reads back into a tree
    /// that prints as DTS dtc turns into the same tree again.
    @Test func readsDtcMadeBlobs() throws {
        let source = """
            /dts-v1/;
            /memreserve/ 0x80000000 0x10000;
            / {
                #address-cells = <2>;
                #size-cells = <2>;
                compatible = "vendor,board", "vendor,soc";
                gic: interrupt-controller@8000000 {
                    compatible = "arm,gic-v3";
                    #interrupt-cells = <3>;
                    #address-cells = <0>;
                    interrupt-controller;
                    reg = <0 0x8000000 0 0x10000>;
                };
                serial@9000000 {
                    compatible = "arm,pl011";
                    reg = <0 0x9000000 0 0x1000>;
                    interrupts = <0 1 4>;
                    interrupt-parent = <&gic>;
                    clock-names = "uartclk", "apb_pclk";
                    mac = [00 11 22 33 44 55];
                };
            };
            """
        let original = try DTC.compile(source).blob
        let tree = try DTBReader.read(original)
        #expect(tree.reservations == [MemoryReservation(address: 0x8000_0000, size: 0x10000)])
        #expect(tree.node(at: "/serial@9000000")?[property: "clock-names"]?.strings == ["uartclk", "apb_pclk"])
        // dtc assigned the GIC a phandle because of &gic.
        #expect(tree.node(at: "/interrupt-controller@8000000")?.phandle != nil)
        let again = try DTC.compile(DTSPrinter.print(tree)).blob
        #expect(try DTC.decompile(again).text == DTC.decompile(original).text)
    }

    /// Labelled DTS with explicit phandles: dtc rebuilds the very same
    /// phandle numbers (a raw number there would draw `iommus_property`).
    @Test func labelReferencesKeepPhandleNumbers() throws {
        let text = DTSPrinter.print(SampleTrees.everyValueKind)
        #expect(text.contains("iommus = <&xen_iommu 0x7>;"))
        #expect(text.contains("interrupt-parent = <&gic>;"))
        let rebuilt = try DTBReader.read(DTC.compile(text).blob)
        #expect(rebuilt.node(at: "/virtio@2000000")?[property: "iommus"]?.cells == [0xfde9, 7])
    }
}
