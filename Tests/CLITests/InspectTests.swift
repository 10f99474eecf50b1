import Foundation
import Testing
import TestSupport

/// `grantdt inspect`: the device table, the JSON contract, `--rid`, and
/// the exit codes (0 clean or warnings, 1 errors, 2 unreadable or usage).
@Suite struct InspectTests {
    /// A libxl-shaped guest: a granted disk, a bounce-buffered device, a
    /// dom0 device without grants and a disabled one.
    static let guest = """
        /dts-v1/;
        / {
            #address-cells = <2>;
            #size-cells = <2>;
            interrupt-parent = <&gic>;
            gic: interrupt-controller@3001000 {
                compatible = "arm,gic-v3";
                #interrupt-cells = <3>;
                #address-cells = <0>;
                interrupt-controller;
                reg = <0 0x3001000 0 0x10000>, <0 0x3020000 0 0x1000000>;
                phandle = <0xfde8>;
            };
            reserved-memory {
                #address-cells = <2>;
                #size-cells = <2>;
                ranges;
                pool: restricted@50000000 {
                    compatible = "restricted-dma-pool";
                    reg = <0 0x50000000 0 0x400000>;
                };
            };
            virtio@2000000 {
                compatible = "virtio,mmio";
                reg = <0 0x2000000 0 0x200>;
                interrupts = <0 1 0xf01>;
                dma-coherent;
                iommus = <&xen_iommu 1>;
            };
            virtio@2000200 {
                compatible = "virtio,mmio";
                reg = <0 0x2000200 0 0x200>;
                interrupts = <0 2 0xf01>;
                memory-region = <&pool>;
            };
            virtio@2000400 {
                compatible = "virtio,mmio";
                reg = <0 0x2000400 0 0x200>;
                interrupts = <0 3 0xf01>;
            };
            virtio@2000600 {
                compatible = "virtio,mmio";
                reg = <0 0x2000600 0 0x200>;
                interrupts = <0 4 0xf01>;
                status = "disabled";
            };
            pcie@10000000 {
                compatible = "pci-host-ecam-generic";
                device_type = "pci";
                reg = <0 0x10000000 0 0x10000000>;
                bus-range = <0 255>;
                #address-cells = <3>;
                #size-cells = <2>;
                ranges = <0x2000000 0 0x23000000 0 0x23000000 0 0x10000000>;
                iommu-map-mask = <0xfff8>;
                iommu-map = <0x8 &xen_iommu 2 1>;
            };
            xen_iommu: xen_iommu {
                compatible = "xen,grant-dma";
                #iommu-cells = <1>;
                phandle = <0xfde9>;
            };
        };
        """

    /// The guest with one error (a dangling iommus phandle) and one
    /// warning (a second iommus entry).
    static let broken = guest
        .replacingOccurrences(of: "iommus = <&xen_iommu 1>;", with: "iommus = <&xen_iommu 1>, <&xen_iommu 2>;")
        .replacingOccurrences(of: "memory-region = <&pool>;", with: "iommus = <0x4242 1>;")

    private func write(_ source: String, _ directory: TemporaryDirectory, name: String = "guest.dtb") throws -> String {
        try directory.write(name, DTC.compile(source).blob)
    }

    @Test func textTable() throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["inspect", try write(Self.guest, directory)])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        #expect(result.stdoutText == """
            DEVICE           BASE       SIZE   SPI  DMA       BACKEND
            /virtio@2000000  0x2000000  0x200  33   grant     1
            /virtio@2000200  0x2000200  0x200  34   bounce    /reserved-memory/restricted@50000000 (0x50000000+0x400000)
            /virtio@2000400  0x2000400  0x200  35   direct    -
            /virtio@2000600  0x2000600  0x200  36   disabled  -

            PCI HOST BRIDGE  RIDS  MASK    DMA    BACKEND
            /pcie@10000000   0x8   0xfff8  grant  2

            """)
    }

    @Test func jsonContract() throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["inspect", try write(Self.guest, directory), "--json"])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
        #expect(Set(root.keys) == ["devices", "pci", "diagnostics"])
        let devices = try #require(root["devices"] as? [[String: Any]])
        let keys: Set = ["path", "status", "base", "size", "spi", "dma", "backend", "pool", "pool_base", "pool_size"]
        #expect(devices.allSatisfy { Set($0.keys) == keys })
        #expect(devices.map { $0["path"] as? String } == ["/virtio@2000000", "/virtio@2000200", "/virtio@2000400", "/virtio@2000600"])
        #expect(devices.map { $0["status"] as? String } == ["okay", "okay", "okay", "disabled"])
        #expect(devices.map { $0["dma"] as? String } == ["grant", "bounce", "direct", nil])
        #expect(devices.map { $0["backend"] as? Int } == [1, nil, nil, nil])
        #expect(devices.map { $0["spi"] as? Int } == [33, 34, 35, 36])
        #expect(devices[0]["base"] as? Int == 0x2000000 && devices[0]["size"] as? Int == 0x200)
        #expect(devices[1]["pool"] as? String == "/reserved-memory/restricted@50000000")
        #expect(devices[1]["pool_base"] as? Int == 0x5000_0000 && devices[1]["pool_size"] as? Int == 0x40_0000)
        #expect(devices[0]["pool"] is NSNull && devices[3]["dma"] is NSNull && devices[3]["backend"] is NSNull)
        let pci = try #require(root["pci"] as? [[String: Any]])
        #expect(pci.count == 1 && Set(pci[0].keys) == ["path", "map"])
        let rows = try #require(pci[0]["map"] as? [[String: Any]])
        #expect(rows.count == 1 && Set(rows[0].keys) == ["rid_base", "length", "out_base", "dma", "backend"])
        #expect(rows[0]["rid_base"] as? Int == 8 && rows[0]["out_base"] as? Int == 2 && rows[0]["backend"] as? Int == 2)
        #expect((root["diagnostics"] as? [Any])?.isEmpty == true)
        // Numbers are JSON numbers, in the documented key order.
        #expect(result.stdoutText.contains("""
                  "path": "/virtio@2000000",
                  "status": "okay",
                  "base": 33554432,
                  "size": 512,
                  "spi": 33,
                  "dma": "grant",
                  "backend": 1,
                  "pool": null,
                  "pool_base": null,
                  "pool_size": null
            """))
    }

    @Test func errorsExitOneWithDiagnosticsOnStderr() throws {
        let directory = try TemporaryDirectory()
        let input = try write(Self.broken, directory)
        let result = try Tool.grantdt(["inspect", input])
        #expect(result.status == 1)
        #expect(result.stdoutText.hasPrefix("DEVICE "))
        #expect(result.stdoutText.contains("/virtio@2000200  0x2000200  0x200  34   direct"))
        #expect(result.stderr.contains("\(input): warning[DT-IOMMUS-EXTRA]: /virtio@2000000: "))
        #expect(result.stderr.contains("\(input): error[DT-IOMMUS-DANGLING]: /virtio@2000200: iommus phandle 0x4242 matches no node"))
        #expect(!result.stdoutText.contains("DT-"))
    }

    @Test func errorsExitOneWithDiagnosticsInJSON() throws {
        let directory = try TemporaryDirectory()
        let input = try write(Self.broken, directory)
        let result = try Tool.grantdt(["inspect", "--json", input])
        #expect(result.status == 1)
        #expect(result.stderr.isEmpty)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
        let diagnostics = try #require(root["diagnostics"] as? [[String: Any]])
        #expect(diagnostics.map { $0["rule"] as? String } == ["DT-IOMMUS-EXTRA", "DT-IOMMUS-DANGLING"])
        #expect(diagnostics.allSatisfy { Set($0.keys) == ["severity", "rule", "message", "file", "line", "column", "node", "hint"] })
        #expect(diagnostics.map { $0["severity"] as? String } == ["warning", "error"])
        #expect(diagnostics[1]["file"] as? String == input && diagnostics[1]["line"] is NSNull && diagnostics[1]["node"] as? String == "/virtio@2000200")
    }

    @Test func warningsAloneExitZero() throws {
        let directory = try TemporaryDirectory()
        let source = Self.guest.replacingOccurrences(of: "iommus = <&xen_iommu 1>;", with: "iommus = <&xen_iommu 1>, <&xen_iommu 2>;")
        let result = try Tool.grantdt(["inspect", try write(source, directory)])
        #expect(result.status == 0)
        #expect(result.stderr.contains("warning[DT-IOMMUS-EXTRA]"))
    }

    // MARK: --rid

    @Test(arguments: [("00:01.5", "grant, backend 2"), ("0x0008", "grant, backend 2"), ("00:02.0", "direct")])
    func ridText(rid: String, outcome: String) throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["inspect", "--rid", rid, try write(Self.guest, directory)])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        #expect(result.stdoutText.contains("via /pcie@10000000: \(outcome)"))
        #expect(result.stdoutText.filter { $0 == "\n" }.count == 1)
    }

    @Test func ridJSON() throws {
        let directory = try TemporaryDirectory()
        let input = try write(Self.guest, directory)
        let granted = try Tool.grantdt(["inspect", "--rid", "00:01.3", "--bridge", "/pcie@10000000", "--json", input])
        #expect(granted.status == 0)
        #expect(granted.stdoutText == """
            {
              "rid": 11,
              "bridge": "/pcie@10000000",
              "dma": "grant",
              "backend": 2
            }

            """)
        let direct = try Tool.grantdt(["inspect", "--rid", "00:03.0", "--json", input])
        #expect(direct.stdoutText.contains("\"dma\": \"direct\",\n  \"backend\": null\n"))
    }

    @Test func ridDiagnosticsConcernTheBridgeOnly() throws {
        let directory = try TemporaryDirectory()
        // A malformed map on the bridge, and an unrelated device error.
        let source = Self.broken.replacingOccurrences(of: "iommu-map = <0x8 &xen_iommu 2 1>;", with: "iommu-map = <0x9 &xen_iommu 2 1>;")
        let result = try Tool.grantdt(["inspect", "--rid", "00:01.0", try write(source, directory)])
        #expect(result.status == 1)
        #expect(result.stdoutText.contains("direct: the lookup fails at iommu-map row 0"))
        #expect(result.stderr.contains("error[DT-IOMMU-MAP-MALFORMED]: /pcie@10000000"))
        #expect(!result.stderr.contains("DT-IOMMUS-DANGLING"))
    }

    @Test func severalBridgesNeedBridge() throws {
        let directory = try TemporaryDirectory()
        let input = Paths.inPackage("Tests/VirtioRuntimeTests/Fixtures/pci-iommu-map.dts")
        let blob = try Tool.dtc(["-q", "-I", "dts", "-O", "dtb", "-o", directory.file("two.dtb"), input])
        #expect(blob.status == 0)
        let ambiguous = try Tool.grantdt(["inspect", "--rid", "00:01.0", directory.file("two.dtb")])
        #expect(ambiguous.status == 2)
        #expect(ambiguous.stdout.isEmpty)
        #expect(ambiguous.stderr.contains("choose one with --bridge: /pcie@10000000, /pcie@30000000"))
        let chosen = try Tool.grantdt(["inspect", "--rid", "00:01.1", "--bridge", "/pcie@10000000", directory.file("two.dtb")])
        #expect(chosen.status == 0)
        #expect(chosen.stdoutText.hasPrefix("00:01.1 (0x0009) via /pcie@10000000: grant, backend 5"))
    }

    @Test(arguments: [
        (["--rid", "00:20.0"], "invalid requester ID '00:20.0'"),
        (["--rid", "banana"], "invalid requester ID"),
        (["--bridge", "/pcie@10000000"], "--bridge needs --rid"),
        (["--rid", "00:01.0", "--bridge", "/nope"], "/nope is not an enabled PCI host bridge"),
    ])
    func ridUsageErrorsExitTwo(arguments: [String], message: String) throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["inspect"] + arguments + [try write(Self.guest, directory)])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("grantdt: error: "))
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test func ridWithoutAnyBridge() throws {
        let directory = try TemporaryDirectory()
        let source = Self.guest.replacingOccurrences(of: "compatible = \"pci-host-ecam-generic\";\n", with: "")
            .replacingOccurrences(of: "device_type = \"pci\";", with: "")
        let result = try Tool.grantdt(["inspect", "--rid", "0x8", try write(source, directory)])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no enabled PCI host bridge"))
    }

    // MARK: Unreadable input

    @Test func truncatedBlobsExitTwo() throws {
        let directory = try TemporaryDirectory()
        let blob = try DTC.compile(Self.guest).blob
        for length in stride(from: 0, to: blob.count, by: max(blob.count / 24, 1)) {
            let input = try directory.write("cut.dtb", Array(blob.prefix(length)))
            for json in [[], ["--json"]] {
                let result = try Tool.grantdt(["inspect", input] + json)
                #expect(result.status == 2, "length \(length)")
                #expect(result.stdout.isEmpty)
                #expect(result.stderr.hasPrefix("grantdt: error: \(input): "))
                #expect(result.stderr.filter { $0 == "\n" }.count == 1)
            }
        }
    }

    @Test func corruptBlobsNeverCrash() throws {
        let directory = try TemporaryDirectory()
        let blob = try DTC.compile(Self.guest).blob
        var state: UInt64 = 0x1234_5678
        for round in 0..<60 {
            var bytes = blob
            for _ in 0..<3 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes[Int(state >> 33) % bytes.count] ^= UInt8(truncatingIfNeeded: state >> 7) | 1
            }
            let input = try directory.write("flip\(round).dtb", bytes)
            let result = try Tool.grantdt(["inspect", "--json", input])
            #expect([0, 1, 2].contains(result.status), "round \(round): status \(result.status) \(result.stderr)")
            if result.status == 2 {
                #expect(result.stdout.isEmpty)
            } else {
                #expect((try? JSONSerialization.jsonObject(with: Data(result.stdout))) != nil, "round \(round)")
            }
        }
    }

    @Test func unreadableAndForeignInputs() throws {
        let directory = try TemporaryDirectory()
        let text = try directory.write("text.dtb", String(repeating: "not a blob. ", count: 8))
        for path in [directory.file("missing.dtb"), directory.path, text] {
            let result = try Tool.grantdt(["inspect", path])
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.filter { $0 == "\n" }.count == 1)
        }
    }

    @Test func listedInHelp() throws {
        let result = try Tool.grantdt(["--help"])
        #expect(result.stdoutText.contains("inspect"))
        let own = try Tool.grantdt(["inspect", "--help"])
        #expect(own.status == 0)
        #expect(own.stdoutText.contains("--rid") && own.stdoutText.contains("--bridge") && own.stdoutText.contains("--json"))
    }
}
