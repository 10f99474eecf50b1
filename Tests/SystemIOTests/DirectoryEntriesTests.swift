import Foundation
import SystemIO
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

    @Test func joinsWithOneSlash() {
        #expect(FileSystem.joined("dir", "a.cfg") == "dir/a.cfg")
        #expect(FileSystem.joined("dir/", "a.cfg") == "dir/a.cfg")
    }
}
