import Foundation
import TestSupport
@testable import GuestLayout
import Testing

/// The domain builder's kernel probes, with the real gzip as the oracle
/// for the compressed case.
@Suite struct KernelImageTests {
    let ramBase: UInt64 = 0x4000_0000

    func parse(_ bytes: [UInt8]) throws(KernelImage.Unrecognised) -> KernelImage {
        try KernelImage.parse(bytes, ramBase: ramBase, arm32Offset: 0x8000)
    }

    @Test func arm64ImageWithEitherMagic() throws {
        #expect(try parse(Fixtures.arm64Image(textOffset: 0x80000, size: 9000))
            == KernelImage(arch: .arm64, loadOffset: 0x80000, size: 9000))
        #expect(try parse(Fixtures.arm64Image(size: 100, v1MagicOnly: true)).arch == .arm64)
    }

    @Test func arm32zImageLoadsAt0x8000WhateverItsHeaderSays() throws {
        var image = Fixtures.arm32zImage(size: 5000)
        image[0x28] = 0x12  // start address field: ignored for placement
        #expect(try parse(image) == KernelImage(arch: .arm32, loadOffset: 0x8000, size: 5000))
    }

    @Test func arm64IsProbedFirst() throws {
        var both = Fixtures.arm64Image()
        both[0x24...0x27] = [0x18, 0x28, 0x6f, 0x01]
        #expect(try parse(both).arch == .arm64)
    }

    @Test func refusesWhatNoLoaderTakes() {
        #expect(throws: KernelImage.Unrecognised.noHeader) { try parse([UInt8](repeating: 0, count: 4096)) }
        // Too short for the arm64 header (64 bytes) even with its magic.
        #expect(throws: KernelImage.Unrecognised.noHeader) { try parse(Array(Fixtures.arm64Image().prefix(60))) }
        #expect(throws: KernelImage.Unrecognised.textOffsetTooLarge(.max)) {
            try parse(Fixtures.arm64Image(textOffset: .max))
        }
    }

    @Test(arguments: ["-1", "-9"])
    func gzipKernelIsReadAfterUnpacking(level: String) throws {
        let image = Fixtures.arm64Image(textOffset: 0x20_0000, size: 300_000)
        let packed = try Fixtures.gzip(image, level: level)
        // The builder's buffer is the trailer's size plus 16.
        #expect(try parse(packed) == KernelImage(arch: .arm64, loadOffset: 0x20_0000, size: 300_016, gzip: true))
    }

    @Test func gzipOfIncompressibleDataUsesStoredBlocks() throws {
        var random = SplitMix64(seed: 7)
        var image = Fixtures.arm32zImage(size: 70_000)
        for index in 0x30..<image.count { image[index] = UInt8.random(in: 0...255, using: &random) }
        let packed = try Fixtures.gzip(image)
        #expect(try parse(packed) == KernelImage(arch: .arm32, loadOffset: 0x8000, size: 70_016, gzip: true))
    }

    @Test func gzipHeaderFieldsAreSkipped() throws {
        // FNAME is set when gzip stores the name (no -n and a named file).
        let directory = try TemporaryDirectory()
        let path = try directory.write("Image", Fixtures.arm64Image())
        let result = try Tool.run("gzip", ["-k", path])
        #expect(result.status == 0)
        let packed = try #require(directory.read("Image.gz"))
        #expect(packed[3] & 0x08 != 0)
        #expect(try parse(packed).arch == .arm64)
    }

    @Test func gzipExtraFieldIsSkipped() throws {
        var packed = try Fixtures.gzip(Fixtures.arm64Image())
        let extra = [UInt8](repeating: 0x55, count: 0x1fe)  // XLEN: a low byte near its carry
        packed[3] |= 0x04
        packed.insert(contentsOf: [0xfe, 0x01] + extra, at: 10)
        #expect(try parse(packed).arch == .arm64)
    }

    @Test func corruptOrHugeGzipIsRefused() throws {
        var packed = try Fixtures.gzip(Fixtures.arm64Image())
        packed[10] = 0xff  // block type 3: reserved
        #expect(throws: KernelImage.Unrecognised.corruptGzip("reserved block type")) { try parse(packed) }
        var huge = try Fixtures.gzip(Fixtures.arm64Image())
        huge.replaceSubrange((huge.count - 4)..., with: [0, 0, 0, 0x41])  // ISIZE > 1 GiB
        #expect(throws: KernelImage.Unrecognised.gzipTooLarge(0x4100_0000)) { try parse(huge) }
    }
}
