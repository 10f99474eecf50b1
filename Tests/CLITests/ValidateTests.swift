import Foundation
import Testing
import TestSupport

/// `grantdt validate`: paths and directories, blobs, exit codes, and one
/// diagnostic per problem.
@Suite struct ValidateTests {
    static let clean = CompileTests.clean
    static let warning = CompileTests.warning
    static let broken = CompileTests.broken

    /// A blob with a tree error: a virtio device whose iommus phandle dangles.
    static func danglingBlob() throws -> [UInt8] {
        try DTC.compile("""
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
                virtio@2000000 {
                    compatible = "virtio,mmio";
                    reg = <0 0x2000000 0 0x200>;
                    interrupts = <0 1 0xf01>;
                    iommus = <0x4242 1>;
                };
            };
            """).blob
    }

    @Test func aDirectoryIsItsTopLevelConfigsAndBlobsInOrder() throws {
        let directory = try TemporaryDirectory()
        for sub in ["sub", "dir.cfg"] { try FileManager.default.createDirectory(atPath: directory.file(sub), withIntermediateDirectories: true) }
        try directory.write("b.cfg", Self.warning)
        try directory.write("a.cfg", Self.clean)
        try directory.write("c.dtb", try Self.danglingBlob())
        try directory.write(".hidden.cfg", Self.broken)
        try directory.write("notes.txt", "not a config")
        try directory.write("sub/deep.cfg", Self.broken)

        let json = try Tool.grantdt(["validate", "--json", directory.path])
        #expect(json.status == 1)
        #expect(json.stderr.isEmpty)
        let report = try Report(json.stdout)
        #expect(report.files.map(\.path) == ["a.cfg", "b.cfg", "c.dtb"].map { directory.file($0) })
        #expect(report.problems.map(\.rule) == ["XL-VIRTIO-NO-TRANSPORT", "DT-IOMMUS-DANGLING"])
        let tree = try #require(report.problems.last)
        #expect(tree.file == directory.file("c.dtb") && tree.line == nil && tree.column == nil && tree.node == "/virtio@2000000")

        let text = try Tool.grantdt(["validate", directory.path + "/"])
        #expect(text.status == 1 && text.stdout.isEmpty)
        let blobLine = "\(directory.file("c.dtb")): error[DT-IOMMUS-DANGLING]: /virtio@2000000: iommus phandle 0x4242 matches no node"
        let lines = text.stderr.lines
        let at = try #require(lines.firstIndex { $0.hasPrefix(blobLine) }, "\(text.stderr)")
        #expect(lines[at + 1].hasPrefix("hint: "))
    }

    @Test func exitCodeIsTheHighestOfTheFiles() throws {
        let directory = try TemporaryDirectory()
        let clean = try directory.write("a.cfg", Self.clean)
        let warned = try directory.write("w.cfg", Self.warning)
        let broken = try directory.write("b.cfg", Self.broken)
        #expect(try Tool.grantdt(["validate", clean, warned]).status == 0)
        #expect(try Tool.grantdt(["validate", clean, warned, "--werror"]).status == 1)
        #expect(try Tool.grantdt(["validate", clean, broken, warned]).status == 1)

        // An unreadable file: one line, exit 2, and the others still checked.
        let missing = directory.file("missing.cfg")
        let mixed = try Tool.grantdt(["validate", "--json", clean, missing, broken])
        #expect(mixed.status == 2)
        #expect(mixed.stderr == "grantdt: error: cannot read '\(missing)': No such file or directory\n")
        #expect(try Report(mixed.stdout).files.map(\.path) == [clean, broken])
        // Nothing readable at all: nothing on stdout.
        let none = try Tool.grantdt(["validate", "--json", missing])
        #expect(none.status == 2 && none.stdout.isEmpty && none.stderr.lines.count == 1)
    }

    @Test func blobsAreKnownByNameOrMagic() throws {
        let directory = try TemporaryDirectory()
        let unnamed = try directory.write("guest.blob", try Self.danglingBlob())
        let result = try Tool.grantdt(["validate", "--json", unnamed])
        #expect(result.status == 1)
        #expect(try Report(result.stdout).problems.map(\.rule) == ["DT-IOMMUS-DANGLING"])
        // A .dtb that is not a blob cannot be read: exit 2, the others go on.
        let fake = try directory.write("fake.dtb", "name = \"g\"\n")
        let clean = try directory.write("a.cfg", Self.clean)
        let mixed = try Tool.grantdt(["validate", fake, clean])
        #expect(mixed.status == 2)
        #expect(mixed.stderr.hasPrefix("grantdt: error: \(fake): "))
        #expect(mixed.stderr.contains("note[GUEST-KERNEL-ASSUMED]"))
    }

    @Test func anEmptyDirectoryIsClean() throws {
        let directory = try TemporaryDirectory()
        let result = try Tool.grantdt(["validate", "--json", directory.path])
        #expect(result.status == 0)
        #expect(result.stdoutText == "{\n  \"files\": []\n}\n")
    }

    @Test func aCompilerGradeTextFormat() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("g.cfg", "name = \"g\"\nmemory = 512\ngic_version = \"v4\"\n")
        let result = try Tool.grantdt(["validate", config])
        #expect(result.status == 1)
        #expect(result.stderr.contains("""
            \(config):3:15: error[XL-INVALID-VALUE]: unknown gic_version "v4": xl refuses it
             3 | gic_version = "v4"
               |               ^~~~
            hint: did you mean gic_version = "v2"? gic_version takes "default", "v2", "v3"

            """))
    }

    // MARK: One problem, one diagnostic

    /// Configs that the front end and the layout both used to report.
    @Test(arguments: [
        ("acpi = 1\n", [], "XL-ACPI"),
        ("acpi = 1\n", ["--arch", "arm32"], "XL-ACPI"),
        ("virtio = [ 'backend=1, type=virtio,device22' ]\n", [], "XL-VIRTIO-NO-TRANSPORT"),
        ("virtio = [ 'backend=1, type=virtio,device22, transport=unknown' ]\n", [], "XL-VIRTIO-NO-TRANSPORT"),
        ("nr_spis = 64\n", ["--xen-version", "4.18"], "XL-VERSION-KEY"),
        ("virtio = [ 'backend=1, type=virtio,device22, transport=mmio' ]\n", ["--xen-version", "4.17"], "XL-VERSION-KEY"),
        ("disk = [ 'backend=1, specification=virtio, vdev=xvdb, grant_usage=0, target=/dev/b' ]\n", ["--xen-version", "4.18"], "XL-DISK-SPEC"),
        ("virtio = [ 'backend=1, type=virtio, device22, transport=mmio' ]\n", [], "GUEST-VIRTIO-TYPE-INVALID"),
        ("virtio = [ 'backend=1, type=virtio, backend=2, transport=mmio' ]\n", [], "GUEST-VIRTIO-TYPE-INVALID"),
        ("virtio = [ 'backend=1, type=virtio, transport=mmio' ]\n", [], "XL-VIRTIO-TYPE-GLUE"),
    ] as [(String, [String], String)])
    func formerDoubleReportsAreSingle(setting: String, flags: [String], rule: String) throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("g.cfg", Self.clean + setting)
        let result = try Tool.grantdt(["validate", "--json", config] + flags)
        #expect(try Report(result.stdout).problems.map(\.rule) == [rule])
    }

    /// Over every rule fixture and example: no two findings (notes aside)
    /// at one place, a line of a file, a node of a blob, or a whole file.
    @Test func noFixtureReportsOnePlaceTwice() throws {
        let workspace = try Workspace()
        var configs: [String] = []
        for directory in ["Tests/XLConfigTests/Fixtures/rules", "Tests/CLIFixtures/rules"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: Paths.inPackage(directory))
            try workspace.copy(names.map { directory + "/" + $0 })
            configs += names.filter { $0.hasSuffix(".cfg") }
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: workspace.path) where name.hasSuffix(".dts") {
            try workspace.compileDTS(name)
        }
        var findings: [(config: String, findings: [Report.Finding])] = []
        for flags in [[], ["--kernel-size", "1M"], ["--xen-version", "4.17"], ["--xen-version", "4.18", "--arch", "arm32"]] {
            let result = try workspace.grantdt(["validate", "--json"] + configs.sorted() + flags)
            findings += try Report(result.stdout).files.map { ($0.path, $0.findings) }
        }
        let examples = try Tool.grantdt(["validate", "--json", "examples"] + ExampleTests.flags, in: Paths.packageRoot)
        findings += try Report(examples.stdout).files.map { ($0.path, $0.findings) }
        #expect(findings.count > 150)
        for (config, list) in findings {
            var seen: [String: String] = [:]
            for finding in list where finding.severity != "note" {
                let place = "\(finding.file ?? config) \(finding.line.map { "line \($0)" } ?? finding.node ?? "(file)")"
                if let other = seen[place] {
                    Issue.record("\(config): \(other) and \(finding.rule) both at \(place)")
                }
                seen[place] = finding.rule
            }
        }
    }
}
