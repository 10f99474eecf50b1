import Glibc
import Synchronization

/// A file's new contents, written in full but not yet in place:
/// `commit()` puts them at the target path in one step, `discard()` (or
/// dropping the stage uncommitted) leaves no trace. Staging every output
/// of a command before committing any means a failure while writing
/// leaves all targets as they were.
///
/// The contents go to a temporary file in the target's directory. Where
/// the file system allows, that file has no name (`O_TMPFILE`): a commit
/// links it in when nothing is at the target yet, one directory update
/// instead of a create and a rename (the two took the directory's lock
/// each, and a thousand-guest compile queued on it), and a crash leaves
/// nothing behind. When the target exists, the file gets a temporary name
/// and is renamed over it, so readers see the old file or the new one,
/// never a partial one. Without `O_TMPFILE` support or `/proc` (where an
/// unprivileged process links from: `UnnamedFiles`), the file is named
/// from the start.
public final class StagedFile {
    public let path: String
    private var stage: Stage?

    private enum Stage {
        /// An open file without a name in the target's directory.
        case unnamed(fd: Int32)
        /// A written file under a temporary name beside the target.
        case named(String)
    }

    /// Writes `bytes` to a new temporary file in `path`'s directory.
    public convenience init(_ bytes: [UInt8], for path: String) throws(IOError) {
        try self.init(bytes, for: path, unnamed: UnnamedFiles.linkable)
    }

    /// With `unnamed` false, the temporary file is named from the start,
    /// as where `O_TMPFILE` is missing (tests reach that path through it).
    init(_ bytes: [UInt8], for path: String, unnamed: Bool) throws(IOError) {
        self.path = path
        // Any failure of the unnamed create (an old kernel or file system,
        // but also a missing directory) takes the named path, which then
        // reports the real reason.
        if unnamed, case let fd = open(FileSystem.split(path).directory, O_WRONLY | __O_TMPFILE | O_DIRECTORY | O_CLOEXEC, 0o666), fd >= 0 {
            do throws(IOError) { try FileSystem.writeAll(fd, bytes, path: path) } catch {
                close(fd)
                throw error
            }
            stage = .unnamed(fd: fd)
            return
        }
        var fd: Int32 = -1
        // 0666 less the umask, as a plain create gives. Not mkstemp: its
        // 0600 would need the umask read back with umask(2), which changes
        // it for every thread.
        let temporary = try Self.claimTemporaryName(beside: path) { candidate in
            fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            return fd >= 0
        }
        do throws(IOError) {
            defer { close(fd) }
            try FileSystem.writeAll(fd, bytes, path: path)
        } catch {
            unlink(temporary)
            throw error
        }
        stage = .named(temporary)
    }

    /// Whether the contents wait in a file without a name.
    var isUnnamed: Bool {
        if case .unnamed = stage { return true }
        return false
    }

    /// Puts the contents at `path`, replacing what is there.
    public func commit() throws(IOError) {
        guard let stage else { return }
        self.stage = nil
        switch stage {
        case .named(let temporary):
            try rename(temporary)
        case .unnamed(let fd):
            defer { close(fd) }
            if UnnamedFiles.link(fd, at: path) { return }
            guard errno == EEXIST else { throw IOError(path: path, operation: "write", errno: errno) }
            // Something is at the target: replace it with one rename.
            let temporary = try Self.claimTemporaryName(beside: path) { candidate in
                UnnamedFiles.link(fd, at: candidate)
            }
            try rename(temporary)
        }
    }

    /// Drops the contents; `path` stays as it was.
    public func discard() {
        switch stage {
        case .unnamed(let fd): close(fd)
        case .named(let temporary): unlink(temporary)
        case nil: break
        }
        stage = nil
    }

    deinit { discard() }

    /// Renames `temporary` over `path`; on failure removes it.
    private func rename(_ temporary: String) throws(IOError) {
        guard Glibc.rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw IOError(path: path, operation: "write", errno: code)
        }
    }

    /// Finds a free `.NAME.XXXXXX` beside `path`: `claim` creates the
    /// candidate and fails with EEXIST when it is taken (then the next is
    /// tried); any other failure is the caller's error.
    private static func claimTemporaryName(beside path: String, _ claim: (String) -> Bool) throws(IOError) -> String {
        let (directory, name) = FileSystem.split(path)
        for _ in 0..<100 {
            let candidate = "\(directory)/.\(name).\(String(TemporaryName.next(), radix: 36))"
            if claim(candidate) { return candidate }
            guard errno == EEXIST else { throw IOError(path: path, operation: "write", errno: errno) }
        }
        throw IOError(path: path, operation: "write", errno: EEXIST)
    }
}

/// How an unnamed file gets its name.
///
/// `linkat` of the descriptor itself (`AT_EMPTY_PATH`) needs
/// CAP_DAC_READ_SEARCH, which unprivileged users lack; its
/// `/proc/self/fd` entry works for everyone but costs a walk through
/// procfs (an eighth of a thousand-guest compile's time in the kernel). The
/// first is tried until the system refuses it once where the second
/// works; from then on the process links through `/proc`.
enum UnnamedFiles {
    /// Whether an unnamed file can be linked in at all (through `/proc`).
    static let linkable = access("/proc/self/fd", X_OK) == 0

    /// The ways to link a descriptor in.
    enum Method {
        case emptyPath, procEntry
    }

    /// Linux's AT_EMPTY_PATH, which Glibc's module leaves out (glibc
    /// defines it only under _GNU_SOURCE).
    private static let atEmptyPath: Int32 = 0x1000

    /// Whether `emptyPath` may still work for this process.
    private static let emptyPathAllowed = Atomic<Bool>(true)

    /// Links the file open at `fd` in at `path`; false with `errno` set
    /// when it fails.
    static func link(_ fd: Int32, at path: String) -> Bool {
        guard emptyPathAllowed.load(ordering: .relaxed) else { return link(fd, at: path, by: .procEntry) }
        if link(fd, at: path, by: .emptyPath) { return true }
        // Without the capability the kernel answers ENOENT (EPERM on some
        // versions); any other failure is the target's own.
        guard errno == ENOENT || errno == EPERM else { return false }
        guard link(fd, at: path, by: .procEntry) else { return false }
        emptyPathAllowed.store(false, ordering: .relaxed)
        return true
    }

    /// Links the file open at `fd` in at `path` by `method`.
    static func link(_ fd: Int32, at path: String, by method: Method) -> Bool {
        switch method {
        case .emptyPath: linkat(fd, "", AT_FDCWD, path, atEmptyPath) == 0
        case .procEntry: linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0
        }
    }
}

/// Suffixes for temporary names: a random start drawn once per process,
/// then counted up: names no other process can guess in advance (O_EXCL
/// refuses one taken meanwhile, and the next is tried), without a
/// getrandom call per file.
private enum TemporaryName {
    private static let start = UInt64.random(in: 0..<(1 << 36))
    private static let counter = Atomic<UInt64>(0)

    static func next() -> UInt64 {
        (start &+ counter.wrappingAdd(1, ordering: .relaxed).oldValue) & ((1 << 36) - 1)
    }
}
