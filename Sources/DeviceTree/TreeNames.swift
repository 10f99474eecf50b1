/// The property names of one tree, looked up in pre-order in a
/// `StringsBlock` as the tree is walked, with a shortcut for the strings
/// the walk has already met.
///
/// Most names of a tree are literals repeated from node to node. Each
/// string's representation (the 16 bytes of its value) is recorded with
/// its name's id, and a later lookup of the same representation is one
/// table probe: its bytes are neither read nor hashed. Two strings with
/// the same representation are the same characters: a short string holds
/// its bytes in the value, and a longer one the address of its storage
/// and its length. The shortcut is sound only while no recorded storage
/// can be freed and its address reused by other characters: the names
/// must be those of a tree that outlives this value (as the writer's
/// walks are), and nothing else.
struct TreeNames: ~Copyable {
    private(set) var block = StringsBlock()
    /// Representations met, direct-mapped by their hash: a slot keeps the
    /// last one that fell in it.
    private var seen = PlainBuffer<Seen>(repeating: Seen(first: 0, second: 0, id: -1), count: 1 << slotBits)
    /// `seen` has 64 slots: room for a guest's 20-odd names.
    private static let slotBits = 6

    /// A representation and its name's id (-1: an empty slot).
    private struct Seen {
        let first: UInt64
        let second: UInt64
        let id: Int32
    }

    init() {}

    deinit { seen.free() }

    /// Looks `name`, a name of the walked tree, up as `fdt_property` does.
    @inline(__always)
    mutating func lookup(_ name: String) -> StringsBlock.Lookup {
        // A String is two words on 64-bit platforms; elsewhere, no shortcut.
        guard MemoryLayout<String>.size == 16 else { return block.add(name) }
        let (first, second) = withUnsafeBytes(of: name) { ($0.load(as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
        let hash = ((first &* 0x9e37_79b9_7f4a_7c15) ^ second) &* 0xbf58_476d_1ce4_e5b9
        let slot = Int(truncatingIfNeeded: hash >> (64 - Self.slotBits))
        let known = seen[slot]
        if known.id >= 0, known.first == first, known.second == second {
            return StringsBlock.Lookup(offset: block.offset(ofName: Int(known.id)), id: Int(known.id), isFirst: false)
        }
        let lookup = block.add(name)
        seen[slot] = Seen(first: first, second: second, id: Int32(lookup.id))
        return lookup
    }
}
