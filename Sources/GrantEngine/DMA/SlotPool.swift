/// The slots of a DMA pool (swiotlb-style): fixed-size slots handed out in
/// contiguous runs, searched from a moving cursor (next fit), never across
/// a segment boundary. Each run remembers the guest buffer it bounces.
struct SlotPool {
    struct Mapping {
        /// The CPU's buffer the slots stand in for; nil for a coherent
        /// allocation, which lives in the pool itself.
        let origin: GuestAddress?
        let length: Int
        let slots: Int
    }

    let slotSize: Int
    /// Runs never cross a multiple of this many slots.
    let segment: Int
    private var used: [Bool]
    private var mappings: [Mapping?]
    private var cursor = 0

    init(slots: Int, slotSize: Int, segment: Int) {
        self.slotSize = slotSize
        self.segment = segment
        used = Array(repeating: false, count: slots)
        mappings = Array(repeating: nil, count: slots)
    }

    var slotCount: Int { used.count }

    /// Slots needed for `length` bytes.
    func slots(for length: Int) -> Int { (length + slotSize - 1) / slotSize }

    /// Takes a run for `length` bytes starting on a multiple of
    /// `alignment` slots; returns its first slot.
    mutating func allocate(length: Int, alignment: Int, origin: GuestAddress?) -> Int? {
        let count = slots(for: length)
        guard count > 0, count <= min(segment, used.count) else { return nil }
        let total = used.count
        var tried = 0
        var position = Self.alignUp(cursor, alignment) % total
        while tried < total {
            if position + count <= total, position / segment == (position + count - 1) / segment,
                !used[position..<(position + count)].contains(true)
            {
                for slot in position..<(position + count) { used[slot] = true }
                mappings[position] = Mapping(origin: origin, length: length, slots: count)
                cursor = (position + count) % total
                return position
            }
            tried += alignment
            position = Self.alignUp(position + alignment, alignment)
            if position >= total { position = 0 }
        }
        return nil
    }

    /// The mapping that starts at `slot`, if any.
    func mapping(at slot: Int) -> Mapping? {
        (0..<mappings.count).contains(slot) ? mappings[slot] : nil
    }

    /// Frees the run starting at `slot`; returns what it held.
    mutating func release(at slot: Int) -> Mapping? {
        guard let mapping = mapping(at: slot) else { return nil }
        for index in slot..<(slot + mapping.slots) { used[index] = false }
        mappings[slot] = nil
        return mapping
    }

    private static func alignUp(_ value: Int, _ alignment: Int) -> Int {
        (value + alignment - 1) / alignment * alignment
    }
}
