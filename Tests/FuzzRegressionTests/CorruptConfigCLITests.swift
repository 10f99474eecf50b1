import DeviceTree
import Foundation
import Testing
import TestSupport

/// `grantdt compile CONFIG -o EXISTING` on corrupt configs, as a user
/// meets it after a bad edit: the compiler either writes the whole blob
/// (exit 0) or reports and leaves the old output byte for byte as it was
/// (exit 1 with findings, exit 2 with one line), never dies of a signal,
/// and never leaves a temporary file behind.
extension CorruptInputCLITests {
    /// The examples' configs, and the flags their goldens are built with.
    static let configs = ["dom0-forced-grants", "driver-domain-disk", "eleven-devices", "i2c-gpio", "named-backends", "partial-dt"]
    static let compileFlags = ["--domains", Paths.inPackage("examples/domains"), "--ramdisk-size", "8M"]

    /// Deterministic corruptions of the configs, plus the configs themselves.
    static func configInputs() throws -> [(name: String, bytes: [UInt8])] {
        try variants(of: configs.map { "examples/\($0).cfg" }, ConfigCorruption.self, count: 8, seed: 0x786c_2e63_6667)
    }

    /// Edits a person or a broken tool makes to a config.
    enum ConfigCorruption: Corruption {
        case truncate, flipByte, insertToken, deleteLine, duplicateLine

        /// Bytes that change what xl's lexer and grammar see.
        static let tokens = ["\"", "'", "[", "]", ",", "=", "\n", "\0", "#", "\\x41", "\u{1b}[2J", "0x", "\r", "ÿ"]

        func apply(_ text: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
            var bytes = text
            let offset = Int(random.next() % UInt64(text.count))
            switch self {
            case .truncate: bytes.removeSubrange(offset...)
            case .flipByte: bytes[offset] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            case .insertToken: bytes.insert(contentsOf: Array(Self.tokens[Int(random.next() % UInt64(Self.tokens.count))].utf8), at: offset)
            case .deleteLine, .duplicateLine:
                let line = Self.line(around: offset, in: bytes)
                if self == .deleteLine { bytes.removeSubrange(line) } else { bytes.insert(contentsOf: bytes[line], at: line.lowerBound) }
            }
            return bytes
        }

        /// The line holding `offset`, with its newline.
        private static func line(around offset: Int, in bytes: [UInt8]) -> Range<Int> {
            let newline = UInt8(ascii: "\n")
            let start = bytes[..<offset].lastIndex(of: newline).map { $0 + 1 } ?? 0
            let end = bytes[offset...].firstIndex(of: newline).map { $0 + 1 } ?? bytes.count
            return start..<end
        }
    }

    @Test func compileNeverWritesAPartialBlob() throws {
        var statuses = Set<Int32>()
        for (name, bytes) in try Self.configInputs() {
            let directory = try TemporaryDirectory()
            let input = try directory.write("in.cfg", bytes)
            let output = try directory.write("out.dtb", Self.previous)
            // From the package root: `device_tree=` paths are relative to it.
            let result = try Tool.grantdt(["compile", input, "-o", output] + Self.compileFlags, in: Paths.packageRoot)
            statuses.insert(result.status)
            #expect([0, 1, 2].contains(result.status), "\(name): exit \(result.status) \(result.stderr)")
            try Self.expectWholeOrUntouched(result, in: directory, output: "out.dtb", name) { written in
                // The whole blob: it reads back, and is exactly what writing its tree gives.
                let rewritten = try DTBWriter.write(try DTBReader.read(written))
                #expect(rewritten == written, "\(name): not a whole blob")
            }
            if result.status == 1 {
                #expect(result.stderr.contains("error["), "\(name): exit 1 without an error finding: \(result.stderr)")
            }
        }
        #expect(statuses.isSuperset(of: [0, 1]), "the inputs should reach success and errors, got \(statuses)")
    }
}

/// Found by fuzzing (Fuzz/corpus/xlcfg/crash-0939634d…): a backend domid
/// no domain can have. xl accepts it and libxl writes it into `iommus`, so
/// `compile` builds that tree with a warning; the blob's own checks call
/// it an error. Both commands must say so, at the same device.
@Suite struct AnnouncedTreeErrorTests {
    @Test(arguments: [("40000", "0x9c40"), (String(repeating: "1", count: 113), "0xffffffff")])
    func compileWarnsWhatValidateRejects(backend: String, domid: String) throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("guest.cfg", """
            name = "guest"
            memory = 512
            disk = [ 'backend=\(backend), specification=virtio, vdev=xvda, target=/dev/vg/guest' ]

            """)
        let compiled = try Tool.grantdt(["compile", config, "-o", directory.file("guest.dtb")])
        #expect(compiled.status == 0, "\(compiled.stderr)")
        #expect(compiled.stderr.contains("guest.cfg:3:19: warning[XL-BACKEND-RANGE]"), "\(compiled.stderr)")
        let validated = try Tool.grantdt(["validate", directory.file("guest.dtb")])
        #expect(validated.status == 1)
        #expect(validated.stderr.contains("error[DT-DOMID-RANGE]: /virtio@2000000: iommus gives backend domid \(domid)"), "\(validated.stderr)")
    }
}
