import GuestLayout
import Testing
import TestSupport
import XLConfig
@testable import grantdt

/// The pieces behind `compile` and `validate` that `run` reuses: flag
/// values, and `CompileFlags.compileGuest(at:)`.
@Suite struct CompilerAPITests {
    @Test func defaultsAreTheDocumentedOnes() throws {
        let settings = try CompileOptions.parse([]).flags.settings()
        let layout = settings.layout
        #expect(layout.xenVersion == XenVersion(major: 4, minor: 22))
        #expect(layout.gpaddrBits == 40 && layout.hostGIC == .v3)
        #expect(layout.timerFrequency == nil && layout.rngSeed == nil && layout.arch == nil)
        #expect(layout.kernelSize == 32 << 20 && layout.ramdiskSize == nil)
        #expect(settings.domainsPath == nil && settings.templatePath == nil && !settings.werror)
    }

    @Test func everyFlagReachesTheSettings() throws {
        let seed = String(repeating: "0f", count: 128)
        let settings = try CompileOptions.parse([
            "--xen-version", "4.19", "--gpaddr-bits", "44", "--host-gic", "v2", "--timer-frequency", "62500000",
            "--rng-seed", seed, "--arch", "arm32", "--kernel-size", "0x1000000", "--ramdisk-size", "3K",
            "--domains", "d", "--template", "t", "--werror",
        ]).flags.settings()
        let layout = settings.layout
        #expect(layout.xenVersion == XenVersion(major: 4, minor: 19))
        #expect(layout.gpaddrBits == 44 && layout.hostGIC == .v2 && layout.timerFrequency == 62_500_000)
        #expect(layout.rngSeed == [UInt8](repeating: 0x0f, count: 128))
        #expect(layout.arch == .arm32 && layout.kernelSize == 0x100_0000 && layout.ramdiskSize == 3072)
        #expect(settings.domainsPath == "d" && settings.templatePath == "t" && settings.werror)
    }

    @Test(arguments: [
        ("8388608", 8 << 20), ("0x800000", 8 << 20), ("8M", 8 << 20), ("8m", 8 << 20), ("4K", 4096), ("1G", 1 << 30),
        ("0x10M", 16 << 20),
    ] as [(String, UInt64)])
    func sizes(text: String, bytes: UInt64) {
        #expect(ByteSize.value(text) == bytes)
    }

    @Test(arguments: ["", "M", "0x", "12Q", "-1", "1.5M", "8 M", "0X10", "99999999999G", "18446744073709551616"])
    func badSizes(text: String) {
        #expect(ByteSize.value(text) == nil)
    }

    /// What `run` gets for a guest: the tree, the findings and each device.
    @Test func compileGuestGivesTreeAndDevices() throws {
        let options = try CompileOptions.parse(["--domains", Paths.inPackage("examples/domains")]).flags
        let guest = try options.compileGuest(at: Paths.inPackage("examples/named-backends.cfg"))
        #expect(guest.tree != nil)
        #expect(guest.diagnostics.map(\.rule) == ["GUEST-KERNEL-ASSUMED"])
        #expect(guest.devices.map(\.path) == ["/virtio@2000000", "/virtio@2000200", "/virtio@2000400", "/virtio@2000600", "/virtio@2000800"])
        #expect(guest.devices.map(\.virtioID) == [2, 2, 1, 0x19, 4])
        #expect(guest.devices.map(\.placement.request.backend) == [1, 1, 2, 3, 0])
        #expect(guest.devices.map(\.placement.request.grants) == [true, true, true, true, false])
        #expect(guest.devices.map(\.placement.slot.spi) == [33, 34, 35, 36, 37])
        // Every device path is a node of the tree.
        let children = Set(guest.tree?.root.children.map { "/" + $0.name } ?? [])
        #expect(guest.devices.allSatisfy { children.contains($0.path) })
    }

    @Test func compileGuestFoldsInputFindingsAndKeepsNoTreeOnErrors() throws {
        let directory = try TemporaryDirectory()
        let domains = try directory.write("domains", "storage 1\nnetbe two\naudio 3\n")
        let options = try CompileOptions.parse(["--domains", domains]).flags
        let guest = try options.compileGuest(at: Paths.inPackage("examples/named-backends.cfg"))
        #expect(guest.tree == nil && guest.devices.isEmpty)
        #expect(guest.diagnostics.first?.rule == "XL-DOMAINS-SYNTAX" && guest.diagnostics.first?.file == domains)
        #expect(guest.diagnostics.contains { $0.rule == "XL-BACKEND-NAME" })
    }

    @Test func werrorDropsTheTree() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("g.cfg", "name = \"g\"\nmemory = 512\nvirtio = [ 'backend=1, type=virtio,device1' ]\n")
        #expect(try CompileOptions.parse([]).flags.compileGuest(at: config).tree != nil)
        let promoted = try CompileOptions.parse(["--werror"]).flags.compileGuest(at: config)
        #expect(promoted.tree == nil)
        #expect(promoted.diagnostics.contains { $0.rule == "XL-VIRTIO-NO-TRANSPORT" && $0.severity == .error })
        #expect(promoted.diagnostics.contains { $0.rule == "GUEST-KERNEL-ASSUMED" && $0.severity == .note })
    }

    @Test func unreadableInputsThrow() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("g.cfg", "name = \"g\"\n")
        #expect(throws: CLIFailure.self) { try CompileOptions.parse([]).flags.compileGuest(at: directory.file("missing.cfg")) }
        #expect(throws: CLIFailure.self) { try CompileOptions.parse(["--domains", directory.file("none")]).flags.compileGuest(at: config) }
        #expect(throws: CLIFailure.self) { try CompileOptions.parse(["--xen-version", "4.16"]).flags.compileGuest(at: config) }
    }
}
