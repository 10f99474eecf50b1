import Diagnostics
import Foundation
import GuestLayout
import Testing
import TestSupport
import XLConfig

/// Layout templates: the format, its errors at their places, and the
/// version sections' inheritance.
@Suite struct TemplateParserTests {
    static let builtinText = (try? String(contentsOfFile: Paths.inPackage("templates/libxl-arm.layout"), encoding: .utf8)) ?? ""

    func parse(_ replacements: [(String, String)]) -> (Template?, [Diagnostic]) {
        var text = Self.builtinText
        for (old, new) in replacements { text = text.replacingOccurrences(of: old, with: new) }
        return TemplateParser.parse(text, file: "t.layout")
    }

    @Test func laterVersionSectionsInheritAndOverride() throws {
        let template = Template.builtin
        let v418 = try #require(template.rules(for: XenVersion(major: 4, minor: 18)))
        let v420 = try #require(template.rules(for: XenVersion(major: 4, minor: 20)))
        let v422 = try #require(template.rules(for: .default))
        #expect(v418.since == XenVersion(major: 4, minor: 18) && v418.vpciPrefetchType == 0x4200_0000 && !v418.diskGrantUsage)
        #expect(v420.since == XenVersion(major: 4, minor: 19) && v420.nrSpis == .raiseToNeeded)
        #expect(v422.extendedRegions == .splitByIOMem && v422.extendedRegionSlots == 256 && v422.virtioDevices)
        #expect(template.rules(for: XenVersion(major: 4, minor: 16)) == nil)
    }

    @Test func commentsBlankLinesAndCRLFAreFine() {
        let text = Self.builtinText.replacingOccurrences(of: "\n", with: "\r\n") + "\n# trailing comment\n\n"
        let (template, diagnostics) = TemplateParser.parse(text, file: "t.layout")
        #expect(diagnostics.isEmpty)
        #expect(template == .builtin)
    }

    @Test func errorsPointAtTheOffendingWord() throws {
        let (template, diagnostics) = parse([("spis = 33 43", "spis = 33 43 44")])
        #expect(template == nil)
        let finding = try #require(diagnostics.first)
        #expect(finding.rule == "GUEST-TEMPLATE-VALUE")
        #expect(finding.sourceLine == "spis = 33 43 44" && finding.column == 14 && finding.span == 2)
    }

    @Test func signsAndUppercaseHexPrefixesAreNotNumbers() {
        for bad in ["+29", "-1", "0X1d", "0x", "1_000", "２９"] {
            let (_, diagnostics) = parse([("timer-virtual = 27", "timer-virtual = \(bad)")])
            #expect(diagnostics.map(\.rule) == ["GUEST-TEMPLATE-VALUE"], "\(bad)")
        }
    }

    @Test func valuesAreRangeChecked() {
        let cases: [(String, String)] = [
            ("timer-virtual = 27", "timer-virtual = 32"),  // not a PPI
            ("vpl011 = 32", "vpl011 = 31"),  // not an SPI
            ("spis = 33 43", "spis = 43 33"),
            ("kernel-end-alignment = 0x200000", "kernel-end-alignment = 0x300000"),
            ("iommu = 0xfde9", "iommu = 0xfde8"),
            ("ram-bank            = 0x40000000      0xc0000000", "ram-bank            = 0x40000000      0"),
            ("nr-spis = ignored", "nr-spis = sometimes"),
            ("virtio-devices = no", "virtio-devices = false"),
            ("extended-region-slots = 2", "extended-region-slots = 0"),
        ]
        for (old, new) in cases {
            let (template, diagnostics) = parse([(old, new)])
            #expect(template == nil && diagnostics.map(\.rule) == ["GUEST-TEMPLATE-VALUE"], "\(new): \(diagnostics)")
        }
    }

    @Test func overlappingRegionsAreRefused() throws {
        let (_, diagnostics) = parse([("vpl011              = 0x22000000", "vpl011              = 0x38000000")])
        let finding = try #require(diagnostics.first)
        #expect(finding.rule == "GUEST-TEMPLATE-VALUE" && finding.message.contains("overlaps"))
    }

    @Test func unknownAndRepeatedThingsAreKeyErrors() {
        let cases: [(String, String)] = [
            ("[boot]", "[bootloader]"),
            ("gic = 0xfde8", "gic = 0xfde8\ngic = 0xfde8"),
            ("[xen 4.21]", "[xen 4.19]"),
        ]
        for (old, new) in cases {
            let (template, diagnostics) = parse([(old, new)])
            #expect(template == nil && diagnostics.contains { $0.rule == "GUEST-TEMPLATE-KEY" }, "\(new): \(diagnostics)")
        }
    }

    @Test func theFirstVersionSectionMustBeComplete() throws {
        let (_, diagnostics) = parse([("iommu-node = before-first-granted-disk\n", "")])
        let finding = try #require(diagnostics.first)
        #expect(finding.rule == "GUEST-TEMPLATE-MISSING" && finding.message.contains("iommu-node"))
    }

    @Test func aFileWithoutSectionsReportsWhatIsMissing() {
        let (template, diagnostics) = TemplateParser.parse("format = 1\nname = empty\n", file: "t.layout")
        #expect(template == nil)
        #expect(diagnostics.allSatisfy { $0.rule == "GUEST-TEMPLATE-MISSING" && $0.file == "t.layout" })
        #expect(diagnostics.count == 9)  // eight sections and a version section
    }

    @Test func otherFormatVersionsAreRefused() {
        let (_, diagnostics) = parse([("format = 1", "format = 2")])
        #expect(diagnostics.map(\.rule) == ["GUEST-TEMPLATE-VALUE"])
    }
}
