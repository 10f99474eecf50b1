/// The strings block libfdt's sequential writer builds when it shares
/// property names, computed without its scan.
///
/// With sharing on, `fdt_property` looks every name up by comparing it
/// at each byte of the block so far (`fdt_find_string_`): a fifth of a
/// guest compile went there. The writer therefore asks libfdt not to share
/// (`FDT_CREATE_FLAG_NO_NAME_DEDUP`) and rebuilds the shared block with
/// this model afterwards, to the byte what libfdt would have made:
/// - libfdt adds a name it does not find below those added before, so
///   the finished block holds names newest first;
/// - its scan starts at the newest name and matches a name followed by
///   its NUL, which can only be the end of one stored name: a lookup
///   finds the newest stored name that ends with it (`"phandle"` inside
///   `"linux,phandle"` when that was added later).
struct StringsBlock {
    /// The names added, oldest first, each followed by its NUL.
    private var added: [UInt8] = []
    /// Where each added name begins in `added`, oldest first.
    private var starts: [Int] = []
    /// Where a lookup of each name seen so far ends up now.
    private var found = NameIndex()

    /// Bytes in the block, NULs included.
    var size: Int32 { Int32(added.count) }

    /// Where libfdt would put `name`: its offset back from the block's end
    /// (negative), adding it when no stored name ends with it.
    mutating func offset(of name: String) -> Int32 {
        if let offset = found[name] { return offset }
        var name = name
        let offset = name.withUTF8 { bytes in newestEnding(with: bytes) ?? add(bytes) }
        found[name] = offset
        return offset
    }

    /// The finished block, newest name first, as `fdt_finish` leaves it.
    func write(to block: UnsafeMutableRawPointer) {
        var end = added.count
        var at = 0
        for start in starts.reversed() {
            added[start..<end].withUnsafeBytes { name in
                UnsafeMutableRawBufferPointer(start: block + at, count: name.count).copyMemory(from: name)
            }
            at += end - start
            end = start
        }
    }

    /// The offset of `name` inside the newest stored name ending with it.
    private func newestEnding(with name: UnsafeBufferPointer<UInt8>) -> Int32? {
        var end = added.count - 1  // the newest name's NUL
        for start in starts.reversed() {
            if end - start >= name.count && Self.names(added, endingAt: end, endWith: name) {
                return Self.offset(of: name.count, bytesBeforeNUL: start)
            }
            end = start - 1
        }
        return nil
    }

    /// Stores `name` below the others. Names found before that end the new
    /// one are found inside it from now on: it is the newest.
    private mutating func add(_ name: UnsafeBufferPointer<UInt8>) -> Int32 {
        let start = added.count
        starts.append(start)
        added.append(contentsOf: name)
        added.append(0)
        let end = added.count - 1
        let added = self.added
        guard let last = name.last else { return Self.offset(of: 0, bytesBeforeNUL: start) }
        found.updateNames(shorterThan: name.count, endingIn: last) { other, offset in
            var other = other
            if other.withUTF8({ Self.names(added, endingAt: end, endWith: $0) }) {
                offset = Self.offset(of: other.utf8.count, bytesBeforeNUL: start)
            }
        }
        return Self.offset(of: name.count, bytesBeforeNUL: start)
    }

    /// Whether the name whose NUL is at `end` of `added` ends with `suffix`.
    private static func names(_ added: [UInt8], endingAt end: Int, endWith suffix: UnsafeBufferPointer<UInt8>) -> Bool {
        added.withUnsafeBufferPointer { stored in
            UnsafeBufferPointer(rebasing: stored[(end - suffix.count)..<end]).elementsEqual(suffix)
        }
    }

    /// libfdt's offset of the last `length` bytes of the name that begins
    /// at `start` of `added`. libfdt writes names downwards from the
    /// block's end, so that name's NUL lies `start + 1` bytes before it.
    private static func offset(of length: Int, bytesBeforeNUL start: Int) -> Int32 {
        -Int32(start + 1 + length)
    }
}
