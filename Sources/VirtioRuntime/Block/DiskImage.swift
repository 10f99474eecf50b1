import Glibc
import GrantEngine

/// Where a virtio-blk backend keeps its data.
public enum DiskSource: Hashable, Sendable, CustomStringConvertible {
    /// A sparse temporary file of `bytes` bytes, deleted when the image
    /// closes (it is unlinked as soon as it is created, so it also goes
    /// away if the process dies).
    case temporary(bytes: Int)
    /// An existing image file or block device, used in place: the
    /// workload overwrites what it writes.
    case file(String)
    /// `bytes` bytes of memory (for benchmarks: no file system cost).
    case memory(bytes: Int)

    /// The size of the default temporary image.
    public static let defaultBytes = 64 << 20

    public var description: String {
        switch self {
        case .temporary: "temporary file"
        case .file(let path): path
        case .memory: "memory"
        }
    }
}

/// Why a disk image could not be opened or used, in one line.
public enum DiskError: Error, Hashable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// The image cannot be written (permissions, read-only file system).
    case readOnly(path: String, reason: String)
    case tooSmall(path: String, bytes: Int, needed: Int)
    case cannotCreate(reason: String)
    /// A read, write or flush failed; `full` when the reason is lack of
    /// space or a file-size limit.
    case io(path: String, operation: String, offset: UInt64, count: Int, reason: String, full: Bool)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open disk image '\(path)': \(reason)"
        case .readOnly(let path, let reason):
            "disk image '\(path)' is read-only (\(reason)): the workload writes to it; make it writable or give a copy"
        case .tooSmall(let path, let bytes, let needed):
            "disk image '\(path)' has \(bytes) bytes; the workload needs at least \(needed)"
        case .cannotCreate(let reason): "cannot create a temporary disk image: \(reason)"
        case .io(let path, let operation, let offset, let count, let reason, let full):
            "\(operation) of \(count) bytes at offset \(offset) of '\(path)' failed: \(reason)"
                + (full ? " (out of space: this write did not complete; earlier writes are unaffected)" : "")
        }
    }

    /// Whether the failure was running out of space.
    public var isFull: Bool {
        if case .io(_, _, _, _, _, let full) = self { return full }
        return false
    }
}

/// The storage of one virtio-blk backend: a file (pread, pwrite, fsync) or
/// memory. One backend thread uses it at a time; a lock makes handing it
/// to a restarted backend safe. A file image locks a pthread mutex (its
/// critical sections are system calls, which a waiter should sleep
/// through); a memory image a `WordLock` (its critical sections are one
/// copy, and the mutex cost some 150 instructions per request).
final class DiskImage: @unchecked Sendable, CustomStringConvertible {
    private enum Backing {
        case file(Int32)
        case memory(UnsafeMutableRawPointer)
    }

    /// The path, or "memory".
    let name: String
    let byteCount: Int
    /// Opened read-only: the device offers VIRTIO_BLK_F_RO.
    let isReadOnly: Bool
    private let backing: Backing
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let memoryLock = WordLock()
    private var scratch: UnsafeMutableRawBufferPointer

    private init(name: String, byteCount: Int, backing: Backing, readOnly: Bool = false) {
        self.name = name
        self.byteCount = byteCount
        isReadOnly = readOnly
        self.backing = backing
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        scratch = .allocate(byteCount: 1 << 16, alignment: 4096)
    }

    deinit {
        switch backing {
        case .file(let fd): close(fd)
        case .memory(let base): munmap(base, max(byteCount, 1))
        }
        scratch.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Opens `source`; a file must hold at least `minimumBytes`. With
    /// `readOnly` a file is opened for reading only and served read-only.
    static func open(_ source: DiskSource, minimumBytes: Int = 0, readOnly: Bool = false) throws(DiskError) -> DiskImage {
        switch source {
        case .memory(let bytes):
            // Page-aligned, as a page cache is: copies between guest pages
            // and a misaligned buffer run several times slower.
            let base = mmap(nil, max(bytes, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let base, base != MAP_FAILED else { throw .cannotCreate(reason: "out of memory") }
            return DiskImage(name: "memory", byteCount: bytes, backing: .memory(base))
        case .temporary(let bytes):
            return try temporary(bytes: bytes)
        case .file(let path):
            return try existing(path, minimumBytes: minimumBytes, readOnly: readOnly)
        }
    }

    var description: String { name }
    /// The capacity in 512-byte sectors.
    var sectors: UInt64 { UInt64(byteCount / BlockProtocol.sectorSize) }

    /// Runs `body` with `count` bytes of the image from `offset`.
    func withBytes<R>(at offset: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) -> R) throws(DiskError) -> R {
        switch backing {
        case .memory(let base):
            return memoryLock.withLock { body(UnsafeRawBufferPointer(start: base + Int(offset), count: count)) }
        case .file(let fd):
            return try locked { () throws(DiskError) -> R in
                let buffer = try scratchBuffer(count)
                try transfer(fd, buffer, offset: offset, operation: "read") { pread($0, $1, $2, $3) }
                return body(UnsafeRawBufferPointer(buffer))
            }
        }
    }

    /// Lets `fill` produce `count` bytes, then stores them at `offset`.
    /// If `fill` returns false nothing is stored (file) or the range is
    /// left partly written (memory), as a failed write may leave it.
    func write(at offset: UInt64, count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Bool) throws(DiskError) -> Bool {
        switch backing {
        case .memory(let base):
            return memoryLock.withLock { fill(UnsafeMutableRawBufferPointer(start: base + Int(offset), count: count)) }
        case .file(let fd):
            return try locked { () throws(DiskError) -> Bool in
                let buffer = try scratchBuffer(count)
                guard fill(buffer) else { return false }
                try transfer(fd, buffer, offset: offset, operation: "write") { pwrite($0, $1, $2, $3) }
                return true
            }
        }
    }

    /// Makes every completed write durable (fsync).
    func flush() throws(DiskError) {
        guard case .file(let fd) = backing else { return }
        try locked { () throws(DiskError) in
            guard fsync(fd) == 0 else { throw ioError("flush", offset: 0, count: 0, errno) }
        }
    }

    // MARK: Opening

    private static func temporary(bytes: Int) throws(DiskError) -> DiskImage {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(directory)/grantdt-disk.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .cannotCreate(reason: String(cString: strerror(errno))) }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Unlinked at once: the descriptor keeps the file until it closes.
        unlink(path)
        guard ftruncate(fd, off_t(bytes)) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotCreate(reason: reason)
        }
        return DiskImage(name: path + " (temporary)", byteCount: bytes, backing: .file(fd))
    }

    private static func existing(_ path: String, minimumBytes: Int, readOnly: Bool) throws(DiskError) -> DiskImage {
        let fd = Glibc.open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            let reason = String(cString: strerror(code))
            if code == EACCES || code == EROFS || code == EPERM { throw .readOnly(path: path, reason: reason) }
            throw .cannotOpen(path: path, reason: reason)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFBLK else {
            close(fd)
            throw .cannotOpen(path: path, reason: "not a regular file or block device")
        }
        // lseek gives the size of block devices too.
        let size = Int(lseek(fd, 0, SEEK_END))
        guard size >= minimumBytes, size >= BlockProtocol.sectorSize else {
            close(fd)
            throw .tooSmall(path: path, bytes: max(size, 0), needed: max(minimumBytes, BlockProtocol.sectorSize))
        }
        return DiskImage(name: path, byteCount: size, backing: .file(fd), readOnly: readOnly)
    }

    // MARK: Helpers

    private func locked<R>(_ body: () throws(DiskError) -> R) throws(DiskError) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    private func scratchBuffer(_ count: Int) throws(DiskError) -> UnsafeMutableRawBufferPointer {
        if scratch.count < count {
            scratch.deallocate()
            scratch = .allocate(byteCount: count, alignment: 4096)
        }
        return UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
    }

    /// pread/pwrite until done, retrying on EINTR and short transfers.
    private func transfer(
        _ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: UInt64, operation: String,
        _ call: (Int32, UnsafeMutableRawPointer, Int, off_t) -> Int
    ) throws(DiskError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let count = call(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError(operation, offset: offset, count: buffer.count, errno)
            }
            guard count > 0 else {
                // A read past the end, or a write that stored nothing.
                throw ioError(operation, offset: offset, count: buffer.count, operation == "read" ? EIO : ENOSPC)
            }
            done += count
        }
    }

    private func ioError(_ operation: String, offset: UInt64, count: Int, _ code: Int32) -> DiskError {
        let full = code == ENOSPC || code == EFBIG || code == EDQUOT
        return .io(path: name, operation: operation, offset: offset, count: count,
                   reason: String(cString: strerror(code)), full: full)
    }
}
