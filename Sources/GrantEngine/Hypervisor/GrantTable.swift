import Synchronization

/// One domain's grant table as Xen keeps it: the v1 entries the guest
/// writes, in frames shared between the guest and Xen, and Xen's active
/// state beside each — the pin count, the pinning domain, the pinned frame.
///
/// As in Xen and Linux, each shared entry is one 8-byte word changed with
/// atomic operations: the guest writes entries and ends access (by
/// compare-and-swap on the flags) without taking Xen's lock; Xen sets
/// `GTF_reading`/`GTF_writing` by compare-and-swap under its own lock over
/// the active entries.
final class GrantTable: Sendable {
    /// v1 entries are 8 bytes: 512 per 4 KiB frame.
    static let entriesPerFrame = XenPage.size / 8
    /// Xen gives up on an entry the guest keeps changing after 5 tries.
    static let setStatusAttempts = 5

    fileprivate struct Active {
        var pin = PinCount()
        /// The domain holding the pins (meaningful while pinned).
        var pinner = DomainID(0)
        /// Xen's page reference: keeps the frame alive while pinned.
        var frame: Frame?
    }

    /// Xen's active entries, reachable only with the table's lock held
    /// (`withActive`), so a batch of pins or unpins can share one
    /// acquisition.
    struct ActiveEntries {
        fileprivate var entries: [Active]
    }

    let owner: DomainID
    let maxFrames: Int
    private let memory: GuestMemory
    private let frames: OnceReferences<SharedGrantFrame>
    /// Frames in use; entries below `frameCount × 512` exist.
    private let frameCount = Atomic<Int>(1)
    /// Xen's active entries; growth also happens under this lock.
    private let active: Lock<ActiveEntries>

    init(owner: DomainID, maxFrames: Int, memory: GuestMemory) {
        self.owner = owner
        self.maxFrames = maxFrames
        self.memory = memory
        frames = OnceReferences(count: maxFrames)
        _ = frames.storeIfNil(SharedGrantFrame(), at: 0)
        active = Lock(ActiveEntries(entries: Array(repeating: Active(), count: Self.entriesPerFrame)))
    }

    /// Current and maximum frames (`GNTTABOP_query_size`).
    var size: (frames: Int, maxFrames: Int) { (frameCount.load(ordering: .acquiring), maxFrames) }

    /// Grows the table to `frames` frames; false beyond `maxFrames`.
    func grow(to count: Int) -> Bool {
        guard count <= maxFrames else { return false }
        active.withLock { active in
            let current = frameCount.load(ordering: .relaxed)
            guard count > current else { return }
            for index in current..<count { _ = frames.storeIfNil(SharedGrantFrame(), at: index) }
            active.entries.append(contentsOf: repeatElement(Active(), count: (count - current) * Self.entriesPerFrame))
            frameCount.store(count, ordering: .releasing)
        }
        return true
    }

    // MARK: Guest side

    /// The shared entry of `ref`, or nil beyond the table.
    func entry(_ ref: GrantRef) -> GrantEntry? {
        withShared(ref) { frame, index in GrantEntry(word: frame.entries[index].load(ordering: .acquiring)) }
    }

    /// Writes an entry as the guest does. The 8 bytes go in one store, so
    /// Xen sees the entry either before or after, never half written
    /// (Linux gets the same from writing domid and frame before flags).
    func write(_ ref: GrantRef, _ entry: GrantEntry) {
        let written: Void? = withShared(ref) { frame, index in frame.entries[index].store(entry.word, ordering: .releasing) }
        guard written != nil else { preconditionFailure("\(ref) is beyond the grant table") }
    }

    /// v1 end of access: fails while Xen has the entry pinned (reading or
    /// writing set); otherwise clears the flags by compare-and-swap, so a
    /// map racing with it either pins first (and the end fails) or finds
    /// the entry invalid.
    func endAccess(_ ref: GrantRef) -> Bool {
        let ended = withShared(ref) { frame, index in
            var word = frame.entries[index].load(ordering: .acquiring)
            while true {
                guard !GrantEntry(word: word).isInUse else { return false }
                let (exchanged, current) = frame.entries[index].compareExchange(
                    expected: word, desired: word & ~GrantEntry.flagsMask, ordering: .acquiringAndReleasing)
                if exchanged { return true }
                word = current
            }
        }
        guard let ended else { preconditionFailure("\(ref) is beyond the grant table") }
        return ended
    }

    // MARK: Hypervisor side

    /// Runs `body` holding the lock over the active entries (Xen's grant
    /// table lock), for `pin(_:by:readOnly:in:)` and `unpin(_:readOnly:in:)`.
    func withActive<R, E: Error>(_ body: (inout ActiveEntries) throws(E) -> R) throws(E) -> R {
        try active.withLock(body)
    }

    /// Pins `ref` for one host mapping (or copy) by `mapper`, taking the
    /// lock for this one pin. Returns the granted frame.
    func pin(_ ref: GrantRef, by mapper: DomainID, readOnly: Bool) throws(GrantError) -> Frame {
        try withActive { (active: inout ActiveEntries) throws(GrantError) -> Frame in
            try pin(ref, by: mapper, readOnly: readOnly, in: &active).takeUnretainedValue()
        }
    }

    /// Pins `ref` for one host mapping (or copy) by `mapper`: checks 6–10 of
    /// grant-dma.md §8.1 in Xen's order. Returns the granted frame, not
    /// retained: the pin holds it (Xen's page reference) until it is
    /// dropped. `active` must be this table's entries (from `withActive`).
    func pin(
        _ ref: GrantRef, by mapper: DomainID, readOnly: Bool, in active: inout ActiveEntries
    ) throws(GrantError) -> Unmanaged<Frame> {
        let index = Int(ref.rawValue)
        guard index < active.entries.count else { throw .refOutOfRange(ref, entries: active.entries.count) }
        let pinned = withShared(ref) { (shared, cell) -> Result<Unmanaged<Frame>, GrantError> in
            Result { () throws(GrantError) -> Unmanaged<Frame> in
                try pin(ref, entry: shared.entries[cell], active: &active.entries[index], by: mapper, readOnly: readOnly)
            }
        }
        guard let pinned else { throw .refOutOfRange(ref, entries: active.entries.count) }
        return try pinned.get()
    }

    /// The checks and counts of one pin, on the shared entry `word` and its
    /// active entry.
    private func pin(
        _ ref: GrantRef, entry word: borrowing Atomic<UInt64>, active: inout Active, by mapper: DomainID, readOnly: Bool
    ) throws(GrantError) -> Unmanaged<Frame> {
        let increment = PinCount.hostIncrement(readOnly: readOnly)
        let pin = active.pin
        if !pin.isZero {
            guard active.pinner == mapper else { throw .pinnedByOtherDomain(ref, pinnedBy: active.pinner) }
            guard !pin.wouldOverflow(adding: increment) else { throw .pinCounterFull(ref) }
        }
        // Xen re-reads the shared entry only for a first pin or a first
        // writable pin: later read-only maps trust the existing pin.
        if pin.isZero || (!readOnly && !pin.hasWritable) {
            let entry = try Self.setStatus(word, ref: ref, mapper: mapper, readOnly: readOnly, pinned: !pin.isZero)
            if pin.isZero {
                guard let frame = memory.frame(FrameNumber(UInt64(entry.frame))) else {
                    Self.clearStatus(word, &active, readOnly: readOnly)
                    throw .badFrame(ref, frame: entry.frame)
                }
                active.pinner = mapper
                active.frame = frame
            }
        }
        guard let frame = active.frame else { preconditionFailure("pinned \(ref) has no frame") }
        active.pin.add(increment)
        return .passUnretained(frame)
    }

    /// Drops one pin taken by `pin(_:by:readOnly:)`.
    func unpin(_ ref: GrantRef, readOnly: Bool) {
        withActive { unpin(ref, readOnly: readOnly, in: &$0) }
    }

    /// Drops one pin; `active` must be this table's entries.
    func unpin(_ ref: GrantRef, readOnly: Bool, in active: inout ActiveEntries) {
        let index = Int(ref.rawValue)
        guard index < active.entries.count else { return }
        withShared(ref) { shared, cell in Self.unpin(shared.entries[cell], &active.entries[index], readOnly: readOnly) }
    }

    /// Xen's `_set_status` (v1): validates the entry and sets reading (and
    /// writing) by compare-and-swap, retrying while the guest changes it.
    private static func setStatus(
        _ word: borrowing Atomic<UInt64>, ref: GrantRef, mapper: DomainID, readOnly: Bool, pinned: Bool
    ) throws(GrantError) -> GrantEntry {
        var current = word.load(ordering: .acquiring)
        for _ in 0..<setStatusAttempts {
            let entry = GrantEntry(word: current)
            if !pinned {
                guard entry.flags & (GrantFlag.typeMask | GrantFlag.subPage) == GrantFlag.permitAccess else {
                    throw .notPermitAccess(ref, flags: entry.flags)
                }
                guard entry.domain == mapper else { throw .grantedToOtherDomain(ref, grantee: entry.domain) }
            }
            if !readOnly && entry.isReadOnly { throw .writeToReadOnlyGrant(ref) }
            let status = GrantFlag.reading | (readOnly ? 0 : GrantFlag.writing)
            let (exchanged, observed) = word.compareExchange(
                expected: current, desired: current | UInt64(status), ordering: .acquiringAndReleasing)
            if exchanged { return entry }
            current = observed
        }
        throw .unstableEntry(ref)
    }

    /// Drops one host pin of `active`, then clears the status bits it
    /// held (one access of the active entry).
    private static func unpin(_ word: borrowing Atomic<UInt64>, _ active: inout Active, readOnly: Bool) {
        active.pin.remove(PinCount.hostIncrement(readOnly: readOnly))
        clearStatus(word, &active, readOnly: readOnly)
    }

    /// Clears `GTF_writing` when no writable pin remains after a writable
    /// one went, and `GTF_reading` (and the page reference) when no pin
    /// remains.
    private static func clearStatus(_ word: borrowing Atomic<UInt64>, _ active: inout Active, readOnly: Bool) {
        var clear: UInt16 = 0
        if !readOnly && !active.pin.hasWritable { clear |= GrantFlag.writing }
        if active.pin.isZero {
            clear |= GrantFlag.reading
            active.frame = nil
        }
        if clear != 0 { word.bitwiseAnd(~UInt64(clear), ordering: .acquiringAndReleasing) }
    }

    /// Runs `body` with the shared frame holding `ref` and the entry's index
    /// in it; nil if the table does not have `ref`. The frame is not
    /// retained: a stored frame is never replaced or removed while the
    /// table lives, and the caller holds the table for the call.
    @discardableResult
    private func withShared<R>(_ ref: GrantRef, _ body: (SharedGrantFrame, Int) -> R) -> R? {
        let frame = Int(ref.rawValue) / Self.entriesPerFrame
        guard frame < frameCount.load(ordering: .acquiring) else { return nil }
        return frames.withInstance(at: frame) { body($0, Int(ref.rawValue) % Self.entriesPerFrame) }
    }
}

/// One 4 KiB frame of v1 grant entries, shared by the guest and Xen.
final class SharedGrantFrame: Sendable {
    let entries: InlineArray<512, Atomic<UInt64>> = InlineArray { _ in Atomic(0) }
}
