import Foundation
import Testing
import TestSupport

/// `grantdt compile`: outputs, atomicity, --werror, --json, --out-dir,
/// usage errors and what each flag changes in the tree.
@Suite struct CompileTests {
    static let clean = """
        name = "g"
        memory = 512
        kernel = "/var/lib/xen/images/g/Image"
        disk = [ 'backend=1, specification=virtio, vdev=xvda, target=/dev/vg/g' ]

        """
    /// A warning (no transport) and notes, no error.
    static let warning = clean + "virtio = [ 'backend=1, type=virtio,device1' ]\n"
    /// An error (a type libxl refuses).
    static let broken = clean + "virtio = [ 'backend=1, type=blk, transport=mmio' ]\n"

    /// dtc's reading of a blob, for comparisons.
    func tree(_ blob: [UInt8]?) throws -> String { try DTC.decompile(try #require(blob)).text }

    @Test func writesTheBlobAndTheLabelledDTS() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("g.cfg", Self.clean)
        let result = try Tool.grantdt(["compile", config, "-o", directory.file("g.dtb"), "--dts", directory.file("g.dts")])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        // Only the note that the kernel was assumed.
        #expect(result.stderr.lines.filter { $0.contains("[") && !$0.hasPrefix(" ") }.allSatisfy { $0.contains("note[GUEST-KERNEL-ASSUMED]") })
        let dts = String(decoding: try #require(directory.read("g.dts")), as: UTF8.self)
        #expect(dts.contains("iommus = <&xen_iommu 0x1>;") && dts.contains("xen_iommu: xen_iommu {"))
        #expect(try tree(directory.read("g.dtb")) == tree(DTC.compile(dts).blob))
        // Only -o, or only --dts.
        let blobOnly = try Tool.grantdt(["compile", config, "-o", directory.file("only.dtb")])
        #expect(blobOnly.status == 0 && directory.read("only.dtb") == directory.read("g.dtb"))
        let dtsOnly = try Tool.grantdt(["compile", config, "--dts", directory.file("only.dts")])
        #expect(dtsOnly.status == 0 && directory.read("only.dts") == directory.read("g.dts"))
    }

    @Test func outputIsDeterministic() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("g.cfg", Self.clean)
        for name in ["a", "b"] {
            _ = try Tool.grantdt(["compile", config, "-o", directory.file("\(name).dtb"), "--dts", directory.file("\(name).dts")])
        }
        #expect(directory.read("a.dtb") != nil && directory.read("a.dtb") == directory.read("b.dtb"))
        #expect(directory.read("a.dts") == directory.read("b.dts"))
        #expect(!(try tree(directory.read("a.dtb"))).contains("rng-seed"))
    }

    @Test func errorsLeaveOutputsAsTheyWere() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("bad.cfg", Self.broken)
        try directory.write("old.dtb", "keep this blob")
        try directory.write("old.dts", "keep this source")
        let result = try Tool.grantdt(["compile", config, "-o", directory.file("old.dtb"), "--dts", directory.file("old.dts")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("error[GUEST-VIRTIO-TYPE-INVALID]"))
        #expect(directory.read("old.dtb") == Array("keep this blob".utf8))
        #expect(directory.read("old.dts") == Array("keep this source".utf8))
        let fresh = try Tool.grantdt(["compile", config, "-o", directory.file("new.dtb"), "--dts", directory.file("new.dts")])
        #expect(fresh.status == 1)
        #expect(directory.read("new.dtb") == nil && directory.read("new.dts") == nil)
        // No temporary file is left behind either.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["bad.cfg", "old.dtb", "old.dts"])
    }

    @Test func anUnwritableOutputChangesNothing() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("g.cfg", Self.clean)
        try directory.write("old.dtb", "keep")
        // The DTS cannot be written: the blob must not change either.
        let result = try Tool.grantdt(["compile", config, "-o", directory.file("old.dtb"), "--dts", directory.file("missing/g.dts")])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.lines.count == 1 && result.stderr.hasPrefix("grantdt: error: cannot write"))
        #expect(directory.read("old.dtb") == Array("keep".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["g.cfg", "old.dtb"])
    }

    @Test func werrorFailsWarningsButNotNotes() throws {
        let directory = try TemporaryDirectory()
        let warned = try directory.write("w.cfg", Self.warning)
        let plain = try Tool.grantdt(["compile", warned, "-o", directory.file("w.dtb")])
        #expect(plain.status == 0 && directory.read("w.dtb") != nil)
        #expect(plain.stderr.contains("warning[XL-VIRTIO-NO-TRANSPORT]"))
        let strict = try Tool.grantdt(["compile", warned, "-o", directory.file("w2.dtb"), "--werror"])
        #expect(strict.status == 1 && directory.read("w2.dtb") == nil)
        #expect(strict.stderr.contains("error[XL-VIRTIO-NO-TRANSPORT]"))
        // Notes alone (the assumed kernel) never fail.
        let noted = try Tool.grantdt(["compile", try directory.write("n.cfg", Self.clean), "-o", directory.file("n.dtb"), "--werror"])
        #expect(noted.status == 0 && noted.stderr.contains("note[GUEST-KERNEL-ASSUMED]"))
    }

    @Test func jsonGoesToStdoutOnly() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("w.cfg", Self.warning)
        let result = try Tool.grantdt(["compile", config, "-o", directory.file("w.dtb"), "--json"])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let report = try Report(result.stdout)
        #expect(report.files.map(\.path) == [config])
        #expect(report.findings.map(\.rule) == ["GUEST-KERNEL-ASSUMED", "XL-VIRTIO-NO-TRANSPORT"])
        #expect(directory.read("w.dtb") != nil)
    }

    // MARK: --out-dir

    @Test func outDirCompilesEachGuestOnItsOwn() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("sub"), withIntermediateDirectories: true)
        let good = try directory.write("a.cfg", Self.clean)
        let bad = try directory.write("b.cfg", Self.broken)
        let nested = try directory.write("sub/d.config", Self.warning)
        let missing = directory.file("c.cfg")
        let arguments = ["compile", good, bad, missing, nested, "--out-dir", directory.file("out")]

        let text = try Tool.grantdt(arguments)
        #expect(text.status == 2, "the highest of 0, 1, 2, 0")
        #expect(text.stdout.isEmpty)
        #expect(text.stderr.contains("\(bad):5:"))
        #expect(text.stderr.lines.filter { $0.hasPrefix("grantdt: error: ") } == ["grantdt: error: cannot read '\(missing)': No such file or directory"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("out")).sorted() == ["a.dtb", "d.config.dtb"])
        // The entry without a transport gets no node: the two trees are one.
        #expect(try tree(directory.read("out/a.dtb")) == tree(directory.read("out/d.config.dtb")))

        let json = try Tool.grantdt(arguments + ["--json"])
        #expect(json.status == 2)
        #expect(try Report(json.stdout).files.map(\.path) == [good, bad, nested])
        #expect(json.stderr.lines.count == 1)
    }

    /// Guests are compiled side by side and finish in any order; what is
    /// printed and written is still what compiling them one by one gives,
    /// in order.
    @Test func outDirReportsInConfigOrder() throws {
        let directory = try TemporaryDirectory()
        var configs: [String] = []
        for index in 0..<150 {
            let name = String(format: "g%03d.cfg", index)
            if index % 37 == 5 {
                configs.append(directory.file(name))  // missing: a failure line in its place
                continue
            }
            configs.append(try directory.write(name, [Self.clean, Self.warning, Self.broken][index % 3]))
        }
        let all = try Tool.grantdt(["compile"] + configs + ["--out-dir", directory.file("all")])
        #expect(all.status == 2)
        var expected = ""
        for config in configs {
            let name = FileManager.default.displayName(atPath: config).replacingOccurrences(of: ".cfg", with: ".dtb")
            let one = try Tool.grantdt(["compile", config, "-o", directory.file("one-" + name)])
            expected += one.stderr
            #expect(directory.read("all/" + name) == directory.read("one-" + name), "\(name)")
        }
        #expect(all.stderr == expected)
    }

    @Test func outDirExitCodeIsTheHighest() throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("a.cfg", Self.clean)
        let warned = try directory.write("w.cfg", Self.warning)
        let bad = try directory.write("b.cfg", Self.broken)
        let out = directory.file("new/out")
        #expect(try Tool.grantdt(["compile", good, warned, "--out-dir", directory.file("ok")]).status == 0)
        #expect(try Tool.grantdt(["compile", good, bad, "--out-dir", directory.file("mixed")]).status == 1)
        #expect(directory.read("mixed/a.dtb") != nil && directory.read("mixed/b.dtb") == nil)
        // Only one missing level is created.
        let deep = try Tool.grantdt(["compile", good, "--out-dir", out])
        #expect(deep.status == 2 && deep.stderr.contains("cannot create directory"))
    }

    @Test func outDirTakesADirectoryOfConfigs() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("guests/nested"), withIntermediateDirectories: true)
        try directory.write("guests/a.cfg", Self.clean)
        try directory.write("guests/b.cfg", Self.warning)
        try directory.write("guests/.c.cfg", Self.broken)
        try directory.write("guests/notes.txt", "no config")
        try directory.write("guests/nested/d.cfg", Self.broken)
        let result = try Tool.grantdt(["compile", directory.file("guests"), "--out-dir", directory.file("out"), "--json"])
        #expect(result.status == 0)
        #expect(try Report(result.stdout).files.map(\.path) == [directory.file("guests/a.cfg"), directory.file("guests/b.cfg")])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("out")).sorted() == ["a.dtb", "b.dtb"])
        // Without --out-dir a directory is no config.
        let single = try Tool.grantdt(["compile", directory.file("guests"), "-o", directory.file("x.dtb")])
        #expect(single.status == 2 && single.stderr.contains("Is a directory"))
    }

    /// A blob takes its config's name without `.cfg` (once, and only when
    /// something is left), else the whole name, plus `.dtb`.
    @Test func outDirNamesEachBlobAfterItsConfig() throws {
        let directory = try TemporaryDirectory()
        let names = ["g.cfg", "h.cfg.cfg", "é.cfg", "plain", ".cfg", "x.CFG"]
        let configs = try names.map { try directory.write($0, Self.clean) }
        let result = try Tool.grantdt(["compile"] + configs + ["--out-dir", directory.file("out")])
        #expect(result.status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("out")).sorted()
            == [".cfg.dtb", "g.dtb", "h.cfg.dtb", "plain.dtb", "x.CFG.dtb", "é.dtb"])
    }

    @Test func outDirRefusesTwoConfigsWithOneName() throws {
        let directory = try TemporaryDirectory()
        for sub in ["x", "y"] { try FileManager.default.createDirectory(atPath: directory.file(sub), withIntermediateDirectories: true) }
        let first = try directory.write("x/g.cfg", Self.clean)
        let second = try directory.write("y/g.cfg", Self.clean)
        let result = try Tool.grantdt(["compile", first, second, "--out-dir", directory.file("out")])
        #expect(result.status == 2)
        #expect(result.stderr == "grantdt: error: '\(first)' and '\(second)' would both write \(directory.file("out"))/g.dtb\n")
        #expect(!FileManager.default.fileExists(atPath: directory.file("out")))
    }

    // MARK: Usage errors

    /// `G` is a clean config; `@name` a path in the scratch directory.
    @Test(arguments: [
        ([], "compile needs a GUEST.cfg"),
        (["G"], "say where to write"),
        (["G", "G", "-o", "@x.dtb"], "2 configs need --out-dir"),
        (["G", "--out-dir", "@d", "-o", "@x.dtb"], "-o and --dts name one file"),
        (["G", "--out-dir", "@d", "--xen-version", "5.0"], "invalid --xen-version"),
        (["G", "-o", "@same", "--dts", "@same"], "-o and --dts both name '@same'"),
        (["/nonexistent/g.cfg", "-o", "@x"], "cannot read '/nonexistent/g.cfg'"),
        (["@", "-o", "@x"], "Is a directory"),
        (["G", "-o", "@x", "--xen-version"], "Missing value for '--xen-version"),
    ] as [([String], String)])
    func usageErrorsAreOneLine(arguments: [String], message: String) throws {
        try expectUsageError("compile", arguments, message)
    }

    /// Bad flag values are usage errors for compile and validate alike.
    @Test(arguments: [
        (["--xen-version", "4.16"], "invalid --xen-version '4.16': give X.Y from 4.17 to 4.22"),
        (["--xen-version", "4.23"], "invalid --xen-version"),
        (["--xen-version", "4.22.1"], "invalid --xen-version"),
        (["--xen-version", "latest"], "invalid --xen-version"),
        (["--gpaddr-bits", "31"], "invalid --gpaddr-bits '31': give a whole number from 32 to 64"),
        (["--gpaddr-bits", "65"], "invalid --gpaddr-bits"),
        (["--gpaddr-bits", "40bits"], "invalid --gpaddr-bits"),
        (["--host-gic", "v4"], "invalid --host-gic 'v4': give v2 or v3"),
        (["--timer-frequency", "0"], "invalid --timer-frequency '0'"),
        (["--timer-frequency", "4294967296"], "invalid --timer-frequency"),
        (["--rng-seed", "abcd"], "invalid --rng-seed: give exactly 256 hex digits (128 bytes) or 'random'; it has 4 characters"),
        (["--rng-seed", String(repeating: "a", count: 257)], "it has 257 characters"),
        (["--rng-seed", String(repeating: "a", count: 255) + "g"], "a character that is not a hex digit"),
        (["--arch", "x86"], "invalid --arch 'x86': give arm64 or arm32"),
        (["--kernel-size", "0"], "invalid --kernel-size '0'"),
        (["--ramdisk-size", "8MB"], "invalid --ramdisk-size '8MB'"),
        (["--domains", "/nonexistent/domains"], "cannot read '/nonexistent/domains'"),
        (["--template", "/nonexistent/t.layout"], "cannot read '/nonexistent/t.layout'"),
    ] as [([String], String)])
    func badFlagValuesAreOneLine(flags: [String], message: String) throws {
        try expectUsageError("compile", ["G", "-o", "@x"] + flags, message)
        try expectUsageError("validate", ["G"] + flags, message)
    }

    func expectUsageError(_ command: String, _ arguments: [String], _ message: String) throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("g.cfg", Self.clean)
        let place = { (text: String) in text.replacingOccurrences(of: "@", with: directory.path + "/") }
        let result = try Tool.grantdt([command] + arguments.map { $0 == "G" ? config : place($0) })
        #expect(result.status == 2, "\(command) \(arguments): \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("grantdt: error: ") && result.stderr.lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(place(message)), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["g.cfg"], "a file was written")
    }

    // MARK: What the flags change

    /// dtc's reading of `config` compiled with `flags`.
    func compiled(_ config: String, _ flags: [String]) throws -> String {
        let directory = try TemporaryDirectory()
        let path = try directory.write("g.cfg", config)
        let result = try Tool.grantdt(["compile", path, "-o", directory.file("g.dtb")] + flags)
        #expect(result.status == 0, "\(result.stderr)")
        return try tree(directory.read("g.dtb"))
    }

    @Test func xenVersionIsTheVersionInTheTree() throws {
        let tree = try compiled(Self.clean, ["--xen-version", "4.19"])
        #expect(tree.contains("model = \"XENVM-4.19\";") && tree.contains("xen,xen-4.19"))
        // 4.17 reads no virtio= key (warned) and makes no node for it.
        let old = try compiled(Self.clean + "virtio = [ 'backend=2, type=virtio,device22, transport=mmio' ]\n", ["--xen-version", "4.17"])
        #expect(!old.contains("virtio@2000200") && old.contains("virtio@2000000"))
    }

    @Test func hostGICAppliesOnlyWhenTheConfigLeavesItOpen() throws {
        #expect(try compiled(Self.clean, ["--host-gic", "v2"]).contains("arm,cortex-a15-gic"))
        #expect(try compiled(Self.clean, []).contains("arm,gic-v3"))
        #expect(try compiled(Self.clean + "gic_version = \"default\"\n", ["--host-gic", "v2"]).contains("arm,cortex-a15-gic"))
        #expect(try compiled(Self.clean + "gic_version = \"v3\"\n", ["--host-gic", "v2"]).contains("arm,gic-v3"))
    }

    @Test func gpaddrBitsBoundTheExtendedRegions() throws {
        // Bank 1 from 8 GiB up to 2^36: 0xe00000000 bytes.
        #expect(try compiled(Self.clean, ["--gpaddr-bits", "36"]).contains("0x02 0x00 0x0e 0x00>"))
        #expect(try compiled(Self.clean, []).contains("0x02 0x00 0xfe 0x00>"))
    }

    @Test func timerFrequencyAndArch() throws {
        #expect(try compiled(Self.clean, ["--timer-frequency", "62500000"]).contains("clock-frequency = <0x3b9aca0>;"))
        #expect(!(try compiled(Self.clean, [])).contains("clock-frequency"))
        let arm32 = try compiled(Self.clean, ["--arch", "arm32"])
        #expect(arm32.contains("\"arm,cortex-a15\"") && arm32.contains("\"arm,armv7-timer\""))
    }

    @Test func rngSeedIsOptIn() throws {
        let hex = (0..<128).map { String(format: "%02x", $0) }.joined()
        #expect(try compiled(Self.clean, ["--rng-seed", hex.uppercased()]).contains("rng-seed = <0x10203 0x4050607"))
        let first = try compiled(Self.clean, ["--rng-seed", "random"])
        let second = try compiled(Self.clean, ["--rng-seed", "random"])
        #expect(first.contains("rng-seed") && first != second)
    }

    @Test func kernelAndRamdiskSizesMoveTheInitrd() throws {
        let config = Self.clean + "ramdisk = \"/var/lib/xen/images/g/initrd.img\"\n"
        // A small kernel: the ramdisk at RAM base + 128 MiB.
        #expect(try compiled(config, ["--ramdisk-size", "8M"]).contains("linux,initrd-start = <0x00 0x48000000>;"))
        // A 200 MiB kernel passes that point: the modules go to the top of bank 0 (512 MiB).
        let big = try compiled(config, ["--ramdisk-size", "8M", "--kernel-size", "200M"])
        #expect(!big.contains("linux,initrd-start = <0x00 0x48000000>;") && big.contains("linux,initrd-end = <0x00 0x5f"))
    }

    /// xl resolves `ramdisk=` (like `kernel=` and `device_tree=`) against
    /// the directory it runs in; so does compile.
    @Test func relativePathsResolveAgainstTheCurrentDirectory() throws {
        let directory = try TemporaryDirectory()
        try directory.write("initrd.img", [UInt8](repeating: 0, count: 0x30_0000))
        let config = try directory.write("g.cfg", Self.clean + "ramdisk = \"initrd.img\"\n")
        let here = try Tool.grantdt(["compile", config, "--dts", directory.file("g.dts")], in: directory.path)
        #expect(here.status == 0, "\(here.stderr)")
        let dts = String(decoding: try #require(directory.read("g.dts")), as: UTF8.self)
        #expect(dts.contains("linux,initrd-start = <0x0 0x48000000>;") && dts.contains("linux,initrd-end = <0x0 0x48300000>;"))
        let elsewhere = try Tool.grantdt(["compile", config, "--dts", directory.file("g.dts")], in: Paths.packageRoot)
        #expect(elsewhere.status == 1 && elsewhere.stderr.contains("error[GUEST-RAMDISK-MISSING]"))
    }

    @Test func templateLoadsAnotherLayout() throws {
        let directory = try TemporaryDirectory()
        let text = try String(contentsOfFile: Paths.inPackage("templates/libxl-arm.layout"), encoding: .utf8)
            .replacingOccurrences(of: "virtio-mmio         = 0x02000000      0x00100000", with: "virtio-mmio         = 0x02100000      0x00100000")
        let template = try directory.write("moved.layout", text)
        let tree = try compiled(Self.clean, ["--template", template])
        #expect(tree.contains("virtio@2100000") && !tree.contains("virtio@2000000"))
    }
}
