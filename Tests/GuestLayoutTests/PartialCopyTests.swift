import DeviceTree
import GuestLayout
import Testing
import TestSupport

/// The `device_tree=` copy: libxl's lookup quirks, the checks on what is
/// copied, and DTS output that dtc accepts without warnings.
@Suite struct PartialCopyTests {
    func layout(_ partial: GuestInputs.PartialTree, devices: Int = 0) -> LayoutResult {
        var guest = Guests.minimal()
        guest.deviceTree = Guests.located(partial.file, line: 6)
        guest.virtioDisks = (0..<devices).map { Guests.disk(backend: 1, line: 10 + $0) }
        return GuestLayoutBuilder.build(guest, inputs: GuestInputs(kernel: Guests.kernel, partialTree: partial), options: Guests.options())
    }

    @Test func aUnitAddressedNodeListedFirstHidesPassthrough() throws {
        // libfdt's "/passthrough" lookup also takes "passthrough@0", which
        // libxl then rejects by name even though "passthrough" follows.
        let partial = try Fixtures.partialTree("""
            /dts-v1/;
            / { passthrough@0 { reg = <0 0 0 0>; }; passthrough { }; };
            """)
        #expect(layout(partial).diagnostics.map(\.rule) == ["GUEST-PARTIAL-DT-NO-PASSTHROUGH"])
    }

    @Test func aliasesAreOptionalAndHiddenTheSameWay() throws {
        let partial = try Fixtures.passthrough(
            "dev@0 { reg = <0 0 0 0x1000>; };", extra: "aliases@1 { }; aliases { serial0 = \"/passthrough/dev@0\"; };")
        let result = layout(partial)
        #expect(result.diagnostics.isEmpty)
        #expect(result.tree?.root.children.map(\.name).suffix(1) == ["passthrough"])
    }

    @Test func aliasPathsMayOmitUnitAddresses() throws {
        let partial = try Fixtures.passthrough(
            "dev@0 { reg = <0 0 0 0x1000>; };",
            extra: "aliases { a = \"/passthrough/dev\"; b = \"/passthrough/dev@1\"; c = [01 02]; };")
        let result = layout(partial)
        #expect(result.diagnostics.map(\.message) == [
            "alias 'b' names /passthrough/dev@1, which is not in the guest tree",
            "alias 'c' is not an absolute node path",
        ])
    }

    @Test func referencesResolveAgainstTheWholeGuestTree() throws {
        // The GIC (0xfde8) always exists; xen_iommu (0xfde9) only with grants.
        let partial = try Fixtures.passthrough("""
            dev@0 { reg = <0 0 0 0x1000>; interrupt-parent = <0xfde8>; iommus = <0xfde9 1>; };
            """)
        #expect(layout(partial, devices: 1).diagnostics.isEmpty)
        let dangling = layout(partial, devices: 0)
        #expect(dangling.diagnostics.map(\.rule) == ["GUEST-PARTIAL-DT-DANGLING"])
        #expect(dangling.diagnostics.first?.message.contains("'iommus' cell 0 refers to phandle 0xfde9") == true)
    }

    @Test func specifierListsStepByTheTargetsCellCount() throws {
        let partial = try Fixtures.passthrough("""
            clk: clock@1 { reg = <0 1 0 1>; #clock-cells = <2>; };
            rst: reset@2 { reg = <0 2 0 1>; #reset-cells = <0>; };
            dev@0 {
                reg = <0 0 0 0x1000>;
                clocks = <&clk 5 6 &clk 7 8 0 9>;
                resets = <&rst &rst>;
                interrupts-extended = <0xfde8 0 5 4>;
                vdd-supply = <&rst>;
                pinctrl-0 = <&clk &rst>;
                reset-gpios = <0>;
            };
            """)
        // clocks: the 9 after an empty (0) slot is read as a phandle.
        let result = layout(partial)
        #expect(result.diagnostics.map(\.message) == [
            "'clocks' cell 7 refers to phandle 0x9, which no node of the guest tree carries",
        ])
    }

    @Test func copiedPhandlesMayNotRepeat() throws {
        // dtc refuses to build such a blob, so the tree is made directly.
        func device(_ name: String) -> Node { Node(name, properties: [Property("phandle", .u32(7))]) }
        let bus = Node("passthrough", properties: [
            Property("compatible", .string("simple-bus")), Property("ranges", .empty),
            Property("#address-cells", .u32(2)), Property("#size-cells", .u32(2)),
        ], children: [device("a@1"), device("b@2")])
        let partial = GuestInputs.PartialTree(file: "partial.dtb", tree: DeviceTree(root: Node("", children: [bus])))
        let result = layout(partial)
        #expect(result.diagnostics.map(\.rule) == ["GUEST-PARTIAL-DT-PHANDLE-CLASH"])
        #expect(result.diagnostics.first?.node == "/passthrough/b@2")
    }

    @Test func labelledDTSOfCopiedNodesIsWarningFree() throws {
        let partial = try Fixtures.passthrough("""
            clk: clock-controller@1 { reg = <0 1 0 1>; #clock-cells = <1>; };
            clk2: clock-controller@2 { reg = <0 2 0 1>; #clock-cells = <0>; };
            dev@0 { reg = <0 0 0 0x1000>; interrupt-parent = <0xfde8>; interrupts = <0 9 4>;
                    clocks = <&clk 1 &clk2>; iommus = <0xfde9 1>; };
            """)
        let tree = try #require(layout(partial, devices: 1).tree)
        let text = DTSPrinter.print(tree)
        #expect(text.contains("pt_clock_controller_1: clock-controller@1"))
        #expect(text.contains("clocks = <&pt_clock_controller_1 0x1 &pt_clock_controller_2>;"))
        #expect(text.contains("iommus = <&xen_iommu 0x1>;"))
        let compiled = try DTC.compile(text, waiving: DTC.waivedChecks)
        #expect(compiled.warnings.isEmpty, "\(compiled.warnings)")
        #expect(try DTC.decompile(compiled.blob).text == DTC.decompile(DTBWriter.write(tree)).text)
    }
}
