import DeviceTree
import Foundation
import GuestLayout
import Testing
import TestSupport
import XLConfig

/// The files a config names, read as xl reads them, end to end through
/// `GuestLayoutBuilder.compile`.
@Suite struct GuestInputsTests {
    func compile(_ configure: (inout GuestConfig) -> Void, options: LayoutOptions = Guests.options()) -> LayoutResult {
        var guest = Guests.minimal()
        configure(&guest)
        return GuestLayoutBuilder.compile(guest, options: options)
    }

    @Test func realFilesGiveTheSameTreeAsDescribedInputs() throws {
        let directory = try TemporaryDirectory()
        let kernel = try directory.write("zImage", Fixtures.arm32zImage(size: 6 << 20))
        let initrd = try directory.write("initrd", [UInt8](repeating: 1, count: (8 << 20) + 1))
        let partialSource = GoldenFiles.text("partial-dt.input")
        let partial = try directory.write("partial.dtb", DTC.compile(partialSource).blob)
        let result = compile {
            $0.kernel = Guests.located(kernel, line: 4)
            $0.ramdisk = Guests.located(initrd, line: 5)
            $0.deviceTree = Guests.located(partial, line: 6)
        }
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let summary = try #require(result.summary)
        #expect(summary.arch == .arm32)
        #expect(summary.memory.kernel == AddressRange(base: 0x4000_8000, size: 6 << 20))
        #expect(summary.memory.ramdisk == AddressRange(base: 0x4800_0000, size: 0x80_1000))
        let chosen = try #require(result.tree?.node(at: "/chosen"))
        #expect(chosen[property: "linux,initrd-start"]?.u64 == 0x4800_0000)
        #expect(chosen[property: "linux,initrd-end"]?.u64 == 0x4880_1000)
        #expect(result.tree?.node(at: "/passthrough/ethernet@ff0e0000") != nil)
        #expect(result.tree?.node(at: "/cpus/cpu@0")?[property: "compatible"]?.string == "arm,cortex-a15")
    }

    /// Relative paths resolve against `workingDirectory` (the CLI leaves it
    /// nil, so the process's directory: CompileTests checks that). Tests
    /// never change the process's directory: they run in parallel.
    @Test func relativePathsResolveAgainstTheWorkingDirectory() throws {
        let directory = try TemporaryDirectory()
        try directory.write("Image", Fixtures.arm64Image(textOffset: 0x8_0000, size: 10 << 20))
        try directory.write("initrd", [UInt8](repeating: 0, count: 3 << 20))
        let options = Guests.options { $0.workingDirectory = directory.path }
        let result = compile({
            $0.kernel = Guests.located("Image", line: 4)
            $0.ramdisk = Guests.located("initrd", line: 5)
        }, options: options)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        #expect(result.summary?.memory.kernel == AddressRange(base: 0x4008_0000, size: 10 << 20))
        #expect(result.summary?.memory.ramdisk?.size == 3 << 20)
        // Without it, the same relative names are looked up elsewhere.
        let elsewhere = compile { $0.kernel = Guests.located("Image", line: 4) }
        #expect(elsewhere.diagnostics.map(\.rule) == ["GUEST-KERNEL-ASSUMED"])
    }

    @Test func missingKernelIsAssumedFromTheFlags() throws {
        let options = Guests.options {
            $0.arch = .arm32
            $0.kernelSize = 4 << 20
        }
        let result = compile({ $0.kernel = Guests.located("no-such-zImage", line: 4) }, options: options)
        #expect(result.diagnostics.map(\.rule) == ["GUEST-KERNEL-ASSUMED"])
        #expect(result.summary?.memory.kernel == AddressRange(base: 0x4000_8000, size: 4 << 20))
        #expect(result.summary?.arch == .arm32)
    }

    /// The finding's text, word for word: scripts match on it.
    @Test func assumedKernelTextNamesThePathOrItsAbsence() throws {
        let options = Guests.options {
            $0.arch = .arm32
            $0.kernelSize = 4 << 20
        }
        let missing = compile({ $0.kernel = Guests.located("no-such-zImage", line: 4) }, options: options)
        #expect(missing.diagnostics.map(\.message) == [
            "kernel file 'no-such-zImage' not found: assuming an arm32 kernel of 4194304 bytes at RAM base + 0x8000",
        ])
        let absent = compile({ $0.kernel = nil })
        #expect(absent.diagnostics.map(\.message) == [
            "no `kernel=`: assuming an arm64 kernel of 33554432 bytes at RAM base + 0x0",
        ])
    }

    @Test func archOverridesAnUnreadableHeader() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("kernel.bin", [UInt8](repeating: 0xaa, count: 3 << 20))
        let result = compile({ $0.kernel = Guests.located(path, line: 4) }, options: Guests.options { $0.arch = .arm64 })
        #expect(result.diagnostics.map(\.rule) == ["GUEST-ARCH-OVERRIDE"])
        #expect(result.summary?.memory.kernel == AddressRange(base: 0x4000_0000, size: 3 << 20))
    }

    @Test func anEmptyRamdiskPathMeansNoRamdisk() throws {
        let result = compile { $0.ramdisk = Guests.located("", line: 5) }
        #expect(!result.hasErrors)
        #expect(result.tree?.node(at: "/chosen")?[property: "linux,initrd-start"] == nil)
    }

    @Test func aRamdiskDirectoryIsAnError() throws {
        let directory = try TemporaryDirectory()
        let result = compile { $0.ramdisk = Guests.located(directory.path, line: 5) }
        #expect(result.diagnostics.map(\.rule).contains("GUEST-RAMDISK-MISSING"))
        #expect(result.tree == nil)
    }
}
