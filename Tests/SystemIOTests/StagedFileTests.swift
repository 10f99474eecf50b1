import Foundation
@testable import SystemIO
import Testing
import TestSupport

/// `StagedFile`: nothing reaches the target before `commit()`, a discarded
/// stage leaves no trace, and the file gets the mode a plain create gives;
/// each for both stagings, the unnamed file (`O_TMPFILE`) and the named
/// temporary file used where that is missing.
@Suite struct StagedFileTests {
    private func entries(_ directory: TemporaryDirectory) throws -> [String] {
        try FileSystem.directoryEntries(directory.path)
    }

    private func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : 0
    }

    /// Entries a stage adds before its commit: the named temporary file.
    private func visibleWhileStaged(_ unnamed: Bool) -> Int { unnamed ? 0 : 1 }

    /// This machine's file systems (ext4 for the test directories, tmpfs)
    /// support O_TMPFILE: the fast path is the one taken.
    @Test func stagingIsUnnamedWhereTheFileSystemAllows() throws {
        let directory = try TemporaryDirectory()
        let staged = try StagedFile(Array("x".utf8), for: directory.file("new.dtb"))
        #expect(staged.isUnnamed)
        #expect(try entries(directory).isEmpty, "an unnamed file is not listed")
        try staged.commit()
        #expect(try entries(directory) == ["new.dtb"])
    }

    @Test(arguments: [true, false])
    func commitCreatesAMissingTarget(unnamed: Bool) throws {
        let directory = try TemporaryDirectory()
        let staged = try StagedFile(Array("contents".utf8), for: directory.file("out.dtb"), unnamed: unnamed)
        #expect(try entries(directory).count == visibleWhileStaged(unnamed))
        #expect(directory.read("out.dtb") == nil, "nothing in place before commit")
        try staged.commit()
        #expect(directory.read("out.dtb") == Array("contents".utf8))
        #expect(try entries(directory) == ["out.dtb"])
    }

    @Test(arguments: [true, false])
    func commitReplacesTheTargetWhole(unnamed: Bool) throws {
        let directory = try TemporaryDirectory()
        let target = try directory.write("out.dtb", "old")
        let staged = try StagedFile(Array("new contents".utf8), for: target, unnamed: unnamed)
        #expect(directory.read("out.dtb") == Array("old".utf8), "nothing in place before commit")
        #expect(try entries(directory).count == 1 + visibleWhileStaged(unnamed))
        try staged.commit()
        #expect(directory.read("out.dtb") == Array("new contents".utf8))
        #expect(try entries(directory) == ["out.dtb"], "no temporary name left behind")
    }

    @Test(arguments: [true, false])
    func discardLeavesTheTargetAndNoTemporaryFile(unnamed: Bool) throws {
        let directory = try TemporaryDirectory()
        let target = try directory.write("out.dtb", "old")
        do {
            let staged = try StagedFile(Array("new".utf8), for: target, unnamed: unnamed)
            staged.discard()
        }
        _ = try StagedFile(Array("dropped uncommitted".utf8), for: target, unnamed: unnamed)
        _ = try StagedFile(Array("dropped uncommitted".utf8), for: directory.file("never.dtb"), unnamed: unnamed)
        #expect(directory.read("out.dtb") == Array("old".utf8))
        #expect(try entries(directory) == ["out.dtb"])
    }

    /// A directory at the target: the commit fails and leaves it, and no
    /// temporary file, behind.
    @Test(arguments: [true, false])
    func aDirectoryAtTheTargetIsAnIOErrorWithoutTrace(unnamed: Bool) throws {
        let directory = try TemporaryDirectory()
        try FileSystem.makeDirectory(directory.file("out.dtb"))
        let staged = try StagedFile(Array("x".utf8), for: directory.file("out.dtb"), unnamed: unnamed)
        #expect(throws: IOError.self) { try staged.commit() }
        #expect(FileSystem.isDirectory(directory.file("out.dtb")))
        #expect(try entries(directory) == ["out.dtb"])
    }

    /// 0666 less the process's umask, like `open(O_CREAT)`. The umask is
    /// read from /proc: calling umask(2) would change it for every test
    /// running in parallel.
    @Test(arguments: [true, false])
    func modeIsWhatAPlainCreateGives(unnamed: Bool) throws {
        let status = String(decoding: try FileSystem.readFile("/proc/self/status"), as: UTF8.self)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Umask:") })
        let mask = try #require(mode_t(line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8))
        let directory = try TemporaryDirectory()
        try StagedFile(Array("x".utf8), for: directory.file("new.dtb"), unnamed: unnamed).commit()
        try directory.write("old.dtb", "old")
        #expect(chmod(directory.file("old.dtb"), 0o600) == 0)
        try StagedFile(Array("x".utf8), for: directory.file("old.dtb"), unnamed: unnamed).commit()
        #expect(mode(directory.file("new.dtb")) == 0o666 & ~mask)
        #expect(mode(directory.file("old.dtb")) == 0o666 & ~mask, "a replaced file gets the new file's mode")
    }

    /// Many stages of one target at once: each commit replaces the target
    /// whole, the last one wins, nothing else stays.
    @Test(arguments: [true, false])
    func stagesOfOneTargetDoNotCollide(unnamed: Bool) throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("out.dtb")
        let stages = try (0..<200).map { try StagedFile(Array("\($0)".utf8), for: target, unnamed: unnamed) }
        #expect(try entries(directory).count == 200 * visibleWhileStaged(unnamed))
        try stages[137].commit()
        try stages[12].commit()
        stages.forEach { $0.discard() }
        #expect(directory.read("out.dtb") == Array("12".utf8))
        #expect(try entries(directory) == ["out.dtb"])
    }

    /// Temporary names count up from a random start; one already taken
    /// (here: the name the next stage would get) is skipped, not reused.
    @Test func aTakenTemporaryNameIsSkipped() throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("out.dtb")
        let first = try StagedFile(Array("first".utf8), for: target, unnamed: false)
        let firstName = try #require(try entries(directory).first)
        let suffix = try #require(UInt64(firstName.split(separator: ".").last ?? "", radix: 36))
        let next = ".out.dtb." + String((suffix + 1) & ((1 << 36) - 1), radix: 36)
        _ = try directory.write(next, "someone else's")
        let second = try StagedFile(Array("second".utf8), for: target, unnamed: false)
        #expect(try entries(directory).count == 3)
        #expect(directory.read(next) == Array("someone else's".utf8))
        try second.commit()
        first.discard()
        #expect(directory.read("out.dtb") == Array("second".utf8))
    }

    /// An unnamed file in `directory` holding `text`.
    private func unnamedFile(in directory: TemporaryDirectory, _ text: String) throws -> Int32 {
        let fd = open(directory.path, O_WRONLY | __O_TMPFILE | O_DIRECTORY | O_CLOEXEC, 0o666)
        try #require(fd >= 0)
        try FileSystem.writeAll(fd, Array(text.utf8), path: directory.path)
        return fd
    }

    /// Through `/proc` always; by the descriptor itself where the process
    /// has the capability (root here), else refused the way `link` takes
    /// as the sign to use `/proc`.
    @Test(arguments: [UnnamedFiles.Method.procEntry, .emptyPath])
    func eachLinkMethodNamesTheFile(method: UnnamedFiles.Method) throws {
        let directory = try TemporaryDirectory()
        let fd = try unnamedFile(in: directory, "linked")
        defer { close(fd) }
        let linked = UnnamedFiles.link(fd, at: directory.file("out.dtb"), by: method)
        let code = errno
        if linked {
            #expect(directory.read("out.dtb") == Array("linked".utf8))
        } else {
            #expect(method == .emptyPath && (code == ENOENT || code == EPERM))
        }
    }

    /// The link `commit` uses reports a taken name as EEXIST (its cue to
    /// rename over the target) and leaves the taken file alone.
    @Test func linkingOverAnExistingFileFailsWithEEXIST() throws {
        let directory = try TemporaryDirectory()
        try directory.write("out.dtb", "old")
        let fd = try unnamedFile(in: directory, "new")
        defer { close(fd) }
        let linked = UnnamedFiles.link(fd, at: directory.file("out.dtb"))
        let code = errno
        #expect(!linked)
        #expect(code == EEXIST)
        #expect(directory.read("out.dtb") == Array("old".utf8))
    }

    @Test(arguments: [true, false])
    func unwritableDirectoryIsAnIOError(unnamed: Bool) throws {
        #expect(throws: IOError.self) { try StagedFile([1], for: "/proc/no-such-dir/out.dtb", unnamed: unnamed) }
    }
}
