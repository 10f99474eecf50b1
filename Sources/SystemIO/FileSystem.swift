import Glibc

/// A failed file operation, with the OS reason, as one line.
public struct IOError: Error, Hashable, Sendable, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    init(path: String, operation: String, errno code: Int32) {
        self.init(path: path, operation: operation, reason: String(cString: strerror(code)))
    }

    public var description: String { "cannot \(operation) '\(path)': \(reason)" }
}

/// File access without Foundation, so the CLI starts fast.
public enum FileSystem {
    /// The whole file. Refuses directories and files above `limit` bytes.
    public static func readFile(_ path: String, limit: Int = 1 << 30) throws(IOError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError(path: path, operation: "read", errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw IOError(path: path, operation: "read", errno: errno) }
        guard (info.st_mode & S_IFMT) != S_IFDIR else { throw IOError(path: path, operation: "read", errno: EISDIR) }
        guard Int(info.st_size) <= limit else {
            throw IOError(path: path, operation: "read", reason: "file is larger than \(limit) bytes")
        }
        // A regular file is read in one call into an array one byte larger
        // than its size: a short read at its size is its end (saves a read
        // per config when compiling thousands). Anything else, or a file
        // that grew, continues in chunks until read finds the end.
        let isRegular = (info.st_mode & S_IFMT) == S_IFREG
        let size = Int(info.st_size)
        var bytes = try readOnce(fd, count: isRegular ? size + 1 : 1 << 16, path: path)
        if isRegular, bytes.count == size { return bytes }
        while true {
            guard bytes.count <= limit else {
                throw IOError(path: path, operation: "read", reason: "file is larger than \(limit) bytes")
            }
            let more = try readOnce(fd, count: 1 << 16, path: path)
            if more.isEmpty { return bytes }
            bytes += more
        }
    }

    /// What one `read` of up to `count` bytes returns (empty at the end),
    /// into an array not zero-filled first: filling it cost more than
    /// parsing a small config.
    private static func readOnce(_ fd: Int32, count: Int, path: String) throws(IOError) -> [UInt8] {
        var failure: Int32?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while true {
                let got = read(fd, buffer.baseAddress, count)
                if got >= 0 {
                    initialized = got
                    return
                }
                if errno != EINTR {
                    failure = errno
                    return
                }
            }
        }
        if let failure { throw IOError(path: path, operation: "read", errno: failure) }
        return bytes
    }

    /// Writes through a temporary file in the same directory put in place
    /// in one step (`StagedFile`), so readers see the old file or the new
    /// one, never a partial one; on failure nothing at `path` changes.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(IOError) {
        try StagedFile(bytes, for: path).commit()
    }

    /// Creates the directory `path` (its parent must exist); an existing
    /// directory is fine.
    public static func makeDirectory(_ path: String) throws(IOError) {
        guard mkdir(path, 0o777) != 0 else { return }
        let code = errno
        guard code == EEXIST, isDirectory(path) else { throw IOError(path: path, operation: "create directory", errno: code) }
    }

    /// Whether anything exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether `path` is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The size of the file at `path`.
    public static func fileSize(_ path: String) throws(IOError) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw IOError(path: path, operation: "read", errno: errno) }
        return Int(info.st_size)
    }

    /// Names in a directory (without `.` and `..`), sorted bytewise; with
    /// `excludingDirectories`, only those that are not directories.
    public static func directoryEntries(_ path: String, excludingDirectories: Bool = false) throws(IOError) -> [String] {
        guard let directory = opendir(path) else { throw IOError(path: path, operation: "list", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name != "." && name != ".." else { continue }
            if excludingDirectories {
                // readdir names the type on most file systems: a stat per
                // entry only where it does not, or for a symbolic link
                // (followed, as `isDirectory` does).
                switch Int32(entry.pointee.d_type) {
                case Int32(DT_DIR): continue
                case Int32(DT_UNKNOWN), Int32(DT_LNK): if isDirectory(joined(path, name)) { continue }
                default: break
                }
            }
            names.append(name)
        }
        return names.sorted(by: bytewiseBefore)
    }

    /// Whether `a`'s UTF-8 bytes sort before `b`'s (as `ls` in the C
    /// locale): one `memcmp` where comparing through `String.UTF8View`
    /// went byte by byte (thousands of names are sorted before any work).
    static func bytewiseBefore(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { a in
            b.withUTF8 { b in
                let common = min(a.count, b.count)
                guard common > 0, let first = a.baseAddress, let second = b.baseAddress else { return a.count < b.count }
                let order = memcmp(first, second, common)
                return order != 0 ? order < 0 : a.count < b.count
            }
        }
    }

    /// `name` inside `directory`, with one `/` between them.
    public static func joined(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The last path component (as `split` gives it, without making the
    /// directory's string).
    public static func baseName(_ path: String) -> String {
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[utf8.index(after: slash)...])
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(IOError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw IOError(path: path, operation: "write", errno: errno)
            }
            offset += count
        }
    }

    /// Splits at the last `/`, searched as a byte: a `Character` search
    /// costs more than the rest of planning a thousand-guest compile.
    static func split(_ path: String) -> (directory: String, name: String) {
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, baseName(path))
    }
}
