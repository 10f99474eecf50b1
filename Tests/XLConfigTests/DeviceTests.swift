import Diagnostics
import Testing
import XLConfig

/// `disk=` (§10.3) and `virtio=` (§10.2) specs, and their backends (§6).
@Suite struct DeviceTests {
    private func disks(_ specs: String, version: String = "4.22", domains: String? = nil) -> XLReadResult {
        read("name = \"guest\"\ndisk = [ \(specs) ]\n", version: version, domains: domains)
    }

    private func virtio(_ specs: String, domains: String? = nil) -> XLReadResult {
        read("name = \"guest\"\nvirtio = [ \(specs) ]\n", domains: domains)
    }

    @Test func virtioDisksAreKeptInOrderAndXenDisksAreNot() throws {
        let result = disks("""
            'backend=2, specification=virtio, vdev=xvda, target=/dev/vg/a',
            'phy:/dev/vg/b,xvdb,w',
            'specification=virtio, vdev=xvdc, grant_usage=1, target=/dev/vg/c,with,commas'
            """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(DiagnosticText.render))")
        let disks = try #require(result.guest?.virtioDisks)
        #expect(disks.map(\.vdev) == ["xvda", "xvdc"])
        #expect(disks.map(\.target) == ["/dev/vg/a", "/dev/vg/c,with,commas"])
        #expect(disks.map { $0.backend?.value.domid } == [2, nil])
        #expect(disks.map(\.usesGrants) == [true, true])
        #expect(disks[0].backend?.location.column == 19)
        #expect(disks[1].grantUsage?.location.column == 35)
        #expect(disks.map(\.location.line) == [2, 4])
    }

    @Test func diskGrantUsageExistsFrom419() throws {
        let spec = "'vdev=xvda, specification=virtio, grant_usage=0, target=/x'"
        #expect(disks(spec, version: "4.19").guest?.virtioDisks.first?.usesGrants == false)
        let old = disks(spec, version: "4.18")
        let error = try #require(only(XLRules.diskSpec, in: old))
        #expect(error.column == 44)
        #expect(error.message.contains("4.18"))
        #expect(old.guest?.virtioDisks.isEmpty == true)
        // A word is no 1 or 0: xl's lexer takes `grant_usage` as a positional value, then chokes on `=`.
        #expect(only(XLRules.diskSpec, in: disks("'vdev=xvda, grant_usage=true, target=/x'"))?.message.contains("only 1 or 0") == true)
    }

    @Test(arguments: [
        ("'target=/x'", "no vdev specified", 11),
        ("'vdev=xvda'", "no target", 11),
        ("'vdev=xvda, bogus=1, target=/x'", "unknown disk parameter `bogus=`", 22),
        ("'vdev=xvda, Bogus=1, target=/x'", "unknown disk parameter `Bogus=`", 22),
        ("'vdev=xvda, format=zip, target=/x'", "unknown format", 29),
        ("'vdev=xvda, specification=pv, target=/x'", "unknown specification", 36),
        ("'vdev=xvda, backendtype=nbd, target=/x'", "unknown backendtype", 34),
        ("'vdev=xvda, access=rx, target=/x'", "unknown access", 29),
        ("'vdev=xvda, devtype=floppy, target=/x'", "unknown devtype", 30),
        ("'vdev=xvda, vdev=xvdb, target=/x'", "vdev given twice", 27),
        ("'vdev=xvda, foo:/x'", "unknown deprecated disk prefix", 22),
        ("'/x, raw, xvda, rw, more'", "too many positional", 30),
        ("'vdev=xvda, /a, b=, c'", "unknown disk parameter `b=`", 26),
        ("'vdev=xvda, target=/x', 'vdev=xvda, =x, target=/a'", "bad disk syntax", 46),
    ])
    func diskSpecErrorsPointIntoTheString(_ spec: String, _ message: String, _ column: Int) throws {
        let result = disks(spec)
        let error = try #require(result.diagnostics.first { $0.rule == XLRules.diskSpec.id }, "\(rules(result))")
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.line == 2)
        #expect(error.column == column)
        #expect(result.guest?.virtioDisks.isEmpty == true)
    }

    @Test func targetTakesTheRestOfTheSpec() throws {
        let result = disks("'vdev=xvda, target=/dev/vg/guest, specification=virtio'")
        #expect(rules(result) == ["XL-DISK-TARGET-REST"])
        // The disk is a xen disk: no virtio node.
        #expect(result.guest?.virtioDisks.isEmpty == true)
        let eaten = disks("'specification=virtio, target=/x, vdev=xvda'")
        #expect(rules(eaten) == ["XL-DISK-SPEC"])
        #expect(eaten.diagnostics.first?.message.contains("target= took `vdev=xvda`") == true)
    }

    @Test func virtioDisksNeedTheStandaloneBackend() {
        for spec in ["'backendtype=qdisk, specification=virtio, vdev=xvda, target=/x'",
                     "'format=qcow2, specification=virtio, vdev=xvda, target=/x'",
                     "'script=block-drbd, specification=virtio, vdev=xvda, target=/x'",
                     "'colo, specification=virtio, vdev=xvda, target=/x'",
                     "'specification=virtio, vdev=xvda, devtype=cdrom'",
                     "'backendtype=standalone, vdev=xvda, target=/x'"] {
            #expect(rules(disks(spec)) == ["XL-DISK-BACKEND"], "\(spec)")
        }
        #expect(rules(disks("'backendtype=standalone, format=raw, specification=virtio, vdev=xvda, target=/x'")).isEmpty)
    }

    @Test func virtioSpecsAreTokenizedLikeStrtok() throws {
        let result = virtio("""
            'backend=1,,type=virtio,device22,transport=MMIO,',
            '  type=virtio,,device29, transport=mmio, grant_usage=0x1',
            'transport=mmio, type=virtio,device1a, backend=2, backend=3'
            """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(DiagnosticText.render))")
        let devices = try #require(result.guest?.virtioDevices)
        #expect(devices.map(\.type?.value) == ["virtio,device22", "virtio,device29", "virtio,device1a"])
        #expect(devices.map(\.hasMMIONode) == [true, true, true])
        #expect(devices.map { $0.backend?.value.domid } == [1, nil, 3])
        #expect(devices.map(\.usesGrants) == [true, true, true])
        #expect(devices[1].type?.location.column == 9)
    }

    @Test func virtioTraps() throws {
        // With a node, the glued type is the layout's to refuse (GUEST-VIRTIO-TYPE-INVALID).
        let glued = virtio("'backend=1, type=virtio, device22, transport=mmio'")
        #expect(rules(glued).isEmpty)
        #expect(glued.guest?.virtioDevices.first?.type?.value == "virtio, device22")
        // Without one, nothing else would: two problems, two findings.
        let gluedNoNode = virtio("'backend=1, type=virtio, device22'")
        #expect(rules(gluedNoNode) == ["XL-VIRTIO-NO-TRANSPORT", "XL-VIRTIO-TYPE-GLUE"])
        let swallowed = virtio("'type=virtiofs, transport=mmio'")
        #expect(rules(swallowed) == ["XL-VIRTIO-TYPE-GLUE"])
        #expect(swallowed.guest?.virtioDevices.first?.hasMMIONode == false)
        let unknownTransport = virtio("'type=virtio,device22, transport=unknown'")
        #expect(rules(unknownTransport) == ["XL-VIRTIO-NO-TRANSPORT"])
        #expect(unknownTransport.diagnostics.first?.column == 45)
        for spec in ["'type=virtio,device22, transport=pci'", "'Backend=1'", "'type=virtio,device22, ,transport=mmio'"] {
            let refused = virtio(spec)
            #expect(rules(refused) == ["XL-VIRTIO-SPEC"], "\(spec)")
            #expect(refused.guest?.virtioDevices.isEmpty == true)
        }
        #expect(virtio("'Backend=1'").diagnostics.first?.hint == "did you mean `backend=`?")
    }

    @Test func grantUsageIsReadWithStrtoul() {
        let cases: [(String, UInt64, [String])] = [
            ("1", 1, []), ("0x1", 1, []), ("0", 0, []), ("010", 8, []), (" 1", 1, []),
            ("true", 0, ["XL-VIRTIO-GRANT-USAGE"]), ("yes", 0, ["XL-VIRTIO-GRANT-USAGE"]), ("1x", 1, ["XL-VIRTIO-GRANT-USAGE"]),
        ]
        for (written, value, findings) in cases {
            let result = virtio("'backend=2, type=virtio,device22, transport=mmio, grant_usage=\(written)'")
            #expect(result.guest?.virtioDevices.first?.grantUsage?.value == value, "\(written)")
            #expect(rules(result) == findings, "\(written)")
        }
    }

    @Test func backendsResolveLikeLibxl() throws {
        let numeric = virtio("'backend=, type=virtio,device22, transport=mmio', 'backend=007, type=virtio,device29, transport=mmio'")
        #expect(numeric.guest?.virtioDevices.map { $0.backend?.value } == [Backend(domid: 0), Backend(domid: 7)])
        let hex = try #require(only(XLRules.backendName, in: virtio("'backend=0x1, type=virtio,device22, transport=mmio'")))
        #expect(hex.hint?.contains("backend=1") == true)
        let spaced = try #require(only(XLRules.backendName, in: virtio("'backend=1 , type=virtio,device22, transport=mmio'")))
        #expect(spaced.hint?.contains("write backend=1") == true)
        let unnamed = try #require(only(XLRules.backendName, in: virtio("'backend=storage, type=virtio,device22, transport=mmio'")))
        #expect(unnamed.hint?.contains("--domains FILE") == true)

        let domains = "storage 2\n# a comment\nnet.be-1 3 # trailing\n"
        let named = virtio("'backend=storage, type=virtio,device22, transport=mmio', 'backend=Domain-0, type=virtio,device29, transport=mmio'",
                           domains: domains)
        #expect(named.diagnostics.isEmpty)
        #expect(named.guest?.virtioDevices.map { $0.backend?.value } == [Backend(domid: 2, name: "storage"), Backend(domid: 0, name: "Domain-0")])
        let typo = try #require(only(XLRules.backendName, in: virtio("'backend=storag, type=virtio,device22, transport=mmio'", domains: domains)))
        #expect(typo.message.contains("domains.txt"))
        #expect(typo.hint == "did you mean `storage`?")
    }

    @Test func backendChecksAcrossDevices() throws {
        let reserved = disks("'backend=32752, specification=virtio, vdev=xvda, target=/x'")
        #expect(rules(reserved) == ["XL-BACKEND-RANGE"])
        #expect(reserved.guest?.virtioDisks.first?.backend?.value.domid == 0x7FF0)
        #expect(rules(disks("'backend=32751, specification=virtio, vdev=xvda, target=/x'")).isEmpty)

        let own = disks("'backend=5, specification=virtio, vdev=xvda, target=/x'", domains: "guest 5\n")
        #expect(rules(own) == ["XL-SELF-BACKEND"])
        #expect(rules(disks("'backend=5, specification=virtio, vdev=xvda, target=/x'", domains: "other 5\n")).isEmpty)

        let mixed = read("""
            name = "guest"
            disk = [ 'backend=2, specification=virtio, vdev=xvda, target=/x',
                     'backend=2, specification=virtio, vdev=xvdb, grant_usage=0, target=/y' ]
            virtio = [ 'backend=2, type=virtio,device22, transport=mmio, grant_usage=0' ]
            """)
        let warning = try #require(only(XLRules.mixedGrants, in: mixed))
        #expect(warning.line == 3)
        #expect(warning.message.contains("line 2"))
        // A device without a node does not count.
        let noNode = virtio("'backend=2, type=virtio,device22, transport=mmio', 'backend=2, type=virtio,device29, grant_usage=0'")
        #expect(rules(noNode) == ["XL-VIRTIO-NO-TRANSPORT"])
    }

    @Test func nestedListsEndDeviceLists() throws {
        let result = read("name = \"g\"\ndisk = [ 'vdev=xvda, specification=virtio, target=/x', [ 'y' ], 'vdev=xvdb, specification=virtio, target=/z' ]\n")
        let warning = try #require(only(XLRules.nestedList, in: result))
        #expect(warning.message.contains("this entry and the 1 after it"))
        #expect(result.guest?.virtioDisks.map(\.vdev) == ["xvda"])
    }
}
