import DeviceTree
import Foundation
import GuestLayout
import Testing
import TestSupport
import XLConfig

@Suite struct LayoutOptionsTests {
    @Test func documentedDefaults() {
        let options = LayoutOptions()
        #expect(options.xenVersion == XenVersion(major: 4, minor: 22))
        #expect(options.gpaddrBits == 40)
        #expect(options.hostGIC == .v3)
        #expect(options.timerFrequency == nil)
        #expect(options.rngSeed == nil)
        #expect(options.arch == nil)
        #expect(options.kernelSize == 32 << 20)
        #expect(options.ramdiskSize == nil)
        #expect(LayoutOptions.gpaddrBitsRange == 32...64)
    }

    @Test func rngSeedIsExactly256HexDigits() {
        let text = (0..<128).map { String(format2($0)) }.joined()
        #expect(RNGSeed.parse(text) == (0..<128).map(UInt8.init))
        #expect(RNGSeed.parse(text.uppercased()) == (0..<128).map(UInt8.init))
        #expect(RNGSeed.parse(String(text.dropLast())) == nil)
        #expect(RNGSeed.parse(text + "0") == nil)
        #expect(RNGSeed.parse(String(text.dropLast()) + "g") == nil)
        #expect(RNGSeed.parse("") == nil)
    }

    @Test func randomSeedsAre128BytesAndDiffer() throws {
        let first = try RNGSeed.random(), second = try RNGSeed.random()
        #expect(first.count == 128 && second.count == 128 && first != second)
    }

    private func format2(_ value: Int) -> String {
        value < 16 ? "0" + String(value, radix: 16) : String(value, radix: 16)
    }

    @Test func sameInputSameBytesAndNoSeedByDefault() throws {
        var guest = Guests.minimal()
        guest.virtioDisks = [Guests.disk(backend: 1)]
        let first = try #require(GuestLayoutBuilder.build(guest, inputs: Guests.inputs, options: Guests.options()).tree)
        let second = try #require(GuestLayoutBuilder.build(guest, inputs: Guests.inputs, options: Guests.options()).tree)
        #expect(try DTBWriter.write(first) == DTBWriter.write(second))
        #expect(first.node(at: "/chosen")?[property: "rng-seed"] == nil)
    }

    @Test func gicVersionDefaultFollowsTheHost() throws {
        func compatible(_ setting: GICVersion?, host: HostGIC) throws -> [String]? {
            var guest = Guests.minimal()
            guest.gicVersion = setting.map { Guests.located($0, line: 4) }
            let options = Guests.options { $0.hostGIC = host }
            let tree = try #require(GuestLayoutBuilder.build(guest, inputs: Guests.inputs, options: options).tree)
            return tree.node(at: "/interrupt-controller@3001000")?[property: "compatible"]?.strings
        }
        let v2 = ["arm,cortex-a15-gic", "arm,cortex-a9-gic"], v3 = ["arm,gic-v3"]
        #expect(try compatible(nil, host: .v2) == v2)
        #expect(try compatible(.hostDefault, host: .v2) == v2)
        #expect(try compatible(.hostDefault, host: .v3) == v3)
        #expect(try compatible(.v3, host: .v2) == v3)
        #expect(try compatible(.v2, host: .v3) == v2)
    }

    @Test func maxvcpusUpTo128WithGICv3() throws {
        var guest = Guests.minimal(vcpus: 2)
        guest.maxvcpus = Guests.located(128, line: 4)
        let tree = try #require(GuestLayoutBuilder.build(guest, inputs: Guests.inputs, options: Guests.options()).tree)
        let cpus = try #require(tree.node(at: "/cpus")).children
        #expect(cpus.count == 128)
        #expect(cpus.last?.name == "cpu@70f" && cpus.last?[property: "reg"]?.u32 == 0x70f)
        guest.maxvcpus = Guests.located(129, line: 4)
        #expect(GuestLayoutBuilder.build(guest, inputs: Guests.inputs, options: Guests.options()).diagnostics.map(\.rule) == ["GUEST-VCPUS-GIC"])
    }

    @Test func templateFilesAreReadOrRefused() throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("t.layout", String(contentsOfFile: Paths.inPackage("templates/libxl-arm.layout"), encoding: .utf8))
        #expect(try Template.read(from: good).template == .builtin)
        let binary = try directory.write("b.layout", [0xff, 0xfe, 0x00])
        #expect(try Template.read(from: binary).diagnostics.map(\.rule) == ["GUEST-TEMPLATE-SYNTAX"])
        #expect(throws: (any Error).self) { try Template.read(from: directory.file("missing.layout")) }
    }
}
