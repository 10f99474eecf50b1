import Foundation
import SystemIO
import Testing
import TestSupport

/// `StagedFile`: nothing reaches the target before `commit()`, a discarded
/// stage leaves no trace, and the file gets the mode a plain create gives.
@Suite struct StagedFileTests {
    private func entries(_ directory: TemporaryDirectory) throws -> [String] {
        try FileSystem.directoryEntries(directory.path)
    }

    private func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    @Test func commitReplacesTheTargetWhole() throws {
        let directory = try TemporaryDirectory()
        let target = try directory.write("out.dtb", "old")
        let staged = try StagedFile(Array("new contents".utf8), for: target)
        #expect(directory.read("out.dtb") == Array("old".utf8), "nothing in place before commit")
        #expect(try entries(directory).count == 2)
        try staged.commit()
        #expect(directory.read("out.dtb") == Array("new contents".utf8))
        #expect(try entries(directory) == ["out.dtb"])
    }

    @Test func discardLeavesTheTargetAndNoTemporaryFile() throws {
        let directory = try TemporaryDirectory()
        let target = try directory.write("out.dtb", "old")
        do {
            let staged = try StagedFile(Array("new".utf8), for: target)
            staged.discard()
        }
        _ = try StagedFile(Array("dropped uncommitted".utf8), for: target)
        #expect(directory.read("out.dtb") == Array("old".utf8))
        #expect(try entries(directory) == ["out.dtb"])
    }

    /// 0666 less the process's umask, like `open(O_CREAT)`. The umask is
    /// read from /proc: calling umask(2) would change it for every test
    /// running in parallel.
    @Test func modeIsWhatAPlainCreateGives() throws {
        let status = String(decoding: try FileSystem.readFile("/proc/self/status"), as: UTF8.self)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Umask:") })
        let mask = try #require(mode_t(line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8))
        let directory = try TemporaryDirectory()
        try StagedFile(Array("x".utf8), for: directory.file("new.dtb")).commit()
        #expect(mode(directory.file("new.dtb")) == 0o666 & ~mask)
    }

    /// Many stages of one target at once get distinct temporary files.
    @Test func stagesOfOneTargetDoNotCollide() throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("out.dtb")
        let stages = try (0..<200).map { try StagedFile(Array("\($0)".utf8), for: target) }
        #expect(try entries(directory).count == 200)
        try stages[137].commit()
        stages.forEach { $0.discard() }
        #expect(directory.read("out.dtb") == Array("137".utf8))
        #expect(try entries(directory) == ["out.dtb"])
    }

    /// Temporary names count up from a random start; one already taken
    /// (here: the name the next stage would get) is skipped, not reused.
    @Test func aTakenTemporaryNameIsSkipped() throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("out.dtb")
        let first = try StagedFile(Array("first".utf8), for: target)
        let firstName = try #require(try entries(directory).first)
        let suffix = try #require(UInt64(firstName.split(separator: ".").last ?? "", radix: 36))
        let next = ".out.dtb." + String((suffix + 1) & ((1 << 36) - 1), radix: 36)
        _ = try directory.write(next, "someone else's")
        let second = try StagedFile(Array("second".utf8), for: target)
        #expect(try entries(directory).count == 3)
        #expect(directory.read(next) == Array("someone else's".utf8))
        try second.commit()
        first.discard()
        #expect(directory.read("out.dtb") == Array("second".utf8))
    }

    @Test func unwritableDirectoryIsAnIOError() throws {
        #expect(throws: IOError.self) { try StagedFile([1], for: "/proc/no-such-dir/out.dtb") }
    }
}
