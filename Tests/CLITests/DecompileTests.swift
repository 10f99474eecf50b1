import Testing
import TestSupport

@Suite struct DecompileTests {
    static let source = """
        /dts-v1/;
        / {
            #address-cells = <2>;
            #size-cells = <2>;
            model = "XENVM-4.22";
            xen_iommu { compatible = "xen,grant-dma"; #iommu-cells = <1>; phandle = <0xfde9>; };
            virtio@2000000 {
                compatible = "virtio,mmio";
                reg = <0 0x2000000 0 0x200>;
                dma-coherent;
                iommus = <0xfde9 1>;
            };
        };
        """

    @Test func printsDtcMadeBlob() throws {
        let directory = try TemporaryDirectory()
        let blob = try DTC.compile(Self.source).blob
        let input = try directory.write("guest.dtb", blob)
        let result = try Tool.grantdt(["decompile", input])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        #expect(result.stdoutText.hasPrefix("/dts-v1/;\n"))
        #expect(result.stdoutText.contains("\t\tiommus = <0xfde9 0x1>;\n"))
        // dtc reads our text back into the same tree.
        let again = try DTC.compile(result.stdoutText).blob
        #expect(try DTC.decompile(again).text == DTC.decompile(blob).text)
    }

    @Test func writesOutputFile() throws {
        let directory = try TemporaryDirectory()
        let input = try directory.write("guest.dtb", DTC.compile(Self.source).blob)
        let result = try Tool.grantdt(["decompile", input, "-o", directory.file("guest.dts")])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        #expect(directory.read("guest.dts").map { String(decoding: $0, as: UTF8.self) }?.contains("virtio@2000000") == true)
    }

    @Test func corruptBlobExitsTwoAndLeavesOutputAlone() throws {
        let directory = try TemporaryDirectory()
        let blob = try DTC.compile(Self.source).blob
        let input = try directory.write("cut.dtb", Array(blob.prefix(blob.count / 2)))
        try directory.write("old.dts", "keep me")
        let result = try Tool.grantdt(["decompile", input, "-o", directory.file("old.dts")])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("grantdt: error: \(input): "))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
        #expect(directory.read("old.dts") == Array("keep me".utf8))

        let fresh = try Tool.grantdt(["decompile", input, "-o", directory.file("new.dts")])
        #expect(fresh.status == 2)
        #expect(directory.read("new.dts") == nil)
    }

    @Test func unreadableInputExitsTwo() throws {
        let directory = try TemporaryDirectory()
        for path in [directory.file("missing.dtb"), directory.path] {
            let result = try Tool.grantdt(["decompile", path])
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("cannot read"))
        }
    }

    @Test func notADeviceTree() throws {
        let directory = try TemporaryDirectory()
        let input = try directory.write("text.dtb", String(repeating: "not a blob at all. ", count: 10))
        let result = try Tool.grantdt(["decompile", input])
        #expect(result.status == 2)
        #expect(result.stderr.contains("not a device tree blob"))
    }
}
