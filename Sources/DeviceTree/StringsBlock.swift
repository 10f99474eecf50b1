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
/// before are found by hash; a new one is compared only with the stored
/// names, and the names looked up, that end with the same byte (chained
/// by their last byte), not with all of them.
///
/// One block serves one walk of a tree, and its tables live in plain
/// buffers it frees (`PlainBuffer`): it cannot be copied, and arrays'
/// copy-on-write checks on every change were a third of its cost.
struct StringsBlock: ~Copyable {
    /// Bytes in the block, NULs included.
    private(set) var size = 0
    /// The stored names, oldest first, each followed by its NUL.
    private var bytes = PlainBuffer<UInt8>(capacity: 512)
    /// The stored names, oldest first.
    private var stored = PlainBuffer<Stored>(capacity: 32)
    /// Every name looked up so far, with where libfdt finds it now.
    private var entries = PlainBuffer<Entry>(capacity: 32)
    /// Indices into `entries` by hash (open addressing, -1 free, at most
    /// half full).
    private var slots = PlainBuffer<Int32>(repeating: -1, count: 64)
    /// The newest stored name (first `buckets`) and the newest entry (the
    /// rest) whose last byte falls in each bucket, -1 for none: the heads
    /// of the chains.
    private var newest = PlainBuffer<Int32>(repeating: -1, count: 2 * buckets)
    /// The entry of the empty name, when looked up: the tail of every
    /// stored name, so it chains under no last byte.
    private var emptyEntry: Int32 = -1

    /// Last bytes fall into this many chains (ASCII letters each get one).
    private static let buckets = 32

    /// A stored name: `bytes[start..<end]`, its NUL at `end`.
    private struct Stored {
        let start: Int
        let end: Int
        /// The stored name before it in its last byte's chain, or -1.
        let previous: Int32
    }

    /// A name looked up: its hash, its bytes (`count` of them from
    /// `start` in `bytes`), its offset back from the block's end, as libfdt
    /// counts while writing, and the entry before it in its last byte's
    /// chain (or -1).
    private struct Entry {
        let hash: UInt64
        let start: Int
        let count: Int
        var offset: Int32
        let previous: Int32
    }

    init() {}

    deinit {
        bytes.free()
        stored.free()
        entries.free()
        slots.free()
        newest.free()
    }

    /// What a lookup found.
    struct Lookup {
        /// Where libfdt finds the name now, back from the block's end
        /// (negative), as it counts while writing.
        let offset: Int32
        /// The name's number: distinct names are numbered from 0 in the
        /// order of their first lookup.
        let id: Int
        /// Whether this is the name's first lookup.
        let isFirst: Bool
    }

    /// Looks `name` up as `fdt_property` does, storing it when no stored
    /// name ends with it.
    @discardableResult
    mutating func add(_ name: String) -> Lookup {
        if let found = name.utf8.withContiguousStorageIfAvailable({ add(utf8: $0) }) { return found }
        return Array(name.utf8).withUnsafeBufferPointer { add(utf8: $0) }
    }

    /// Where libfdt finds the name numbered `id` now (as `Lookup.offset`).
    func offset(ofName id: Int) -> Int32 { entries[id].offset }

    /// The finished block, newest name first, as `fdt_finish` leaves it.
    func write(to block: UnsafeMutableRawPointer) {
        var at = 0
        for index in (0..<stored.count).reversed() {
            let count = stored[index].end + 1 - stored[index].start
            (block + at).copyMemory(from: bytes.base + stored[index].start, byteCount: count)
            at += count
        }
    }

    private mutating func add(utf8 name: UnsafeBufferPointer<UInt8>) -> Lookup {
        let hash = Self.hash(name)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 {
            let entry = entries[Int(slots[slot])]
            if entry.hash == hash, entry.count == name.count, equal(entry.start, name) {
                return Lookup(offset: entry.offset, id: Int(slots[slot]), isFirst: false)
            }
            slot = (slot + 1) & mask
        }
        let entry = newestTail(equalTo: name, hash: hash) ?? store(name, hash: hash)
        slots[slot] = Int32(entries.count)
        if let last = name.last {
            newest[Self.buckets + Self.bucket(last)] = Int32(entries.count)
        } else {
            emptyEntry = Int32(entries.count)
        }
        entries.append(entry)
        if 2 * entries.count > slots.count { grow() }
        return Lookup(offset: entry.offset, id: entries.count - 1, isFirst: true)
    }

    private static func bucket(_ last: UInt8) -> Int { Int(last) & (buckets - 1) }

    /// The newest stored name ending with `name`, as an entry for `name`.
    private func newestTail(equalTo name: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Entry? {
        guard let last = name.last else {
            // The empty name ends every name: libfdt finds the newest one's NUL.
            return stored.last.map { youngest in
                Entry(hash: hash, start: youngest.end, count: 0, offset: Self.offset(ofTail: 0, nameAt: youngest.start), previous: -1)
            }
        }
        let previous = newest[Self.buckets + Self.bucket(last)]
        var index = newest[Self.bucket(last)]
        while index >= 0 {
            let candidate = stored[Int(index)]
            let start = candidate.end - name.count
            if start >= candidate.start, bytes[candidate.end - 1] == last, equal(start, name) {
                return Entry(
                    hash: hash, start: start, count: name.count,
                    offset: Self.offset(ofTail: name.count, nameAt: candidate.start), previous: previous)
            }
            index = candidate.previous
        }
        return nil
    }

    /// Stores `name` below the others. Names looked up before that end the
    /// new one are found inside it from now on: it is the newest.
    private mutating func store(_ name: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Entry {
        let start = bytes.count
        bytes.append(contentsOf: name)
        bytes.append(0)
        size += name.count + 1
        let end = bytes.count - 1
        if emptyEntry >= 0 { entries[Int(emptyEntry)].offset = Self.offset(ofTail: 0, nameAt: start) }
        guard let last = name.last else {
            stored.append(Stored(start: start, end: end, previous: -1))
            return Entry(hash: hash, start: start, count: 0, offset: Self.offset(ofTail: 0, nameAt: start), previous: -1)
        }
        let bucket = Self.bucket(last)
        stored.append(Stored(start: start, end: end, previous: newest[bucket]))
        newest[bucket] = Int32(stored.count - 1)
        var index = newest[Self.buckets + bucket]
        while index >= 0 {
            let entry = entries[Int(index)]
            if entry.count < name.count, bytes[entry.start + entry.count - 1] == last,
               equal(end - entry.count, UnsafeBufferPointer(start: bytes.base + entry.start, count: entry.count)) {
                entries[Int(index)].offset = Self.offset(ofTail: entry.count, nameAt: start)
            }
            index = entry.previous
        }
        return Entry(
            hash: hash, start: start, count: name.count, offset: Self.offset(ofTail: name.count, nameAt: start),
            previous: newest[Self.buckets + bucket])
    }

    /// libfdt's offset of the last `count` bytes of the name stored at
    /// `start`: libfdt writes names downwards from the block's end, so
    /// that name's NUL lies `start + 1` bytes before the end.
    private static func offset(ofTail count: Int, nameAt start: Int) -> Int32 {
        -Int32(start + 1 + count)
    }

    /// Doubles `slots`, placing every entry anew.
    private mutating func grow() {
        let count = 2 * slots.count
        slots.free()
        slots = PlainBuffer(repeating: -1, count: count)
        let mask = count - 1
        for index in 0..<entries.count {
            var slot = Int(truncatingIfNeeded: entries[index].hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
        }
    }

    /// Whether the stored bytes from `start` are `name`'s.
    private func equal(_ start: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = name.baseAddress, !name.isEmpty else { return true }
        return memcmp(bytes.base + start, first, name.count) == 0
    }

    /// `hash` of a string's UTF-8 bytes.
    static func hash(of name: String) -> UInt64 {
        name.utf8.withContiguousStorageIfAvailable(hash) ?? Array(name.utf8).withUnsafeBufferPointer(hash)
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
