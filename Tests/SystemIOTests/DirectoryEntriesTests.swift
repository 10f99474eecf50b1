import Foundation
@testable import SystemIO
import Testing
import TestSupport

/// `FileSystem.directoryEntries(_:excludingDirectories:)`: directories are
/// left out whether readdir names them or a symbolic link leads to one;
/// files, and links to files, stay.
@Suite struct DirectoryEntriesTests {
    @Test func leavesOutDirectoriesAndLinksToThem() throws {
        let directory = try TemporaryDirectory()
        _ = try directory.write("a.cfg", "name = \"a\"\n")
        try FileManager.default.createDirectory(atPath: directory.file("d.cfg"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: directory.file("l.cfg"), withDestinationPath: directory.file("d.cfg"))
        try FileManager.default.createSymbolicLink(atPath: directory.file("f.cfg"), withDestinationPath: directory.file("a.cfg"))
        #expect(try FileSystem.directoryEntries(directory.path) == ["a.cfg", "d.cfg", "f.cfg", "l.cfg"])
        #expect(try FileSystem.directoryEntries(directory.path, excludingDirectories: true) == ["a.cfg", "f.cfg"])
        #expect(try FileSystem.directoryEntries(directory.path + "/", excludingDirectories: true) == ["a.cfg", "f.cfg"])
    }

    /// Sorted by their UTF-8 bytes, as `ls` sorts in the C locale: upper
    /// case first, a prefix before its extensions, non-ASCII last.
    @Test func sortsNamesBytewise() throws {
        let directory = try TemporaryDirectory()
        let names = ["b.cfg", "a.cfg", "ab.cfg", "a", "Z.cfg", "é.cfg", "e.cfg", "a.cfg.cfg"]
        for name in names { _ = try directory.write(name, "") }
        #expect(try FileSystem.directoryEntries(directory.path) == ["Z.cfg", "a", "a.cfg", "a.cfg.cfg", "ab.cfg", "b.cfg", "e.cfg", "é.cfg"])
    }

    /// The comparison behind the sort agrees with comparing the byte arrays,
    /// on random names that often share prefixes (seeded, reproducible).
    @Test func bytewiseOrderMatchesTheBytes() {
        var random = SplitMix64(seed: 0x5eed_1e55)
        let pieces = ["", "a", "b", "guest-", "1", "10", ".cfg", "é", "ü", "\u{1F600}", "Z", "\0"]
        func name() -> String { (0..<Int(random.next() % 5)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined() }
        for _ in 0..<5_000 {
            let (a, b) = (name(), name())
            #expect(FileSystem.bytewiseBefore(a, b) == Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)), "\(a) \(b)")
        }
    }

    @Test func joinsWithOneSlash() {
        #expect(FileSystem.joined("dir", "a.cfg") == "dir/a.cfg")
        #expect(FileSystem.joined("dir/", "a.cfg") == "dir/a.cfg")
    }
}

/// A seeded generator (SplitMix64), so a failure replays.
private struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
