import Foundation
import SystemIO
import Testing
import TestSupport

/// `FileSystem.readFile` returns every byte of a file whatever its size,
/// including files that report no size (/proc) and files larger than one
/// read chunk.
@Suite struct ReadFileTests {
    @Test(arguments: [0, 1, 4095, 4096, 4097, 65_535, 65_536, 65_537, 200_000])
    func readsEverySizeWhole(size: Int) throws {
        let directory = try TemporaryDirectory()
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let path = directory.file("data")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try FileSystem.readFile(path) == bytes)
    }

    /// /proc files have size 0 in fstat: a short read is not their end.
    @Test func readsFilesWithoutASize() throws {
        let ours = try FileSystem.readFile("/proc/self/status")
        #expect(String(decoding: ours, as: UTF8.self).contains("\nPid:"))
    }

    @Test func refusesFilesAboveTheLimit() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("big", String(repeating: "x", count: 100))
        #expect(throws: IOError.self) { try FileSystem.readFile(path, limit: 99) }
        #expect(try FileSystem.readFile(path, limit: 100).count == 100)
    }

    /// A device that never ends is read in chunks until the limit stops it.
    @Test func stopsEndlessDevicesAtTheLimit() {
        #expect(throws: IOError.self) { try FileSystem.readFile("/dev/zero", limit: 200_000) }
    }
}
