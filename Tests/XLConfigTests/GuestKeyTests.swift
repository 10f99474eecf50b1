import Diagnostics
import Testing
import XLConfig

/// The keys that shape an Arm guest, read as `xl_parse.c` reads them (§10.4).
@Suite struct GuestKeyTests {
    @Test func aFullGuestReadsCleanly() throws {
        let result = read("""
            name = "vm1"
            type = "pvh"
            memory = 1024
            maxmem = 2048
            vcpus = 2
            maxvcpus = 4
            kernel = "/boot/Image"
            ramdisk = "/boot/initrd.img"
            device_tree = "partial.dtb"
            extra = "console=hvc0"
            root = "/dev/vda"
            gic_version = "V3"
            vuart = "SBSA_UART"
            tee = "OPTEE"
            nr_spis = 64
            irqs = [ 40, "41" ]
            iomem = [ "ff0e0,1", "0xff0f0,0x2@0x3000" ]
            dtdev = [ "/soc/ethernet@ff0e0000" ]
            pci = [ "0000:01:00.0@1f,permissive=1", "02:00.*" ]
            acpi = 0
            on_crash = "destroy"
            """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(DiagnosticText.render))")
        let guest = try #require(result.guest)
        #expect(guest.file == "guest.cfg")
        #expect(guest.name?.value == "vm1")
        #expect(guest.type?.value == .pvh)
        #expect(guest.memoryMiB?.value == 1024)
        #expect(guest.maxmemMiB?.value == 2048)
        #expect(guest.vcpus?.value == 2)
        #expect(guest.maxvcpus?.value == 4)
        #expect(guest.kernel?.value == "/boot/Image")
        #expect(guest.ramdisk?.value == "/boot/initrd.img")
        #expect(guest.deviceTree?.value == "partial.dtb")
        #expect(guest.bootargs == "root=/dev/vda console=hvc0")
        #expect(guest.gicVersion?.value == .v3)
        #expect(guest.vuart?.value == true)
        #expect(guest.tee?.value == .optee)
        #expect(guest.nrSpis?.value == 64)
        #expect(guest.irqs.map(\.value) == [40, 41])
        #expect(guest.iomem.map(\.value) == [
            IOMemRange(firstMachineFrame: 0xff0e0, frameCount: 1),
            IOMemRange(firstMachineFrame: 0xff0f0, frameCount: 2, firstGuestFrame: 0x3000),
        ])
        #expect(guest.dtdev.map(\.value) == ["/soc/ethernet@ff0e0000"])
        #expect(guest.pci.count == 2)
        // Values point at where they were written.
        #expect(guest.memoryMiB?.location.line == 3)
        #expect(guest.memoryMiB?.location.column == 10)
        #expect(guest.irqs.map(\.location.column) == [10, 14])
    }

    @Test(arguments: [
        ("pvh", GuestType.pvh, [String]()), ("pv", .pv, ["XL-TYPE-PV"]), ("p", .pv, ["XL-TYPE-PV"]),
        ("hvm", .hvm, []), ("h", .hvm, ["XL-TYPE-PREFIX"]), ("", .hvm, ["XL-TYPE-PREFIX"]),
    ])
    func typeMatchesByPrefix(_ written: String, _ expected: GuestType, _ findings: [String]) {
        let result = read("name = \"a\"\ntype = \"\(written)\"\n")
        #expect(result.guest?.type?.value == expected)
        #expect(rules(result) == findings)
    }

    @Test func badTypesAndContradictingBuilderAreRefused() {
        for text in ["type = \"pvhx\"\n", "type = \"PVH\"\n", "type = \"pvh\"\nbuilder = \"hvm\"\n"] {
            let result = read("name = \"a\"\n" + text)
            #expect(rules(result) == ["XL-INVALID-VALUE"], "\(text)")
            #expect(result.guest?.type == nil)
        }
        #expect(read("name = \"a\"\nbuilder = \"generic\"\n").guest?.type?.value == .pv)
    }

    @Test func vcpusFollowTheVersion() {
        let current = read("name = \"a\"\nvcpus = \"-1\"\n")
        #expect(rules(current) == ["XL-VCPUS-RAISED"])
        #expect(current.guest?.vcpus?.value == 1)
        // xl 4.21 and older fail to allocate a cpumap for a negative count.
        #expect(rules(read("name = \"a\"\nvcpus = \"-1\"\n", version: "4.21")) == ["XL-INVALID-VALUE"])
        #expect(read("name = \"a\"\nvcpus = 0\n", version: "4.21").guest?.vcpus?.value == 1)
    }

    @Test func maxvcpusDefaultsAndLimits() {
        #expect(read("name = \"a\"\nvcpus = 3\nmaxvcpus = 0\n").guest?.maxvcpus?.value == 3)
        #expect(read("name = \"a\"\nvcpus = 3\n").guest?.maxvcpus == nil)
        // xl keeps maxvcpus in an int: 0x100000000 truncates to 0 (the default), 0x100000001 to 1.
        #expect(read("name = \"a\"\nmaxvcpus = 0x100000000\nvcpus = 2\n").guest?.maxvcpus?.value == 2)
        #expect(rules(read("name = \"a\"\nmaxvcpus = 0x100000001\nvcpus = 2\n")) == ["XL-MAXVCPUS"])
        #expect(rules(read("name = \"a\"\nvcpus = 3\nmaxvcpus = \"-8\"\n")) == ["XL-MAXVCPUS"])
    }

    @Test func numbersAreReadWithStrtolBaseZero() {
        let cases: [(String, UInt64?, [String])] = [
            ("0x200", 0x200, []), ("\"512\"", 512, []), ("\" 64\"", 64, []), ("010", 8, ["XL-OCTAL"]),
            ("0", 0, []), ("08", nil, ["XL-NOT-A-NUMBER"]), ("12ab", nil, ["XL-NOT-A-NUMBER"]), ("\"\"", nil, ["XL-NOT-A-NUMBER"]),
            ("0x", nil, ["XL-NOT-A-NUMBER"]), ("99999999999999999999", nil, ["XL-NOT-A-NUMBER"]), ("\"-1\"", nil, ["XL-INVALID-VALUE"]),
        ]
        for (written, value, findings) in cases {
            let result = read("name = \"a\"\nmemory = \(written)\n")
            #expect(result.guest?.memoryMiB?.value == value, "\(written)")
            #expect(rules(result) == findings, "\(written)")
        }
    }

    @Test func cmdlineWinsOverRootAndExtra() throws {
        let result = read("name = \"a\"\nextra = \"quiet\"\ncmdline = \"console=hvc0\"\n")
        let warning = try #require(only(XLRules.cmdlineWins, in: result))
        #expect(warning.line == 2)
        #expect(warning.message.contains("`extra`"))
        #expect(result.guest?.bootargs == "console=hvc0")
    }

    @Test func enumeratedValuesAreCaseInsensitiveAndChecked() throws {
        #expect(read("name = \"a\"\ngic_version = \"Default\"\n").guest?.gicVersion?.value == .hostDefault)
        #expect(read("name = \"a\"\nvuart = \"unknown\"\n").guest?.vuart?.value == false)
        let typo = try #require(only(XLRules.invalidValue, in: read("name = \"a\"\nvuart = \"sbsa-uart\"\n")))
        #expect(typo.hint?.contains("sbsa_uart") == true)
        #expect(read("name = \"a\"\ntee = \"ffa\"\n").guest?.tee?.value == .ffa)
        // xl 4.17 knows no FF-A.
        let old = read("name = \"a\"\ntee = \"ffa\"\n", version: "4.17")
        #expect(rules(old) == ["XL-INVALID-VALUE"])
        #expect(old.diagnostics.first?.hint?.contains("4.18") == true)
    }

    @Test func acpiOnIsRefused() {
        #expect(rules(read("name = \"a\"\nacpi = 0x1\n")) == ["XL-ACPI"])
        #expect(rules(read("name = \"a\"\nacpi = 0\n")).isEmpty)
    }

    @Test func versionGatesKeys() {
        let virtio = "name = \"a\"\nvirtio = [ 'type=virtio,device22, transport=mmio' ]\nnr_spis = 40\n"
        let old = read(virtio, version: "4.17")
        #expect(rules(old) == ["XL-VERSION-KEY", "XL-VERSION-KEY"])
        #expect(old.guest?.virtioDevices.isEmpty == true)
        #expect(old.guest?.nrSpis == nil)
        let middle = read(virtio, version: "4.18")
        #expect(rules(middle) == ["XL-VERSION-KEY"])
        #expect(middle.guest?.virtioDevices.count == 1)
        #expect(rules(read(virtio, version: "4.19")).isEmpty)
    }

    @Test func unknownKeysSuggestTheClosestKnownKey() throws {
        let result = read("name = \"a\"\ngic_verison = \"v3\"\nfrobnicate = 1\n")
        #expect(rules(result) == ["XL-UNKNOWN-KEY", "XL-UNKNOWN-KEY"])
        #expect(result.diagnostics[0].hint == "did you mean `gic_version`?")
        #expect(result.diagnostics[1].hint?.contains("did you mean") == false)
        // Keys xl reads but that do not shape the tree are accepted silently.
        #expect(rules(read("name = \"a\"\non_reboot = \"restart\"\nvif = [ 'bridge=xenbr0' ]\n")).isEmpty)
    }

    @Test func wrongShapesAreIgnoredWithAWarning() {
        let result = read("name = \"a\"\nmemory = [ 512 ]\nirqs = 40\n")
        #expect(rules(result) == ["XL-NOT-SINGLE", "XL-NOT-A-LIST"])
        #expect(result.guest?.memoryMiB == nil)
        #expect(result.guest?.irqs.isEmpty == true)
        #expect(rules(read("name = [ \"a\" ]\n")) == ["XL-NAME-MISSING"])
    }

    @Test func passthroughValuesXlRefuses() {
        let cases = [
            "irqs = [ \"0x20\" ]", "irqs = [ \"-1\" ]", "irqs = [ 4294967295 ]", "irqs = [ [ 40 ] ]",
            "iomem = [ \"100\" ]", "iomem = [ \"100,2@\" ]", "iomem = [ \"100,2 \" ]",
            "pci = [ \"01:00\" ]", "pci = [ \"01:20.0\" ]", "pci = [ \"01:00.8\" ]", "pci = [ \"01:00.0,bogus=1\" ]",
            "pci = [ \"01:00.0,name=x\" ]", "pci = [ \"01:00.0@20\" ]",
        ]
        for text in cases {
            #expect(rules(read("name = \"a\"\n" + text + "\n")) == ["XL-INVALID-VALUE"], "\(text)")
        }
        let accepted = read("name = \"a\"\nirqs = [ \" 40\", \"+41\" ]\npci = [ \"name=gpu0\", \"bdf=01:00.1,rdm_policy=relaxed\" ]\n")
        #expect(accepted.diagnostics.isEmpty)
        #expect(accepted.guest?.irqs.map(\.value) == [40, 41])
    }
}
