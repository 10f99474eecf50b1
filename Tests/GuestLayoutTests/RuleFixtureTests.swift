import DeviceTree
import Diagnostics
import GuestLayout
import Testing
import TestSupport
import XLConfig

/// One fixture per layout rule: a guest (or file, or template) that
/// triggers it, the place the finding must point at, and the rule's one
/// severity. An error leaves no tree; warnings and notes keep it.
@Suite struct RuleFixtureTests {
    /// Where a finding must point.
    enum Place: Equatable {
        case configLine(Int)
        case node(file: String, path: String)
        case templateLine(Int)
        case file(String?)
    }

    struct Fixture: Sendable {
        let rule: Rule
        let run: @Sendable () throws -> (LayoutResult, Place)
    }

    static func layout(
        _ guest: GuestConfig, inputs: GuestInputs = Guests.inputs, options: LayoutOptions = Guests.options(),
        template: Template = .builtin
    ) -> LayoutResult {
        GuestLayoutBuilder.build(guest, inputs: inputs, options: options, template: template)
    }

    static func guest(_ configure: (inout GuestConfig) -> Void, memoryMiB: UInt64 = 512) -> GuestConfig {
        var guest = Guests.minimal(memoryMiB: memoryMiB)
        configure(&guest)
        return guest
    }

    static let fixtures: [Fixture] = [
        Fixture(rule: LayoutRules.typeHVM) {
            (layout(guest { $0.type = Guests.located(.hvm, line: 4) }), .configLine(4))
        },
        Fixture(rule: LayoutRules.vcpusGIC) {
            (layout(guest {
                $0.vcpus = Guests.located(9, line: 3)
                $0.gicVersion = Guests.located(.v2, line: 4)
            }), .configLine(3))
        },
        Fixture(rule: LayoutRules.virtioSPIExhausted) {
            let guest = Self.guest {
                $0.virtioDisks = (0..<4).map { Guests.disk(backend: 1, line: 10 + $0) }
                $0.virtioDevices = (0..<8).map { Guests.device(backend: 2, line: 20 + $0) }
            }
            return (layout(guest), .configLine(27))  // the 12th device
        },
        Fixture(rule: LayoutRules.virtioMMIOExhausted) {
            let small = try Fixtures.template(replacing: [
                ("virtio-mmio         = 0x02000000      0x00100000", "virtio-mmio         = 0x02000000      0x00000800"),
            ])
            let guest = Self.guest { $0.virtioDevices = (0..<5).map { Guests.device(line: 20 + $0) } }
            return (layout(guest, template: small), .configLine(24))  // the 5th device
        },
        Fixture(rule: LayoutRules.virtioTypeInvalid) {
            (layout(guest { $0.virtioDevices = [Guests.device(type: "virtio, device22", line: 20)] }), .configLine(20))
        },
        Fixture(rule: LayoutRules.virtioTypeMissing) {
            (layout(guest { $0.virtioDevices = [Guests.device(type: nil, line: 21)] }), .configLine(21))
        },
        Fixture(rule: LayoutRules.irqOnVuart) {
            (layout(guest {
                $0.vuart = Guests.located(true, line: 4)
                $0.irqs = [Guests.located(32, line: 5)]
            }), .configLine(5))
        },
        Fixture(rule: LayoutRules.irqOnVirtio) {
            (layout(guest {
                $0.virtioDisks = [Guests.disk(backend: 1, line: 10), Guests.disk(backend: 1, line: 11)]
                $0.irqs = [Guests.located(40, line: 5), Guests.located(34, line: 6)]
            }), .configLine(6))
        },
        Fixture(rule: LayoutRules.nrSpisTooSmall) {
            (layout(guest {
                $0.irqs = [Guests.located(100, line: 5)]
                $0.nrSpis = Guests.located(10, line: 6)
            }, options: Guests.options("4.21")), .configLine(6))
        },
        Fixture(rule: LayoutRules.ramSize) {
            (layout(guest { $0.maxmemMiB = Guests.located(1019 * 1024 + 1, line: 4) }), .configLine(4))
        },
        Fixture(rule: LayoutRules.modulesNoRoom) {
            let guest = Self.guest({ $0.ramdisk = Guests.located("initrd.img", line: 4) }, memoryMiB: 64)
            return (layout(guest, inputs: GuestInputs(kernel: Guests.kernel, ramdiskSize: 40 << 20)), .configLine(4))
        },
        Fixture(rule: LayoutRules.treeTooLarge) {
            let small = try Fixtures.template(replacing: [("fdt-max-size = 0x100000", "fdt-max-size = 0x1000")])
            // 4.21+: the 257-entry hypervisor reg alone needs 4112 bytes.
            return (layout(Guests.minimal(), template: small), .file(Guests.file))
        },
        Fixture(rule: LayoutRules.noExtendedRegions) {
            (layout(Guests.minimal(memoryMiB: 3072), options: Guests.options { $0.gpaddrBits = 32 }), .file(Guests.file))
        },
        Fixture(rule: LayoutRules.kernelUnreadable) {
            let directory = try TemporaryDirectory()
            return (compile(guest { $0.kernel = Guests.located(directory.path, line: 4) }), .configLine(4))
        },
        Fixture(rule: LayoutRules.kernelFormat) {
            let directory = try TemporaryDirectory()
            let path = try directory.write("vmlinux", [UInt8](repeating: 0x7f, count: 256))
            return (compile(guest { $0.kernel = Guests.located(path, line: 4) }), .configLine(4))
        },
        Fixture(rule: LayoutRules.kernelAssumed) {
            (compile(guest { $0.kernel = Guests.located("/nonexistent/Image", line: 4) }), .configLine(4))
        },
        Fixture(rule: LayoutRules.archOverride) {
            let directory = try TemporaryDirectory()
            let path = try directory.write("Image", Fixtures.arm64Image())
            let options = Guests.options { $0.arch = .arm32 }
            return (compile(guest { $0.kernel = Guests.located(path, line: 4) }, options: options), .configLine(4))
        },
        Fixture(rule: LayoutRules.ramdiskMissing) {
            (compile(guest { $0.ramdisk = Guests.located("/nonexistent/initrd", line: 5) }), .configLine(5))
        },
        Fixture(rule: LayoutRules.ramdiskAssumed) {
            let options = Guests.options { $0.ramdiskSize = 1 << 20 }
            return (compile(guest { $0.ramdisk = Guests.located("/nonexistent/initrd", line: 5) }, options: options), .configLine(5))
        },
        Fixture(rule: LayoutRules.partialUnreadable) {
            (compile(guest { $0.deviceTree = Guests.located("/nonexistent/partial.dtb", line: 6) }), .configLine(6))
        },
        Fixture(rule: LayoutRules.partialInvalid) {
            let directory = try TemporaryDirectory()
            let path = try directory.write("partial.dtb", "not a blob")
            return (compile(guest { $0.deviceTree = Guests.located(path, line: 6) }), .configLine(6))
        },
        Fixture(rule: LayoutRules.partialNoPassthrough) {
            let partial = try Fixtures.partialTree("/dts-v1/; / { aliases { }; };")
            let guest = Self.guest { $0.deviceTree = Guests.located("partial.dtb", line: 6) }
            return (layout(guest, inputs: GuestInputs(kernel: Guests.kernel, partialTree: partial)), .configLine(6))
        },
        Fixture(rule: LayoutRules.partialPhandleClash) {
            let partial = try Fixtures.passthrough("dev@0 { reg = <0 0 0 0x1000>; phandle = <0xfde8>; };")
            return (layout(Guests.minimal(), inputs: GuestInputs(kernel: Guests.kernel, partialTree: partial)),
                    .node(file: "partial.dtb", path: "/passthrough/dev@0"))
        },
        Fixture(rule: LayoutRules.partialDangling) {
            let partial = try Fixtures.passthrough(
                "dev@0 { reg = <0 0 0 0x1000>; clocks = <&clk 1>; };",
                extra: "clk: clock { #clock-cells = <1>; };")
            return (layout(Guests.minimal(), inputs: GuestInputs(kernel: Guests.kernel, partialTree: partial)),
                    .node(file: "partial.dtb", path: "/passthrough/dev@0"))
        },
        Fixture(rule: LayoutRules.partialAlias) {
            let partial = try Fixtures.passthrough(
                "dev@0 { reg = <0 0 0 0x1000>; };", extra: "aliases { serial0 = \"/serial@0\"; };")
            return (layout(Guests.minimal(), inputs: GuestInputs(kernel: Guests.kernel, partialTree: partial)),
                    .node(file: "partial.dtb", path: "/aliases"))
        },
        Fixture(rule: LayoutRules.partialBus) {
            let partial = try Fixtures.partialTree("/dts-v1/; / { passthrough { }; };")
            return (layout(Guests.minimal(), inputs: GuestInputs(kernel: Guests.kernel, partialTree: partial)),
                    .node(file: "partial.dtb", path: "/passthrough"))
        },
        Fixture(rule: LayoutRules.templateSyntax) {
            (parseTemplate(replacing: ("[phandles]", "[phandles")), .templateLine(43))
        },
        Fixture(rule: LayoutRules.templateKey) {
            (parseTemplate(replacing: ("gic = 0xfde8", "gic = 0xfde8\nlapic = 1")), .templateLine(45))
        },
        Fixture(rule: LayoutRules.templateValue) {
            (parseTemplate(replacing: ("iommu = 0xfde9", "iommu = 0xfdeg")), .templateLine(45))
        },
        Fixture(rule: LayoutRules.templateMissing) {
            (parseTemplate(replacing: ("vcpus-gicv2 = 8\n", "")), .templateLine(51))
        },
        Fixture(rule: LayoutRules.templateVersion) {
            // Every section one version later: nothing covers 4.17.
            let late = try Fixtures.template(replacing: [
                ("[xen 4.19]", "[xen 4.20]"), ("[xen 4.18]", "[xen 4.19]"), ("[xen 4.17]", "[xen 4.18]"),
            ])
            return (layout(Guests.minimal(), options: Guests.options("4.17"), template: late), .file(nil))
        },
    ]

    static func compile(_ guest: GuestConfig, options: LayoutOptions = Guests.options()) -> LayoutResult {
        GuestLayoutBuilder.compile(guest, options: options)
    }

    /// The template file with one change, parsed; the findings become a
    /// result without a tree.
    static func parseTemplate(replacing change: (String, String)) -> LayoutResult {
        let path = Paths.inPackage("templates/libxl-arm.layout")
        let text = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").replacingOccurrences(of: change.0, with: change.1)
        let (_, diagnostics) = TemplateParser.parse(text, file: "variant.layout")
        return LayoutResult(tree: nil, diagnostics: diagnostics, summary: nil)
    }

    @Test(arguments: fixtures.map(\.rule.id))
    func ruleFires(id: String) throws {
        let fixture = try #require(Self.fixtures.first { $0.rule.id == id })
        let (result, place) = try fixture.run()
        let finding = try #require(result.diagnostics.first { $0.rule == id }, "\(id) not reported: \(result.diagnostics)")
        #expect(finding.severity == fixture.rule.severity)
        #expect(result.diagnostics.filter { $0.severity == .error }.allSatisfy { $0.rule == id },
                "other errors: \(result.diagnostics)")
        #expect((result.tree == nil) == result.hasErrors)
        switch place {
        case .configLine(let line):
            #expect(finding.file == Guests.file && finding.line == line, "\(finding)")
        case .node(let file, let path):
            #expect(finding.file == file && finding.node == path, "\(finding)")
        case .templateLine(let line):
            #expect(finding.file == "variant.layout" && finding.line == line, "\(finding)")
        case .file(let file):
            #expect(finding.file == file && finding.line == nil, "\(finding)")
        }
        #expect(!finding.message.isEmpty && finding.hint?.isEmpty == false)
    }

    @Test func everyRuleHasAFixture() {
        #expect(Set(Self.fixtures.map(\.rule.id)) == Set(LayoutRules.all.map(\.id)))
        #expect(Self.fixtures.count == LayoutRules.all.count)
    }

    @Test func ruleCatalogIsWellFormed() {
        let ids = LayoutRules.all.map(\.id)
        #expect(Set(ids).count == ids.count)
        for rule in LayoutRules.all {
            #expect(rule.id.hasPrefix("GUEST-"), "\(rule.id)")
            #expect(rule.id.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "-" }, "\(rule.id)")
            #expect(!rule.summary.isEmpty && !rule.fix.isEmpty)
        }
    }
}
