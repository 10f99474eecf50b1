/// A map from property names to name offsets for `StringsBlock`: open
/// addressing over an FNV-1a hash of the name's bytes. A guest tree looks
/// a name up for each of its properties; Swift's seeded SipHash in a
/// `Dictionary` cost half of the scan this replaces.
struct NameIndex {
    private struct Entry {
        let name: String
        /// The name's length and last byte, to pass over most names
        /// cheaply when looking for those another name ends with.
        let length: Int
        let last: UInt8
        var offset: Int32
    }

    private var entries: [Entry] = []
    /// Indices into `entries`; -1 marks a free slot. Kept at most half full.
    private var slots = [Int32](repeating: -1, count: 64)

    subscript(name: String) -> Int32? {
        get {
            let slot = self.slot(of: name)
            return slots[slot] < 0 ? nil : entries[Int(slots[slot])].offset
        }
        set {
            let slot = self.slot(of: name)
            switch (slots[slot] < 0, newValue) {
            case (true, let offset?):
                slots[slot] = Int32(entries.count)
                entries.append(Entry(name: name, length: name.utf8.count, last: name.utf8.last ?? 0, offset: offset))
                if entries.count * 2 > slots.count { grow() }
            case (false, let offset?): entries[Int(slots[slot])].offset = offset
            case (_, nil): preconditionFailure("names are never removed")
            }
        }
    }

    /// Lets `change` rewrite the offset of every name shorter than
    /// `length` bytes that is empty or ends with `last`: the names that
    /// can end a new name of that length and last byte.
    mutating func updateNames(shorterThan length: Int, endingIn last: UInt8, _ change: (String, inout Int32) -> Void) {
        for index in entries.indices
        where entries[index].length < length && (entries[index].last == last || entries[index].length == 0) {
            change(entries[index].name, &entries[index].offset)
        }
    }

    /// The slot holding `name`, or the free slot where it belongs.
    private func slot(of name: String) -> Int {
        let mask = slots.count - 1
        var slot = Self.hash(name) & mask
        while slots[slot] >= 0 && entries[Int(slots[slot])].name != name {
            slot = (slot + 1) & mask
        }
        return slot
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (index, entry) in entries.enumerated() {
            var slot = Self.hash(entry.name) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
        }
    }

    private static func hash(_ name: String) -> Int {
        var name = name
        return name.withUTF8 { bytes in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
            return Int(truncatingIfNeeded: hash >> 32)
        }
    }
}
