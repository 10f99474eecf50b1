import Foundation
import Testing
import TestSupport

/// The guests in examples/: each compiles cleanly to the tree its
/// hand-written golden (examples/golden/) describes, with dtc as the
/// judge, dtc warns about nothing beyond the README's waivers, and each
/// device binds as its config says.
@Suite struct ExampleTests {
    /// The flags `make demo` uses for every example.
    static let flags = ["--domains", "examples/domains", "--ramdisk-size", "8M"]

    /// Each example's devices as `inspect` must bind them: (node, dma, backend).
    static let bindings: [String: [String]] = [
        "driver-domain-disk": ["/virtio@2000000 grant 1"],
        // Names from examples/domains; the dom0 entropy device has no grant_usage: direct.
        "named-backends": [
            "/virtio@2000000 grant 1", "/virtio@2000200 grant 1", "/virtio@2000400 grant 2", "/virtio@2000600 grant 3",
            "/virtio@2000800 direct -",
        ],
        "dom0-forced-grants": ["/virtio@2000000 grant 0", "/virtio@2000200 grant 0"],
        "i2c-gpio": ["/virtio@2000000 grant 2", "/virtio@2000200 grant 2"],
        // Backend 6 has grant_usage=0: direct.
        "eleven-devices": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5].enumerated().map { "/virtio@\(String(0x200_0000 + $0 * 0x200, radix: 16)) grant \($1)" }
            + ["/virtio@2001400 direct -"],
        "partial-dt": ["/virtio@2000000 grant 1"],
    ]

    static var examples: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: Paths.inPackage("examples"))) ?? [])
            .filter { $0.hasSuffix(".cfg") }.map { String($0.dropLast(4)) }.sorted()
    }

    @Test func sixExamplesEachWithAGolden() {
        #expect(Self.examples.count >= 6)
        #expect(Set(Self.examples) == Set(Self.bindings.keys))
        for name in Self.examples {
            #expect(FileManager.default.fileExists(atPath: Paths.inPackage("examples/golden/\(name).dts")), "\(name)")
        }
    }

    /// Compiles one example from the package root (xl resolves
    /// `device_tree` against the current directory).
    static func compile(_ name: String, into directory: TemporaryDirectory) throws -> (blob: [UInt8], dts: String, report: Report) {
        let result = try Tool.grantdt(
            ["compile", "examples/\(name).cfg", "-o", directory.file("\(name).dtb"), "--dts", directory.file("\(name).dts"), "--json"]
                + flags, in: Paths.packageRoot)
        #expect(result.status == 0, "\(result.stderr) \(result.stdoutText)")
        let blob = try #require(directory.read("\(name).dtb"))
        let dts = String(decoding: try #require(directory.read("\(name).dts")), as: UTF8.self)
        return (blob, dts, try Report(result.stdout))
    }

    @Test(arguments: examples)
    func compilesToItsGolden(name: String) throws {
        let directory = try TemporaryDirectory()
        let (blob, dts, report) = try Self.compile(name, into: directory)
        // Only notes (the kernel and ramdisk live on the Xen host).
        #expect(report.problems.isEmpty, "\(report.findings)")

        let golden = try String(contentsOfFile: Paths.inPackage("examples/golden/\(name).dts"), encoding: .utf8)
        let expected = try DTC.compile(golden, waiving: DTC.waivedChecks)
        #expect(expected.warnings.isEmpty, "dtc warned on the golden: \(expected.warnings)")
        let ours = try DTC.decompile(blob, waiving: DTC.waivedChecks)
        #expect(ours.warnings.isEmpty, "dtc warned on our blob: \(ours.warnings)")
        #expect(try ours.text == DTC.decompile(expected.blob).text, "our blob is not the golden tree")

        // The labelled DTS: dtc builds the golden's very bytes from it, and
        // from our blob re-serialised (libfdt and dtc lay blocks out apart).
        let fromDTS = try DTC.compile(dts, waiving: DTC.waivedChecks)
        #expect(fromDTS.warnings.isEmpty, "dtc warned on our DTS: \(fromDTS.warnings)")
        #expect(fromDTS.blob == expected.blob)
        let waivers = DTC.waivedChecks.flatMap { ["-W", "no-\($0)"] }
        let rebuilt = try Tool.dtc(["-I", "dtb", "-O", "dtb", "-o", "-"] + waivers + ["-"], stdin: blob)
        #expect(rebuilt.status == 0 && rebuilt.stdout == expected.blob)
    }

    /// With default checks, dtc's only warnings are the README's waivers.
    @Test(arguments: examples)
    func dtcWarnsOnlyAboutWaivedChecks(name: String) throws {
        let directory = try TemporaryDirectory()
        let (blob, dts, _) = try Self.compile(name, into: directory)
        for warnings in [try DTC.decompile(blob).warnings, try DTC.compile(dts).warnings] {
            for line in warnings.split(separator: "\n") {
                #expect(DTC.waivedChecks.contains { line.contains("Warning (\($0)):") }, "unexpected dtc warning: \(line)")
            }
        }
    }

    @Test(arguments: examples)
    func bindsAsItsConfigSays(name: String) throws {
        let directory = try TemporaryDirectory()
        _ = try Self.compile(name, into: directory)
        let result = try Tool.grantdt(["inspect", "--json", directory.file("\(name).dtb")])
        #expect(result.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
        let devices = try #require(root["devices"] as? [[String: Any]])
        let found = devices.map { device in
            "\(device["path"] as? String ?? "?") \(device["dma"] as? String ?? "?") \((device["backend"] as? Int).map(String.init) ?? "-")"
        }
        #expect(found == Self.bindings[name])
        #expect((root["diagnostics"] as? [Any])?.isEmpty == true)
    }

    @Test func committedPartialTreeIsWhatDtcBuilds() throws {
        let built = try Tool.dtc(["-I", "dts", "-O", "dtb", "-o", "-", Paths.inPackage("examples/passthrough.dts")])
        #expect(built.status == 0 && built.stderr.isEmpty, "\(built.stderr)")
        #expect(FileManager.default.contents(atPath: Paths.inPackage("examples/passthrough.dtb")).map(Array.init) == built.stdout,
                "examples/passthrough.dtb is stale: rebuild it with dtc from passthrough.dts")
    }

    /// The whole directory in one validate run, as a CI job would: every
    /// config and the partial blob, clean; and one --out-dir compile.
    @Test func validateAndCompileTheDirectory() throws {
        let validate = try Tool.grantdt(["validate", "examples", "--json"] + Self.flags, in: Paths.packageRoot)
        #expect(validate.status == 0, "\(validate.stderr)")
        let report = try Report(validate.stdout)
        let expected = ["examples/domains"] + (Self.examples.map { "examples/\($0).cfg" } + ["examples/passthrough.dtb"]).sorted()
        #expect(report.files.map(\.path) == expected)
        #expect(report.problems.isEmpty, "\(report.problems)")

        let directory = try TemporaryDirectory()
        let configs = Self.examples.map { "examples/\($0).cfg" }
        let compile = try Tool.grantdt(["compile"] + configs + ["--out-dir", directory.file("out")] + Self.flags, in: Paths.packageRoot)
        #expect(compile.status == 0)
        for name in Self.examples {
            let single = try Self.compile(name, into: directory)
            #expect(directory.read("out/\(name).dtb") == single.blob, "\(name)")
        }
    }
}
