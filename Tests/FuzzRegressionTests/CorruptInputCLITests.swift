import DeviceTree
import Foundation
import FuzzHarness
import Testing
import TestSupport

/// The CLI on corrupt blobs, as a user meets it: `decompile -o` into an
/// existing file and `inspect` (text and JSON). For every input the tool
/// succeeds or prints diagnostics and exits 1/2, never dies of a signal,
/// and never leaves a partial or temporary output file behind.
@Suite struct CorruptInputCLITests {
    static let seeds = ["golden-virtio-mixed", "golden-vpci", "runtime-pci-iommu-map", "runtime-restricted-pool"]
    static let previous = Array("/* the previous output */\n".utf8)

    /// Deterministic corruptions of the seeds, plus the seeds themselves.
    static func inputs() throws -> [(name: String, bytes: [UInt8])] {
        try variants(of: seeds.map { "Fuzz/corpus/dtb/\($0).dtb" }, BlobCorruption.self, count: 10, seed: 0x6772_616e_7464_74)
    }

    /// Each file (a path in the package), then `count` corruptions of it
    /// that cycle through the kinds, named `FILE#INDEX`.
    static func variants<Kind: Corruption>(of files: [String], _ kind: Kind.Type, count: Int, seed: UInt64) throws
        -> [(name: String, bytes: [UInt8])]
    {
        var random = SplitMix64(seed: seed)
        var inputs: [(String, [UInt8])] = []
        for file in files {
            let original = try Array(Data(contentsOf: URL(fileURLWithPath: Paths.inPackage(file))))
            inputs.append((file, original))
            let kinds = Array(Kind.allCases)
            for index in 0..<count {
                inputs.append(("\(file)#\(index)", kinds[index % kinds.count].apply(original, &random)))
            }
        }
        return inputs
    }

    /// Damage a truncated download, a bad disk or a broken tool does to a blob.
    enum BlobCorruption: Corruption {
        case truncate, flipByte, headerField, insertBytes, zeroTail

        func apply(_ blob: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
            var bytes = blob
            let offset = Int(random.next() % UInt64(blob.count))
            switch self {
            case .truncate: bytes.removeSubrange(offset...)
            case .flipByte: bytes[offset] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            case .headerField:
                // One of the ten header words, set to a boundary value.
                let field = Int(random.next() % 10) * 4
                let value: [UInt8] = [[0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff], [0, 0, 0, 0x28], [0x7f, 0xff, 0xff, 0xfc]][Int(random.next() % 4)]
                bytes.replaceSubrange(field..<field + 4, with: value)
            case .insertBytes: bytes.insert(contentsOf: [0, 0, 0, 1, 0x41, 0, 0, 0], at: offset & ~3)
            case .zeroTail: bytes.replaceSubrange(offset..., with: repeatElement(0, count: blob.count - offset))
            }
            return bytes
        }
    }

    @Test func decompileNeverWritesAPartialFile() throws {
        var statuses = Set<Int32>()
        for (name, bytes) in try Self.inputs() {
            let directory = try TemporaryDirectory()
            let input = try directory.write("in.dtb", bytes)
            let output = try directory.write("out.dts", Self.previous)
            let result = try Tool.grantdt(["decompile", input, "-o", output])
            statuses.insert(result.status)
            #expect([0, 2].contains(result.status), "\(name): exit \(result.status) \(result.stderr)")
            try Self.expectWholeOrUntouched(result, in: directory, output: "out.dts", name) { written in
                let whole = Array(DTSPrinter.print(try DTBReader.read(bytes)).utf8)
                #expect(written == whole, "\(name)")
            }
        }
        #expect(statuses == [0, 2], "the inputs should reach both outcomes")
    }

    /// The `-o` contract: nothing on stdout, no file but the input and the
    /// output in `directory`; on exit 0 the output is whole (`isWhole`
    /// checks it), otherwise it is byte for byte the previous one, and
    /// exit 2 comes with one line on stderr.
    static func expectWholeOrUntouched(
        _ result: ToolResult, in directory: TemporaryDirectory, output: String, _ name: String,
        isWhole: ([UInt8]) throws -> Void
    ) throws {
        #expect(result.stdout.isEmpty, "\(name): -o printed on stdout")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(files.count == 2 && files.contains(output), "\(name): left \(files.sorted())")
        let written = directory.read(output) ?? []
        if result.status == 0 {
            try isWhole(written)
            return
        }
        #expect(written == previous, "\(name): the old output changed")
        if result.status == 2 { expectOneLineError(result, name) }
    }

    @Test func inspectExitsWithACode() throws {
        var statuses = Set<Int32>()
        for (name, bytes) in try Self.inputs() {
            let directory = try TemporaryDirectory()
            let input = try directory.write("in.dtb", bytes)
            for json in [false, true] {
                let result = try Tool.grantdt(["inspect", input] + (json ? ["--json"] : []))
                statuses.insert(result.status)
                #expect([0, 1, 2].contains(result.status), "\(name): exit \(result.status) \(result.stderr)")
                if result.status == 2 {
                    #expect(result.stdout.isEmpty, "\(name): output with exit 2")
                    Self.expectOneLineError(result, name)
                } else if json {
                    #expect((try? JSONSerialization.jsonObject(with: Data(result.stdout))) != nil, "\(name): not JSON")
                } else {
                    #expect(!result.stdout.isEmpty, "\(name): no table")
                }
            }
        }
        #expect(statuses == [0, 1, 2], "the inputs should reach every outcome")
    }

    /// An output path that cannot be written: exit 2, nothing created.
    @Test(arguments: ["missing-directory/out.dts", "a-directory"])
    func unwritableOutput(output: String) throws {
        let directory = try TemporaryDirectory()
        let blob = try Array(Data(contentsOf: URL(fileURLWithPath: Paths.inPackage("Fuzz/corpus/dtb/golden-minimal.dtb"))))
        let input = try directory.write("in.dtb", blob)
        try FileManager.default.createDirectory(atPath: directory.file("a-directory"), withIntermediateDirectories: false)
        let result = try Tool.grantdt(["decompile", input, "-o", directory.file(output)])
        #expect(result.status == 2)
        Self.expectOneLineError(result, output)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["a-directory", "in.dtb"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("a-directory")).isEmpty)
    }

    static func expectOneLineError(_ result: ToolResult, _ name: String) {
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[0].hasPrefix("grantdt: error: ") && lines[1].isEmpty, "\(name): \(result.stderr)")
    }
}

/// One kind of damage to an input file, drawn from a seeded generator.
protocol Corruption: CaseIterable {
    func apply(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8]
}
