import DeviceTree
import Testing

@Suite struct DTSPrinterTests {
    @Test func goldenLabelledTree() {
        let tree = DeviceTree(root: Node(
            "",
            properties: [Property("interrupt-parent", .phandle(0xfde8))],
            children: [
                Node("gic", labels: ["gic"], properties: [
                    Property("interrupt-controller", .empty),
                    Property("phandle", .u32(0xfde8)),
                ]),
                Node("dev@1", properties: [
                    Property("compatible", .strings(["a,b", "c"])),
                    Property("reg", .u64Pairs([(1, 2), (3, 4)])),
                    Property("iommus", .cells([.phandle(0xfde9), .number(2)])),
                    Property("blob", .bytes([0, 0xab, 0x10])),
                ]),
            ]))
        let expected = """
            /dts-v1/;

            / {
            \tinterrupt-parent = <&gic>;

            \tgic: gic {
            \t\tinterrupt-controller;
            \t\tphandle = <0xfde8>;
            \t};

            \tdev@1 {
            \t\tcompatible = "a,b", "c";
            \t\treg = <0x0 0x1 0x0 0x2>, <0x0 0x3 0x0 0x4>;
            \t\tiommus = <0xfde9 0x2>;
            \t\tblob = [00 ab 10];
            \t};
            };

            """
        #expect(DTSPrinter.print(tree) == expected)
    }

    @Test func guessesTypesLikeDtc() {
        let tree = DeviceTree(root: Node("", properties: [
            Property("s", PropertyValue(bytes: Array("ab\0cd\0".utf8))),
            Property("c", PropertyValue(bytes: [0, 0, 0, 1, 0, 0, 0, 2])),
            Property("b", PropertyValue(bytes: [1, 2, 3])),
            Property("mostly-nul", PropertyValue(bytes: [0x61, 0, 0, 0])),
            Property("e", PropertyValue(bytes: [])),
        ]))
        let text = DTSPrinter.print(tree)
        #expect(text.contains("\ts = \"ab\", \"cd\";\n"))
        #expect(text.contains("\tc = <0x1 0x2>;\n"))
        #expect(text.contains("\tb = [01 02 03];\n"))
        #expect(text.contains("\tmostly-nul = <0x61000000>;\n"))
        #expect(text.contains("\te;\n"))
    }

    @Test func escapesStrings() {
        let tree = DeviceTree(root: Node("", properties: [
            Property("s", .string("q\"b\\n\nt\t\u{7}é")),
        ]))
        #expect(DTSPrinter.print(tree).contains(#"s = "q\"b\\n\nt\t\x07\xc3\xa9";"#))
    }

    @Test func reservationsAndRootLabels() {
        let tree = DeviceTree(
            root: Node("", labels: ["top"]),
            reservations: [MemoryReservation(address: 0x1000, size: 0x20)])
        let text = DTSPrinter.print(tree)
        #expect(text.hasPrefix("/dts-v1/;\n\n/memreserve/ 0x1000 0x20;\n\n/ {\n};\n"))
        #expect(text.hasSuffix("\ntop: &{/} {\n};\n"))
    }
}
