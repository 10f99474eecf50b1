import Glibc

/// The strings block libfdt's sequential writer builds when it shares
/// property names (`fdt_find_add_string_`), computed without its scan.
///
/// With sharing on, `fdt_property` looks every name up by comparing it at
/// each byte of the block so far: a fifth of a guest compile went there.
/// `DTBWriter` therefore asks libfdt not to share
/// (`FDT_CREATE_FLAG_NO_NAME_DEDUP`) and rebuilds the shared block with
/// this model afterwards, to the byte what libfdt would have made; the
/// layout takes libxl's blob size from it (`DTBWriter.size(of:)`).
/// - libfdt adds a name it does not find below those added before, so
///   the finished block holds names newest first;
/// - its scan starts at the newest name and matches a name followed by
///   its NUL, which can only be the end of one stored name: a lookup
///   finds the newest stored name that ends with it (`"phandle"` inside
///   `"linux,phandle"` when that was added later).
///
/// A guest looks up about 70 names, 20 of them distinct: names seen
/// before are found by hash; only a new one is compared with the tails
/// of the stored names.
struct StringsBlock {
    /// Bytes in the block, NULs included.
    private(set) var size = 0
    /// The stored names, oldest first, each followed by its NUL.
    private var bytes: [UInt8] = []
    /// Where each stored name begins in `bytes`, oldest first.
    private var starts: [Int] = []
    /// Every name looked up so far, with where libfdt finds it now.
    private var entries: [Entry] = []
    /// Indices into `entries` by hash (open addressing, -1 free, at most
    /// half full).
    private var slots = [Int32](repeating: -1, count: 64)

    /// A name looked up: its hash, its bytes (inside `bytes`) and its
    /// offset back from the block's end, as libfdt counts while writing.
    private struct Entry {
        let hash: UInt64
        let range: Range<Int>
        var offset: Int32
    }

    /// Room for a guest's names without growing.
    init() {
        bytes.reserveCapacity(512)
        starts.reserveCapacity(32)
        entries.reserveCapacity(32)
    }

    /// Looks `name` up as `fdt_property` does, storing it when no stored
    /// name ends with it: its offset back from the block's end (negative),
    /// and whether this is the name's first lookup.
    @discardableResult
    mutating func add(_ name: String) -> (offset: Int32, isFirst: Bool) {
        var name = name
        return name.withUTF8 { add(utf8: $0) }
    }

    /// The finished block, newest name first, as `fdt_finish` leaves it.
    func write(to block: UnsafeMutableRawPointer) {
        var end = bytes.count
        var at = 0
        for start in starts.reversed() {
            bytes[start..<end].withUnsafeBytes { name in
                UnsafeMutableRawBufferPointer(start: block + at, count: name.count).copyMemory(from: name)
            }
            at += end - start
            end = start
        }
    }

    /// `add`'s work, outside the `withUTF8` closure: inside it, every
    /// access to the arrays retained their buffers.
    private mutating func add(utf8 name: UnsafeBufferPointer<UInt8>) -> (offset: Int32, isFirst: Bool) {
        let hash = Self.hash(name)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 {
            let entry = entries[Int(slots[slot])]
            if entry.hash == hash, entry.range.count == name.count, equal(entry.range, name) { return (entry.offset, false) }
            slot = (slot + 1) & mask
        }
        let entry = newestTail(equalTo: name, hash: hash) ?? store(name, hash: hash)
        slots[slot] = Int32(entries.count)
        entries.append(entry)
        if 2 * entries.count > slots.count { grow() }
        return (entry.offset, true)
    }

    /// The newest stored name ending with `name`, as an entry for `name`.
    private func newestTail(equalTo name: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Entry? {
        var end = bytes.count - 1  // the newest name's NUL
        let last = name.last
        for start in starts.reversed() {
            let tail = (end - name.count)..<end
            // The last bytes first: most stored names differ there.
            if end - start >= name.count, last == nil || bytes[end - 1] == last, equal(tail, name) {
                return Entry(hash: hash, range: tail, offset: Self.offset(ofTail: name.count, nameAt: start))
            }
            end = start - 1
        }
        return nil
    }

    /// Stores `name` below the others. Names looked up before that end the
    /// new one are found inside it from now on: it is the newest.
    private mutating func store(_ name: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Entry {
        let start = bytes.count
        bytes.append(contentsOf: name)
        bytes.append(0)
        starts.append(start)
        size += name.count + 1
        let end = bytes.count - 1
        for index in entries.indices where entries[index].range.count < name.count {
            let range = entries[index].range
            let sameLast = range.isEmpty || bytes[range.upperBound - 1] == bytes[end - 1]
            if sameLast, equal((end - range.count)..<end, range) {
                entries[index].offset = Self.offset(ofTail: range.count, nameAt: start)
            }
        }
        return Entry(hash: hash, range: start..<end, offset: Self.offset(ofTail: name.count, nameAt: start))
    }

    /// libfdt's offset of the last `count` bytes of the name stored at
    /// `start`: libfdt writes names downwards from the block's end, so
    /// that name's NUL lies `start + 1` bytes before the end.
    private static func offset(ofTail count: Int, nameAt start: Int) -> Int32 {
        -Int32(start + 1 + count)
    }

    /// Doubles `slots`, placing every entry anew.
    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (index, entry) in entries.enumerated() {
            var slot = Int(truncatingIfNeeded: entry.hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
        }
    }

    /// Whether the stored bytes in `range` are `name`'s (of the same count).
    private func equal(_ range: Range<Int>, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !range.isEmpty else { return true }
        return bytes.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress, let name = name.baseAddress else { return false }
            return memcmp(base + range.lowerBound, name, range.count) == 0
        }
    }

    /// Whether two stretches of the stored bytes (of the same count) are equal.
    private func equal(_ range: Range<Int>, _ other: Range<Int>) -> Bool {
        bytes.withUnsafeBufferPointer { bytes in equal(range, UnsafeBufferPointer(rebasing: bytes[other])) }
    }

    /// The length and the first and last eight bytes, mixed: a hit is
    /// confirmed with `memcmp`, so the hash only has to spread names, and
    /// two loads cost less than a byte loop over every property's name.
    private static func hash(_ name: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let raw = UnsafeRawBufferPointer(name)
        var hash = UInt64(name.count) &* 0x9e37_79b9_7f4a_7c15
        if name.count >= 8 {
            hash ^= raw.loadUnaligned(as: UInt64.self)
            hash = (hash &* 0xbf58_476d_1ce4_e5b9) ^ raw.loadUnaligned(fromByteOffset: name.count - 8, as: UInt64.self)
        } else {
            for byte in name { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        hash = (hash ^ hash >> 31) &* 0x94d0_49bb_1331_11eb
        return hash ^ hash >> 29
    }
}
