/// Why the guest could not allocate grant refs.
public enum GrantAllocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Growing the table by `extra` frames would pass `max_grant_frames`
    /// (Linux: -ENOSPC after "max_grant_frames reached").
    case outOfSpace(current: Int, extra: Int, limit: Int)
    case invalidCount(Int)

    public var description: String {
        switch self {
        case .outOfSpace(let current, let extra, let limit):
            "grant table full: max_grant_frames reached cur=\(current) extra=\(extra) limit=\(limit)"
        case .invalidCount(let count):
            "cannot allocate \(count) grant refs"
        }
    }
}

/// Linux's bookkeeping of free grant refs (`drivers/xen/grant-table.c`,
/// grant-dma.md §5): a singly linked free list by ref number plus a bitmap,
/// and the "free tail" — the run of consecutive free refs that ends the
/// list — from which consecutive runs are taken.
///
/// Single refs come from the head of the list (most recently freed
/// first). A run of `count` refs comes from the start of the tail when the
/// tail is long enough; otherwise the bitmap is scanned for the first run
/// that fits (lowest refs) and the list is rebuilt in ascending order;
/// failing that the table grows so that the new frames extend the tail.
struct GrantFreeList {
    static let listEnd = UInt32.max

    /// A place holding a ref number: the list head or the link of a ref
    /// (`gnttab_free_tail_ptr` points at one of these).
    private enum Link: Equatable {
        case head
        case entry(UInt32)
    }

    private var next: [UInt32]
    private var head = listEnd
    private(set) var freeCount = 0
    private var bitmap: [UInt64]
    private var lastFree = listEnd
    /// The link that starts the free tail; nil when unknown.
    private var tail: Link?
    /// Refs in the table (`gnttab_size`).
    private(set) var size: Int
    let refsPerFrame: Int
    let maxFrames: Int

    /// A table of one frame with refs 0–7 reserved and the rest free.
    init(refsPerFrame: Int, maxFrames: Int) {
        self.refsPerFrame = refsPerFrame
        self.maxFrames = maxFrames
        size = refsPerFrame
        next = Array(repeating: Self.listEnd, count: refsPerFrame)
        bitmap = Array(repeating: 0, count: (maxFrames * refsPerFrame + 63) / 64)
        setFree(Int(GrantRef.reservedCount), count: refsPerFrame - Int(GrantRef.reservedCount))
    }

    var frames: Int { size / refsPerFrame }

    func isFree(_ ref: UInt32) -> Bool {
        Int(ref) < size && bitmap[Int(ref) >> 6] & (1 << (UInt64(ref) & 63)) != 0
    }

    // MARK: Allocation

    /// `count` refs in no particular order, from the head of the list
    /// (`get_free_entries`); returns them in list order.
    mutating func take(_ count: Int, grow: (Int) -> Bool) throws(GrantAllocationError) -> [UInt32] {
        guard count > 0 else { throw .invalidCount(count) }
        if freeCount < count { try expand(by: count - freeCount, grow: grow) }
        return (0..<count).map { _ in popHead() }
    }

    /// One ref from the head of the list.
    mutating func takeOne(grow: (Int) -> Bool) throws(GrantAllocationError) -> UInt32 {
        if freeCount == 0 { try expand(by: 1, grow: grow) }
        return popHead()
    }

    private mutating func popHead() -> UInt32 {
        let ref = head
        clearBit(ref)
        // Pattern matches, not `==`: the synthesized equality of the
        // optional enum cost more than the rest of the pop.
        if case .entry(let linked)? = tail, linked == ref { tail = .head }
        head = next[Int(ref)]
        next[Int(ref)] = Self.listEnd
        freeCount -= 1
        if freeCount == 0 {
            lastFree = Self.listEnd
            tail = nil
        }
        return ref
    }

    /// `count` consecutive refs (`gnttab_alloc_grant_reference_seq`);
    /// returns the first.
    mutating func takeRun(_ count: Int, grow: (Int) -> Bool) throws(GrantAllocationError) -> UInt32 {
        guard count > 0 else { throw .invalidCount(count) }
        if count == 1 { return try takeOne(grow: grow) }
        if freeCount < count { try expand(by: count - freeCount, grow: grow) }
        if tailCount < count {
            if let first = rebuild(takingRunOf: count) { return first }
            try expand(by: count - tailCount, grow: grow)
        }
        guard let link = tail else { preconditionFailure("grant free tail lost after growth") }
        let first = read(link)
        let last = first + UInt32(count) - 1
        write(link, next[Int(last)])
        freeCount -= count
        for ref in first...last { clearBit(ref) }
        if freeCount == 0 {
            tail = nil
            lastFree = Self.listEnd
        } else if last == lastFree {
            // The whole tail went while other refs stay free. Linux leaves
            // `gnttab_last_free` on a ref it just handed out here, so a later
            // growth would link new frames after an allocated ref; rebuilding
            // keeps the list whole.
            _ = rebuild(takingRunOf: nil)
        }
        return first
    }

    /// The length of the free tail (`get_seq_entry_count`).
    private var tailCount: Int {
        guard lastFree != Self.listEnd, let tail, read(tail) != Self.listEnd else { return 0 }
        return Int(lastFree - read(tail)) + 1
    }

    /// Rebuilds the free list in ascending order from the bitmap, first
    /// taking the lowest run of `count` free refs if asked and one exists
    /// (`get_free_seq`).
    private mutating func rebuild(takingRunOf count: Int?) -> UInt32? {
        var found: UInt32?
        var last = Link.head
        tail = .head
        var from = nextBit(set: true, from: 0)
        while from < size {
            var start = from
            let end = nextBit(set: false, from: from + 1)
            if found == nil, let count, end - from >= count {
                found = UInt32(from)
                for ref in from..<(from + count) { clearBit(UInt32(ref)) }
                freeCount -= count
                start += count
            }
            if start < end {
                for ref in start..<end {
                    write(last, UInt32(ref))
                    last = .entry(UInt32(ref))
                    lastFree = UInt32(ref)
                }
                if end < size { tail = .entry(UInt32(end - 1)) }
            }
            from = end < size ? nextBit(set: true, from: end + 1) : size
        }
        write(last, Self.listEnd)
        if freeCount == 0 { lastFree = Self.listEnd }
        if lastFree != UInt32(size - 1) { tail = nil }
        return found
    }

    // MARK: Freeing

    /// Returns one ref to the head of the list; reserved refs are ignored
    /// (`put_free_entry_locked`).
    mutating func put(_ ref: UInt32) {
        guard ref >= GrantRef.reservedCount, Int(ref) < size, !isFree(ref) else { return }
        next[Int(ref)] = head
        head = ref
        if freeCount == 0 { lastFree = ref }
        if case .head? = tail { tail = .entry(ref) }
        freeCount += 1
        setBit(ref)
    }

    /// Frees a run from its last ref down to its first, so the run ends up
    /// in ascending order at the head (`gnttab_free_grant_reference_seq`).
    mutating func putRun(_ first: UInt32, count: Int) {
        var offset = count
        while offset > 0 {
            offset -= 1
            put(first + UInt32(offset))
        }
    }

    // MARK: Growth

    /// Grows the table by enough frames for `entries` more refs
    /// (`gnttab_expand`), asking the hypervisor through `grow`.
    private mutating func expand(by entries: Int, grow: (Int) -> Bool) throws(GrantAllocationError) {
        let extra = (entries + refsPerFrame - 1) / refsPerFrame
        guard frames + extra <= maxFrames, grow(frames + extra) else {
            throw .outOfSpace(current: frames, extra: extra, limit: maxFrames)
        }
        let start = size
        next.append(contentsOf: repeatElement(Self.listEnd, count: extra * refsPerFrame))
        size += extra * refsPerFrame
        let lastBefore = lastFree
        setFree(start, count: extra * refsPerFrame)
        // With the tail unknown, the new frames start a fresh one: the
        // link that now leads to them (Linux points one entry further).
        if tail == nil { tail = lastBefore == Self.listEnd ? .head : .entry(lastBefore) }
    }

    /// Appends `count` free refs from `start` to the end of the list
    /// (`gnttab_set_free`).
    private mutating func setFree(_ start: Int, count: Int) {
        for ref in start..<(start + count - 1) { next[ref] = UInt32(ref + 1) }
        next[start + count - 1] = Self.listEnd
        if freeCount == 0 {
            head = UInt32(start)
            tail = .head
        } else {
            next[Int(lastFree)] = UInt32(start)
        }
        freeCount += count
        lastFree = UInt32(start + count - 1)
        for ref in start..<(start + count) { setBit(UInt32(ref)) }
    }

    // MARK: Links and bits

    private func read(_ link: Link) -> UInt32 {
        switch link {
        case .head: head
        case .entry(let ref): next[Int(ref)]
        }
    }

    private mutating func write(_ link: Link, _ value: UInt32) {
        switch link {
        case .head: head = value
        case .entry(let ref): next[Int(ref)] = value
        }
    }

    private mutating func setBit(_ ref: UInt32) { bitmap[Int(ref) >> 6] |= 1 << (UInt64(ref) & 63) }
    private mutating func clearBit(_ ref: UInt32) { bitmap[Int(ref) >> 6] &= ~(1 << (UInt64(ref) & 63)) }

    /// The first position ≥ `from` (below `size`) whose bit is `set`, or
    /// `size`.
    private func nextBit(set: Bool, from: Int) -> Int {
        var position = from
        while position < size {
            var word = bitmap[position >> 6]
            if !set { word = ~word }
            word &= ~0 << UInt64(position & 63)
            if word != 0 { return min((position & ~63) + word.trailingZeroBitCount, size) }
            position = (position & ~63) + 64
        }
        return size
    }
}
