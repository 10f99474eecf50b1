import Foundation
import Testing
import TestSupport
@testable import VirtioRuntime

/// Disk images: real files through pread/pwrite/fsync, sparse temporary
/// files, memory; clear errors.
@Suite struct DiskImageTests {
    @Test func temporaryFileIsSparseAndAlreadyUnlinked() throws {
        let image = try DiskImage.open(.temporary(bytes: 64 << 20))
        #expect(image.sectors == UInt64(64 << 20) / 512)
        let path = String(image.name.prefix { $0 != " " })
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try image.write(at: 4096, count: 512) { buffer in
            buffer.initializeMemory(as: UInt8.self, repeating: 7)
            return true
        })
        try image.flush()
        #expect(try image.withBytes(at: 4096, count: 512) { Array($0) } == [UInt8](repeating: 7, count: 512))
        #expect(try image.withBytes(at: 0, count: 512) { Array($0) } == [UInt8](repeating: 0, count: 512))
    }

    /// Sector offsets of a memory disk fall on the same page offsets as in
    /// guest memory: copies between a misaligned image and page-aligned
    /// frames ran at a tenth of memcpy speed (BENCHMARKS.md, issue 6).
    @Test func memoryDiskIsPageAlignedAndZeroed() throws {
        let image = try DiskImage.open(.memory(bytes: 1 << 20))
        let start = try image.withBytes(at: 0, count: 4096) { UInt(bitPattern: $0.baseAddress) }
        #expect(start % 4096 == 0)
        #expect(try image.write(at: 8192, count: 512) { buffer in
            buffer.initializeMemory(as: UInt8.self, repeating: 9)
            return true
        })
        #expect(try image.withBytes(at: 8192, count: 512) { Array($0) } == [UInt8](repeating: 9, count: 512))
        #expect(try image.withBytes(at: (1 << 20) - 512, count: 512) { Array($0) } == [UInt8](repeating: 0, count: 512))
    }

    @Test func fileErrorsNameTheFileAndTheFix() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: DiskError.cannotOpen(path: directory.file("none.img"), reason: "No such file or directory")) {
            try DiskImage.open(.file(directory.file("none.img")))
        }
        #expect(throws: DiskError.cannotOpen(path: directory.path, reason: "Is a directory")) {
            try DiskImage.open(.file(directory.path))
        }
        let small = try directory.write("small.img", [UInt8](repeating: 0, count: 4096))
        #expect(throws: DiskError.tooSmall(path: small, bytes: 4096, needed: 65536)) {
            try DiskImage.open(.file(small), minimumBytes: 65536)
        }
        // Read-only files (root may write anything, so only as a user).
        if getuid() != 0 {
            let locked = try directory.write("locked.img", [UInt8](repeating: 0, count: 65536))
            chmod(locked, 0o444)
            #expect(throws: DiskError.readOnly(path: locked, reason: "Permission denied")) { try DiskImage.open(.file(locked)) }
        }
        #expect(DiskError.readOnly(path: "a.img", reason: "Read-only file system").description
            == "disk image 'a.img' is read-only (Read-only file system): the workload writes to it; make it writable or give a copy")
    }

    @Test func fullDiskMessage() {
        let error = DiskError.io(path: "a.img", operation: "write", offset: 4096, count: 512, reason: "No space left on device", full: true)
        #expect(error.isFull)
        #expect(error.description
            == "write of 512 bytes at offset 4096 of 'a.img' failed: No space left on device (out of space: this write did not complete; earlier writes are unaffected)")
    }
}
