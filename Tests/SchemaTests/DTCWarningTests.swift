import Testing
import TestSupport

/// `dtc -I dtb -O dts` with dtc's default checks on every blob grantdt
/// produces: no warning beyond the waivers, and every waiver still needed.
@Suite struct DTCWarningTests {
    /// One `Warning (check): /path[:property]: text` line of dtc.
    struct Warning: Hashable, CustomStringConvertible {
        let check: String
        let node: String
        let line: String
        var description: String { line }

        /// dtc prints `FILE: Warning (check): /path: text`; DTB input has
        /// no source positions, so FILE is the output name.
        init?(_ line: Substring) {
            guard let open = line.range(of: "Warning ("), let close = line[open.upperBound...].range(of: "): ") else {
                return nil
            }
            check = String(line[open.upperBound..<close.lowerBound])
            let rest = line[close.upperBound...]
            node = String(rest.prefix { $0 != ":" })
            self.line = String(line)
        }
    }

    static func warnings(_ blob: [UInt8]) throws -> [Warning] {
        let result = try Tool.dtc(["-I", "dtb", "-O", "dts", "-o", "/dev/null", "-"], stdin: blob)
        #expect(result.status == 0, "dtc refused the blob: \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        // Anything dtc prints that is not a parsable warning is a failure too.
        let unparsed = lines.filter { Warning($0) == nil }
        #expect(unparsed.isEmpty, "dtc said: \(unparsed)")
        return lines.compactMap(Warning.init)
    }

    @Test(arguments: try GuestBlobs.all())
    func onlyWaivedWarnings(blob: GuestBlobs.Blob) throws {
        let unwaived = try Self.warnings(blob.bytes).filter { warning in
            !Waiver.dtc.contains { $0.covers(check: warning.check, node: warning.node) }
        }
        #expect(unwaived.isEmpty, "\(blob.name): \(unwaived)")
    }

    /// A waiver that no produced blob needs any more must go.
    @Test func everyWaiverIsNeeded() throws {
        let warnings = try GuestBlobs.all().flatMap { try Self.warnings($0.bytes) }
        for waiver in Waiver.dtc {
            #expect(warnings.contains { waiver.covers(check: $0.check, node: $0.node) }, "unused waiver: \(waiver)")
        }
    }

    @Test func warningLinesParse() throws {
        let warning = try #require(Warning("<stdout>: Warning (interrupt_provider): /virtio@2000400/gpio: Missing #address-cells in interrupt provider"))
        #expect(warning.check == "interrupt_provider")
        #expect(warning.node == "/virtio@2000400/gpio")
        #expect(Waiver.dtc.contains { $0.covers(check: warning.check, node: warning.node) })
        #expect(!Waiver.dtc.contains { $0.covers(check: warning.check, node: "/virtio@2000400/i2c") })
        #expect(!Waiver.dtc.contains { $0.covers(check: "unit_address_vs_reg", node: "/hypervisor/child") })
    }

    /// dt-validate waivers name the schema by its id's end and one property.
    @Test func schemaWaiversAreNarrow() {
        func finding(_ schema: String, _ node: String, _ property: String) -> DTValidate.Finding {
            DTValidate.Finding(file: "g.dtb", node: node, propertyPath: [property, "0"], schema: schema, message: "m")
        }
        let simpleBus = "http://devicetree.org/schemas/simple-bus.yaml"
        #expect(Waiver.dtValidate.contains { $0.covers(finding(simpleBus, "/passthrough", "$nodename")) })
        #expect(!Waiver.dtValidate.contains { $0.covers(finding(simpleBus, "/passthrough", "ranges")) })
        #expect(!Waiver.dtValidate.contains { $0.covers(finding(simpleBus, "/passthrough/bus", "$nodename")) })
        #expect(!Waiver.dtValidate.contains { $0.covers(finding(simpleBus + "2", "/passthrough", "$nodename")) })
    }
}
