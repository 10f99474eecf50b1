import Foundation
import Testing
import TestSupport

/// Every rule through the binary: one fixture each (the front end's from
/// Tests/XLConfigTests/Fixtures/rules, the layout's from
/// Tests/CLIFixtures/rules, the tree checks' from
/// Tests/VirtioRuntimeTests/Fixtures/rules), checked for file, line,
/// column, rule id, the severity the README documents, the exit code with
/// and without --werror, and both output formats.
@Suite struct RuleFixtureCLITests {
    struct Case: Sendable, CustomTestStringConvertible {
        let rule: String
        /// Where the finding must point: line and column in `file`, or a node.
        let line: Int?
        let column: Int?
        var node: String?
        /// The config to validate; default `<rule>.cfg`.
        var config: String?
        var flags: [String] = []
        /// The file the finding names; default the config.
        var file: String?
        /// A template variant to write first: name and replacements.
        var template: (name: String, changes: [(String, String)])?
        /// Findings (not notes) the fixture also causes in a later stage,
        /// each a different problem: the front-end fixtures were written
        /// for the front end alone.
        var also: [String] = []

        var testDescription: String { rule }
        var configName: String { config ?? rule + ".cfg" }
        var expectedFile: String { file ?? configName }
        var arguments: [String] { [configName] + flags }
    }

    /// Front-end fixtures leave `memory` at xl's default of 32 MiB, where
    /// the default 32 MiB kernel leaves no room for the blob: a 1 MiB
    /// kernel keeps the layout quiet so each shows its own finding.
    static let small = ["--kernel-size", "1M"]

    static let xl: [Case] = [
        Case(rule: "XL-LEXICAL", line: 3, column: 10),
        Case(rule: "XL-UNQUOTED", line: 3, column: 15),
        Case(rule: "XL-SYNTAX", line: 4, column: 10),
        Case(rule: "XL-ESCAPE", line: 2, column: 14),
        Case(rule: "XL-ADD-MISMATCH", line: 4, column: 7),
        Case(rule: "XL-CRLF", line: 2, column: 15),
        Case(rule: "XL-COMMENT-EOF", line: 3, column: 1),
        // memory = 0x1 once xl drops the F: 1 MiB of RAM holds no kernel.
        Case(rule: "XL-LAST-BYTE", line: 3, column: 13, also: ["GUEST-MODULES-NO-ROOM"]),
        Case(rule: "XL-OVERRIDDEN", line: 3, column: 1),
        Case(rule: "XL-UNKNOWN-KEY", line: 3, column: 1),
        Case(rule: "XL-VERSION-KEY", line: 3, column: 1, flags: ["--xen-version", "4.18"]),
        Case(rule: "XL-NOT-A-NUMBER", line: 3, column: 10),
        Case(rule: "XL-OCTAL", line: 3, column: 10),
        Case(rule: "XL-ADD-NUMBER", line: 4, column: 8),
        Case(rule: "XL-NOT-A-LIST", line: 3, column: 9),
        Case(rule: "XL-NOT-SINGLE", line: 3, column: 10),
        Case(rule: "XL-NESTED-LIST", line: 3, column: 20),
        Case(rule: "XL-NAME-MISSING", line: nil, column: nil),
        Case(rule: "XL-INVALID-VALUE", line: 3, column: 15),
        Case(rule: "XL-MAXVCPUS", line: 4, column: 12),
        Case(rule: "XL-VCPUS-RAISED", line: 3, column: 9),
        Case(rule: "XL-CMDLINE-WINS", line: 4, column: 8),
        Case(rule: "XL-ACPI", line: 3, column: 8),
        Case(rule: "XL-TYPE-PV", line: 3, column: 8),
        // type = "h" completes to hvm, which libxl then refuses.
        Case(rule: "XL-TYPE-PREFIX", line: 3, column: 8, also: ["GUEST-TYPE-HVM"]),
        Case(rule: "XL-DISK-SPEC", line: 3, column: 22),
        Case(rule: "XL-DISK-TARGET-REST", line: 3, column: 44),
        Case(rule: "XL-DISK-BACKEND", line: 3, column: 23),
        Case(rule: "XL-VIRTIO-SPEC", line: 3, column: 13),
        Case(rule: "XL-VIRTIO-TYPE-LAST", line: 3, column: 29),
        Case(rule: "XL-VIRTIO-NO-TRANSPORT", line: 3, column: 12),
        Case(rule: "XL-VIRTIO-TYPE-GLUE", line: 3, column: 36),
        Case(rule: "XL-VIRTIO-GRANT-USAGE", line: 3, column: 74),
        Case(rule: "XL-BACKEND-NAME", line: 3, column: 21),
        Case(rule: "XL-BACKEND-RANGE", line: 3, column: 19),
        Case(rule: "XL-SELF-BACKEND", line: 3, column: 19, flags: ["--domains", "XL-SELF-BACKEND.domains"]),
        Case(rule: "XL-MIXED-GRANTS", line: 4, column: 12),
        Case(rule: "XL-DOMAINS-SYNTAX", line: 2, column: 12, config: "clean.cfg",
             flags: ["--domains", "XL-DOMAINS-SYNTAX.domains"], file: "XL-DOMAINS-SYNTAX.domains"),
        Case(rule: "XL-DOMAINS-ENTRY", line: 3, column: 8, config: "clean.cfg",
             flags: ["--domains", "XL-DOMAINS-ENTRY.domains"], file: "XL-DOMAINS-ENTRY.domains"),
    ].map { var withKernel = $0; withKernel.flags += small; return withKernel }

    static let guest: [Case] = [
        Case(rule: "GUEST-TYPE-HVM", line: 5, column: 8),
        Case(rule: "GUEST-VCPUS-GIC", line: 5, column: 9),
        Case(rule: "GUEST-VIRTIO-SPI-EXHAUSTED", line: 16, column: 12),
        Case(rule: "GUEST-VIRTIO-MMIO-EXHAUSTED", line: 10, column: 12, flags: ["--template", "small-window.layout"],
             template: ("small-window.layout", [("virtio-mmio         = 0x02000000      0x00100000", "virtio-mmio         = 0x02000000      0x00000800")])),
        Case(rule: "GUEST-VIRTIO-TYPE-INVALID", line: 5, column: 29),
        Case(rule: "GUEST-VIRTIO-TYPE-MISSING", line: 5, column: 12),
        Case(rule: "GUEST-IRQ-VUART", line: 6, column: 10),
        Case(rule: "GUEST-IRQ-VIRTIO", line: 7, column: 10),
        Case(rule: "GUEST-NR-SPIS-TOO-SMALL", line: 6, column: 11),
        Case(rule: "GUEST-RAM-SIZE", line: 4, column: 10),
        Case(rule: "GUEST-MODULES-NO-ROOM", line: 4, column: 10),
        Case(rule: "GUEST-TREE-TOO-LARGE", line: nil, column: nil, flags: ["--template", "tiny-fdt.layout"],
             template: ("tiny-fdt.layout", [("fdt-max-size = 0x100000", "fdt-max-size = 0x1000")])),
        Case(rule: "GUEST-NO-EXTENDED-REGIONS", line: nil, column: nil, flags: ["--gpaddr-bits", "32"]),
        Case(rule: "GUEST-KERNEL-UNREADABLE", line: 4, column: 10),
        Case(rule: "GUEST-KERNEL-FORMAT", line: 4, column: 10),
        Case(rule: "GUEST-KERNEL-ASSUMED", line: 4, column: 10),
        Case(rule: "GUEST-ARCH-OVERRIDE", line: 4, column: 10, flags: ["--arch", "arm32"]),
        Case(rule: "GUEST-RAMDISK-MISSING", line: 5, column: 11),
        Case(rule: "GUEST-RAMDISK-ASSUMED", line: 5, column: 11, flags: ["--ramdisk-size", "4M"]),
        Case(rule: "GUEST-PARTIAL-DT-UNREADABLE", line: 5, column: 15),
        Case(rule: "GUEST-PARTIAL-DT-INVALID", line: 5, column: 15),
        Case(rule: "GUEST-PARTIAL-DT-NO-PASSTHROUGH", line: 5, column: 15),
        Case(rule: "GUEST-PARTIAL-DT-PHANDLE-CLASH", line: nil, column: nil, node: "/passthrough/dma@ff0a0000",
             file: "GUEST-PARTIAL-DT-PHANDLE-CLASH.dtb"),
        Case(rule: "GUEST-PARTIAL-DT-DANGLING", line: nil, column: nil, node: "/passthrough/serial@ff010000",
             file: "GUEST-PARTIAL-DT-DANGLING.dtb"),
        Case(rule: "GUEST-PARTIAL-DT-ALIAS", line: nil, column: nil, node: "/aliases", file: "GUEST-PARTIAL-DT-ALIAS.dtb"),
        Case(rule: "GUEST-PARTIAL-DT-BUS", line: nil, column: nil, node: "/passthrough", file: "GUEST-PARTIAL-DT-BUS.dtb"),
        templateCase("GUEST-TEMPLATE-SYNTAX", line: 43, column: 1, [("[phandles]", "[phandles")]),
        templateCase("GUEST-TEMPLATE-KEY", line: 45, column: 1, [("gic = 0xfde8", "gic = 0xfde8\nlapic = 1")]),
        templateCase("GUEST-TEMPLATE-VALUE", line: 45, column: 9, [("iommu = 0xfde9", "iommu = 0xfdeg")]),
        templateCase("GUEST-TEMPLATE-MISSING", line: 51, column: 2, [("vcpus-gicv2 = 8\n", "")]),
        // Every version section one later: nothing covers 4.17.
        templateCase("GUEST-TEMPLATE-VERSION", line: nil, column: nil,
                     [("[xen 4.19]", "[xen 4.20]"), ("[xen 4.18]", "[xen 4.19]"), ("[xen 4.17]", "[xen 4.18]")],
                     flags: ["--xen-version", "4.17"]),
    ]

    static func templateCase(_ rule: String, line: Int?, column: Int?, _ changes: [(String, String)], flags: [String] = []) -> Case {
        Case(rule: rule, line: line, column: column, config: "clean.cfg", flags: ["--template", rule + ".layout"] + flags,
             file: rule + ".layout", template: (rule + ".layout", changes))
    }

    static let cases = xl + guest

    /// A workspace with every config fixture, the partial trees compiled,
    /// and the case's template variant.
    static func workspace(for fixture: Case) throws -> Workspace {
        let workspace = try Workspace()
        for directory in ["Tests/XLConfigTests/Fixtures/rules", "Tests/CLIFixtures/rules"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: Paths.inPackage(directory))
            try workspace.copy(names.map { directory + "/" + $0 })
        }
        let partial = fixture.rule + ".dts"
        if FileManager.default.fileExists(atPath: workspace.directory.file(partial)) { try workspace.compileDTS(partial) }
        if let template = fixture.template {
            var text = try String(contentsOfFile: Paths.inPackage("templates/libxl-arm.layout"), encoding: .utf8)
            for (old, new) in template.changes { text = text.replacingOccurrences(of: old, with: new) }
            try workspace.directory.write(template.name, text)
        }
        return workspace
    }

    static func exitCode(_ severities: [String], werror: Bool = false) -> Int32 {
        severities.contains { $0 == "error" || (werror && $0 == "warning") } ? 1 : 0
    }

    @Test func everyRuleHasACase() {
        let documented = ReadmeRules.ids(prefix: "XL-") + ReadmeRules.ids(prefix: "GUEST-")
        #expect(Set(Self.cases.map(\.rule)) == Set(documented))
        #expect(Self.cases.count == documented.count, "a rule has two cases")
    }

    @Test(arguments: cases)
    func fixtureThroughTheBinary(_ fixture: Case) throws {
        let workspace = try Self.workspace(for: fixture)
        let severities = ReadmeRules.severities
        let severity = try #require(severities[fixture.rule])
        let expectedProblems = ((severity == "note" ? [] : [fixture.rule]) + fixture.also).sorted()
        let allSeverities = [severity] + fixture.also.compactMap { severities[$0] }
        let exitCode = Self.exitCode(allSeverities)

        // JSON: the finding's place, severity and hint; nothing else but notes.
        let json = try workspace.grantdt(["validate", "--json"] + fixture.arguments)
        #expect(json.stderr.isEmpty, "\(json.stderr)")
        #expect(json.status == exitCode)
        let report = try Report(json.stdout)
        #expect(report.problems.map(\.rule).sorted() == expectedProblems, "\(report.findings)")
        let finding = try #require(report.findings.first { $0.rule == fixture.rule }, "\(report.findings)")
        #expect(finding.file == fixture.expectedFile)
        #expect(finding.line == fixture.line && finding.column == fixture.column && finding.node == fixture.node, "\(finding)")
        #expect(finding.severity == severity)
        #expect(finding.hint?.isEmpty == false && !finding.message.isEmpty)
        #expect(report.files.contains { $0.path == fixture.expectedFile } || finding.file?.hasSuffix(".dtb") == true)

        // Text: the head line, the source line with a caret, the hint; nothing on stdout.
        let text = try workspace.grantdt(["validate"] + fixture.arguments)
        #expect(text.status == exitCode)
        #expect(text.stdout.isEmpty)
        let head: String
        if let line = fixture.line, let column = fixture.column {
            head = "\(fixture.expectedFile):\(line):\(column): \(severity)[\(fixture.rule)]: "
        } else if let node = fixture.node {
            head = "\(fixture.expectedFile): \(severity)[\(fixture.rule)]: \(node): "
        } else {
            head = "\(fixture.expectedFile): \(severity)[\(fixture.rule)]: "
        }
        let lines = text.stderr.lines
        let at = try #require(lines.firstIndex { $0.hasPrefix(head) }, "no line starting \(head) in:\n\(text.stderr)")
        if let line = fixture.line, let column = fixture.column {
            #expect(lines[at + 1].hasPrefix(" \(line) | "))
            let caret = lines[at + 2]
            let bar = try #require(caret.firstIndex(of: "|"))
            #expect(caret[caret.index(bar, offsetBy: 2)...].firstIndex(of: "^").map { caret.distance(from: caret.index(bar, offsetBy: 2), to: $0) } == column - 1)
            #expect(lines[at + 3].hasPrefix("hint: "))
        } else {
            #expect(lines[at + 1].hasPrefix("hint: "))
        }

        // --werror fails warnings, never notes, and reports them as errors.
        let werror = try workspace.grantdt(["validate", "--json", "--werror"] + fixture.arguments)
        #expect(werror.status == Self.exitCode(allSeverities, werror: true))
        let promoted = try Report(werror.stdout).findings.first { $0.rule == fixture.rule }
        #expect(promoted?.severity == (severity == "warning" ? "error" : severity))

        // compile agrees, and writes its blob only without errors.
        let compile = try workspace.grantdt(["compile", "-o", "out.dtb"] + fixture.arguments)
        #expect(compile.status == exitCode)
        #expect(FileManager.default.fileExists(atPath: workspace.directory.file("out.dtb")) == (exitCode == 0))
    }

    // MARK: Tree checks of a blob

    static var treeFixtures: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: Paths.inPackage("Tests/VirtioRuntimeTests/Fixtures/rules"))) ?? [])
            .filter { $0.hasSuffix(".dts") }.sorted()
    }

    @Test func everyTreeRuleHasAFixture() {
        #expect(Self.treeFixtures.map { String($0.dropLast(4)) } == ReadmeRules.ids(prefix: "DT-").sorted())
    }

    @Test(arguments: treeFixtures)
    func treeFixtureThroughTheBinary(_ fixture: String) throws {
        let workspace = try Workspace()
        let source = Paths.inPackage("Tests/VirtioRuntimeTests/Fixtures/rules/" + fixture)
        let blob = String(fixture.dropLast(4)) + ".dtb"
        let built = try Tool.dtc(["-q", "-I", "dts", "-O", "dtb", "-o", workspace.directory.file(blob), source])
        try #require(built.status == 0, "\(built.stderr)")
        // `// expect RULE /node` lines, in order.
        let expected = try String(contentsOfFile: source, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            return words.count == 4 && words[0] == "//" && words[1] == "expect" ? "\(words[2]) \(words[3])" : nil
        }
        let severities = ReadmeRules.severities
        let exitCode = Self.exitCode(expected.compactMap { severities[String($0.split(separator: " ")[0])] })

        let json = try workspace.grantdt(["validate", "--json", blob])
        #expect(json.status == exitCode)
        let report = try Report(json.stdout)
        #expect(report.files.map(\.path) == [blob])
        #expect(report.findings.map { "\($0.rule) \($0.node ?? "-")" } == expected)
        for finding in report.findings {
            #expect(finding.file == blob && finding.line == nil && finding.column == nil)
            #expect(finding.severity == severities[finding.rule])
        }
        let text = try workspace.grantdt(["validate", blob])
        #expect(text.status == exitCode)
        for finding in report.findings {
            #expect(text.stderr.contains("\(blob): \(finding.severity)[\(finding.rule)]: \(finding.node ?? ""): "))
        }
    }
}
