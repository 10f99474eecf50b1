import Glibc

/// The size of a DTB's strings block as libfdt fills it
/// (`fdt_find_add_string_`): property names, NUL-terminated, in first-use
/// order, each left out when it is already there as a stored name or the
/// tail of one (libfdt finds "phandle" inside "linux,phandle").
///
/// A guest adds about 70 names, 20 of them distinct: names seen before
/// are found by hash in `known`; only a name not seen yet is compared
/// with the tails of the stored ones.
struct StringsBlock {
    /// The block's size in bytes.
    private(set) var size = 0
    /// The stored names, without their NULs.
    private var bytes: [UInt8] = []
    private var stored: [Range<Int>] = []
    /// Every name found or stored so far, by hash (open addressing; a
    /// power-of-two count, at most half full).
    private var known = [Entry](repeating: .empty, count: 64)
    private var knownCount = 0

    /// A name found or stored: its hash and where its bytes are.
    private struct Entry {
        static let empty = Entry(hash: 0, range: 0..<0, isUsed: false)
        var hash: UInt64
        var range: Range<Int>
        var isUsed: Bool
    }

    /// Room for a guest's names without growing.
    init() {
        bytes.reserveCapacity(512)
        stored.reserveCapacity(32)
    }

    /// Adds a property name as libfdt does: stores it unless present.
    mutating func add(_ name: String) {
        var name = name
        name.withUTF8 { add(utf8: $0) }
    }

    /// `add`'s work, outside the `withUTF8` closure: inside it, every
    /// access to the arrays retained their buffers.
    private mutating func add(utf8 name: UnsafeBufferPointer<UInt8>) {
        let hash = Self.hash(name)
        guard !isKnown(name, hash: hash) else { return }
        remember(Entry(hash: hash, range: storedTail(equalTo: name) ?? store(name), isUsed: true))
    }

    /// Whether `name` was found or stored before.
    private func isKnown(_ name: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Bool {
        let mask = known.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while known[slot].isUsed {
            let entry = known[slot]
            if entry.hash == hash, entry.range.count == name.count, equal(entry.range, name) { return true }
            slot = (slot + 1) & mask
        }
        return false
    }

    /// The tail of a stored name equal to `name`, if any. The empty name
    /// matches any stored name's NUL.
    private func storedTail(equalTo name: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard let last = name.last else { return stored.first.map { $0.upperBound..<$0.upperBound } }
        for range in stored where range.count >= name.count && bytes[range.upperBound - 1] == last {
            let tail = (range.upperBound - name.count)..<range.upperBound
            if equal(tail, name) { return tail }
        }
        return nil
    }

    /// Whether the stored bytes in `range` are `name`'s (of the same count).
    private func equal(_ range: Range<Int>, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !range.isEmpty else { return true }
        return bytes.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress, let name = name.baseAddress else { return false }
            return memcmp(base + range.lowerBound, name, range.count) == 0
        }
    }

    /// Appends `name` to the block; where its bytes are.
    private mutating func store(_ name: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let range = bytes.count..<(bytes.count + name.count)
        bytes.append(contentsOf: name)
        stored.append(range)
        size += name.count + 1
        return range
    }

    /// Puts `entry` in `known`, growing it to stay at most half full.
    private mutating func remember(_ entry: Entry) {
        if 2 * (knownCount + 1) > known.count { grow() }
        let mask = known.count - 1
        var slot = Int(truncatingIfNeeded: entry.hash) & mask
        while known[slot].isUsed { slot = (slot + 1) & mask }
        known[slot] = entry
        knownCount += 1
    }

    /// Doubles `known`, placing every entry anew.
    private mutating func grow() {
        let entries = known.filter(\.isUsed)
        known = [Entry](repeating: .empty, count: known.count * 2)
        knownCount = 0
        for entry in entries { remember(entry) }
    }

    /// FNV-1a.
    private static func hash(_ name: UnsafeBufferPointer<UInt8>) -> UInt64 {
        name.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
