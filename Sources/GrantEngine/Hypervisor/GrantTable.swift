/// One domain's grant table as Xen keeps it: the v1 entries the guest
/// writes (shared memory in Xen) and, beside each, Xen's active state —
/// the pin count, the pinning domain and the pinned frame.
///
/// The guest side (`GuestGrantTable`) writes entries and ends access; the
/// hypervisor side pins and unpins. Both go through one lock, which gives
/// the atomicity Xen and Linux get from compare-and-swap on `flags`.
final class GrantTable: Sendable {
    /// v1 entries are 8 bytes: 512 per 4 KiB frame.
    static let entriesPerFrame = XenPage.size / 8

    private struct Slot {
        var shared = GrantEntry.empty
        var pin = PinCount()
        /// The domain holding the pins (meaningful while pinned).
        var pinner = DomainID(0)
        /// Xen's page reference: keeps the frame alive while pinned.
        var frame: Frame?
    }

    private struct State {
        var frames: Int
        var slots: [Slot]
    }

    let owner: DomainID
    let maxFrames: Int
    private let memory: GuestMemory
    private let state: Lock<State>

    init(owner: DomainID, maxFrames: Int, memory: GuestMemory) {
        self.owner = owner
        self.maxFrames = maxFrames
        self.memory = memory
        state = Lock(State(frames: 1, slots: Array(repeating: Slot(), count: Self.entriesPerFrame)))
    }

    /// Current and maximum frames (`GNTTABOP_query_size`).
    var size: (frames: Int, maxFrames: Int) { state.withLock { ($0.frames, maxFrames) } }

    /// Grows the table to `frames` frames; false beyond `maxFrames`.
    func grow(to frames: Int) -> Bool {
        guard frames <= maxFrames else { return false }
        state.withLock { state in
            guard frames > state.frames else { return }
            state.slots.append(contentsOf: repeatElement(Slot(), count: (frames - state.frames) * Self.entriesPerFrame))
            state.frames = frames
        }
        return true
    }

    // MARK: Guest side

    /// The shared entry of `ref`, or nil beyond the table.
    func entry(_ ref: GrantRef) -> GrantEntry? {
        state.withLock { state in
            Int(ref.rawValue) < state.slots.count ? state.slots[Int(ref.rawValue)].shared : nil
        }
    }

    /// Writes an entry as the guest does: domid, frame, then flags (under
    /// one lock the order is invisible, and the result is the same).
    func write(_ ref: GrantRef, _ entry: GrantEntry) {
        state.withLock { state in
            precondition(Int(ref.rawValue) < state.slots.count, "\(ref) is beyond the grant table")
            state.slots[Int(ref.rawValue)].shared = entry
        }
    }

    /// v1 end of access: fails while Xen has the entry pinned (reading or
    /// writing set); otherwise clears the flags atomically.
    func endAccess(_ ref: GrantRef) -> Bool {
        state.withLock { state in
            precondition(Int(ref.rawValue) < state.slots.count, "\(ref) is beyond the grant table")
            guard !state.slots[Int(ref.rawValue)].shared.isInUse else { return false }
            state.slots[Int(ref.rawValue)].shared.flags = GrantFlag.invalid
            return true
        }
    }

    // MARK: Hypervisor side

    /// Pins `ref` for one host mapping (or copy) by `mapper`: checks 6–10 of
    /// grant-dma.md §8.1 in Xen's order. Returns the granted frame.
    func pin(_ ref: GrantRef, by mapper: DomainID, readOnly: Bool) throws(GrantError) -> Frame {
        try state.withLock { (state: inout State) throws(GrantError) -> Frame in
            let index = Int(ref.rawValue)
            guard index < state.slots.count else { throw .refOutOfRange(ref, entries: state.slots.count) }
            let increment = PinCount.hostIncrement(readOnly: readOnly)
            let pin = state.slots[index].pin
            if !pin.isZero {
                guard state.slots[index].pinner == mapper else {
                    throw .pinnedByOtherDomain(ref, pinnedBy: state.slots[index].pinner)
                }
                guard !pin.wouldOverflow(adding: increment) else { throw .pinCounterFull(ref) }
            }
            // Xen re-reads the shared entry only for a first pin or a first
            // writable pin: later read-only maps trust the existing pin.
            if pin.isZero || (!readOnly && !pin.hasWritable) {
                try Self.validate(state.slots[index].shared, ref: ref, mapper: mapper, readOnly: readOnly, pinned: !pin.isZero)
                state.slots[index].shared.flags |= GrantFlag.reading | (readOnly ? 0 : GrantFlag.writing)
                if pin.isZero {
                    let granted = state.slots[index].shared.frame
                    guard let frame = memory.frame(FrameNumber(UInt64(granted))) else {
                        Self.clearStatus(&state.slots[index], readOnly: readOnly)
                        throw .badFrame(ref, frame: granted)
                    }
                    state.slots[index].pinner = mapper
                    state.slots[index].frame = frame
                }
            }
            guard let frame = state.slots[index].frame else { preconditionFailure("pinned \(ref) has no frame") }
            state.slots[index].pin.add(increment)
            return frame
        }
    }

    /// Drops one pin taken by `pin(_:by:readOnly:)`.
    func unpin(_ ref: GrantRef, readOnly: Bool) {
        state.withLock { state in
            let index = Int(ref.rawValue)
            state.slots[index].pin.remove(PinCount.hostIncrement(readOnly: readOnly))
            Self.clearStatus(&state.slots[index], readOnly: readOnly)
        }
    }

    /// Xen's `_set_status` checks on the shared entry.
    private static func validate(_ entry: GrantEntry, ref: GrantRef, mapper: DomainID, readOnly: Bool, pinned: Bool) throws(GrantError) {
        if !pinned {
            guard entry.flags & (GrantFlag.typeMask | GrantFlag.subPage) == GrantFlag.permitAccess else {
                throw .notPermitAccess(ref, flags: entry.flags)
            }
            guard entry.domain == mapper else { throw .grantedToOtherDomain(ref, grantee: entry.domain) }
        }
        if !readOnly && entry.isReadOnly { throw .writeToReadOnlyGrant(ref) }
    }

    /// Clears `GTF_writing` when no writable pin remains after a writable
    /// one went, and `GTF_reading` (and the page reference) when no pin
    /// remains.
    private static func clearStatus(_ slot: inout Slot, readOnly: Bool) {
        if !readOnly && !slot.pin.hasWritable { slot.shared.flags &= ~GrantFlag.writing }
        if slot.pin.isZero {
            slot.shared.flags &= ~GrantFlag.reading
            slot.frame = nil
        }
    }
}
