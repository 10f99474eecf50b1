import DeviceTree
import Foundation
import FuzzHarness
import Testing
import TestSupport

/// The structure-aware mutator: repeatable per seed, mostly producing
/// readable but different trees, and falling back to byte mutation.
@Suite struct TreeMutatorTests {
    static let seedBlob: [UInt8] = {
        let path = Paths.inPackage("Fuzz/corpus/dtb/golden-virtio-mixed.dtb")
        return (try? Array(Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
    }()

    /// A stand-in for libFuzzer's byte mutator: flips one byte.
    static func flip(_ bytes: inout [UInt8], _ maxSize: Int) {
        if bytes.isEmpty { bytes = [0] }
        bytes[bytes.count / 2] ^= 0x5a
    }

    @Test func sameSeedSameMutation() throws {
        #expect(try DTBReader.read(Self.seedBlob).root.children.count > 5)
        for seed: UInt32 in [1, 2, 77, 0xffff_ffff] {
            let first = TreeMutator.mutate(Self.seedBlob, maxSize: 1 << 16, seed: seed, bytes: Self.flip)
            let second = TreeMutator.mutate(Self.seedBlob, maxSize: 1 << 16, seed: seed, bytes: Self.flip)
            #expect(first == second)
        }
    }

    /// Most mutations of a valid blob are valid blobs of a changed tree;
    /// every output respects the size limit.
    @Test func mutationsMostlyKeepTheBlobReadable() throws {
        let original = try DTBReader.read(Self.seedBlob)
        var readableAndChanged = 0
        for seed in UInt32(0)..<200 {
            let output = TreeMutator.mutate(Self.seedBlob, maxSize: 1 << 16, seed: seed, bytes: Self.flip)
            #expect(output.count <= 1 << 16)
            if let tree = try? DTBReader.read(output), tree != original { readableAndChanged += 1 }
        }
        #expect(readableAndChanged >= 100, "\(readableAndChanged) of 200")
    }

    @Test func unreadableInputGetsByteMutation() {
        let garbage: [UInt8] = Array("not a device tree".utf8)
        let output = TreeMutator.mutate(garbage, maxSize: 64, seed: 9, bytes: Self.flip)
        var expected = garbage
        Self.flip(&expected, 64)
        #expect(output == expected)
    }
}
