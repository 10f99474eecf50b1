import Synchronization

/// Liveness of one mapping, checked on every access through it. A mapping
/// is live while the slot holds its token; unmapping stores a dead token
/// under the frame lock, so no access can still be running afterwards.
/// Refused accesses are logged to `log`.
final class MapSlot: Sendable {
    private let token = Atomic<UInt64>(0)
    let log: EventLog

    init(log: EventLog) {
        self.log = log
    }

    func isLive(_ expected: UInt64) -> Bool { token.load(ordering: .acquiring) == expected }
    func activate(_ live: UInt64) { token.store(live, ordering: .releasing) }

    /// Ends the mapping that holds `live`, waiting out accesses in flight.
    func revoke(_ live: UInt64, on frame: Frame) {
        frame.withBytes { _ in
            _ = token.compareExchange(expected: live, desired: live &+ 1, ordering: .acquiringAndReleasing)
        }
    }
}

/// The maptrack table of one mapping domain: which handle maps which
/// granter's ref, with Xen's handle allocation (one vCPU).
///
/// Handles live in frames of 256. A new frame hands out its first handle
/// and puts the other 255 at the head of the free list; unmapped handles go
/// to the tail. The list always keeps one entry as its tail sentinel, so a
/// one-vCPU domain can hold `frames × 256 − 1` mappings at once (262,143
/// with the default 1,024 frames).
final class Maptrack: Sendable {
    static let entriesPerFrame = XenPage.size / 16
    private static let none = UInt32.max

    struct Entry {
        var inUse = false
        var granter: GrantTable?
        var ref = GrantRef(0)
        var readOnly = false
        var frame: Frame?
        var generation: UInt64 = 0
        let slot: MapSlot
        /// Next free handle (the free list is linked through the entries).
        var next = Maptrack.none

        var liveToken: UInt64 { generation << 1 | 1 }
    }

    /// What a map hands back: the handle and what an access through the
    /// new mapping needs (not the granter: only the unmap needs it).
    struct Mapped {
        let handle: MapHandle
        let frame: Frame
        let slot: MapSlot
        let token: UInt64
    }

    /// One mapping as an unmap takes it out again.
    struct Taken {
        let handle: MapHandle
        let granter: GrantTable
        let ref: GrantRef
        let readOnly: Bool
        let frame: Frame
        let slot: MapSlot
        let token: UInt64
    }

    private struct State {
        var entries: [Entry] = []
        var head = Maptrack.none
        var tail = Maptrack.none
    }

    let maxFrames: Int
    private let log: EventLog
    private let state = Lock(State())

    init(maxFrames: Int, log: EventLog) {
        self.maxFrames = maxFrames
        self.log = log
    }

    /// Most mappings the domain can hold at once.
    var capacity: Int { max(maxFrames * Self.entriesPerFrame - 1, 0) }

    /// Takes a handle and runs `pin` (the granter-side checks) while holding
    /// it; on success records the mapping, on failure gives the handle back
    /// (to the tail, as Xen does).
    func map(
        _ pin: () throws(GrantError) -> (table: GrantTable, ref: GrantRef, readOnly: Bool, frame: Frame)
    ) throws(GrantError) -> Mapped {
        try state.withLock { (state: inout State) throws(GrantError) -> Mapped in
            guard let handle = takeHandle(&state) else {
                throw .maptrackFull(limit: capacity)
            }
            let pinned: (table: GrantTable, ref: GrantRef, readOnly: Bool, frame: Frame)
            do throws(GrantError) {
                pinned = try pin()
            } catch {
                Self.putHandle(&state, handle)
                throw error
            }
            let index = Int(handle)
            state.entries[index].inUse = true
            state.entries[index].granter = pinned.table
            state.entries[index].ref = pinned.ref
            state.entries[index].readOnly = pinned.readOnly
            state.entries[index].frame = pinned.frame
            state.entries[index].generation &+= 1
            let token = state.entries[index].liveToken
            state.entries[index].slot.activate(token)
            return Mapped(handle: MapHandle(handle), frame: pinned.frame, slot: state.entries[index].slot, token: token)
        }
    }

    /// Marks `handle` unmapped, returns it to the tail of the free list (as
    /// Xen does before the flush: a reused handle gets a new token, so the
    /// old mapping stays dead) and returns what it mapped; `badHandle` when
    /// the handle is beyond the table or not in use.
    ///
    /// `permit` is asked, with the granter, before anything changes (the
    /// security policy's unmap hook).
    func take(_ handle: MapHandle, permit: (DomainID) throws(GrantError) -> Void) throws(GrantError) -> Taken {
        try state.withLock { (state: inout State) throws(GrantError) -> Taken in
            let index = Int(handle.rawValue)
            guard index < state.entries.count, state.entries[index].inUse, let granter = state.entries[index].granter else {
                throw .badHandle(handle)
            }
            try permit(granter.owner)
            guard let taken = Self.take(&state, index) else { throw .badHandle(handle) }
            return taken
        }
    }

    /// Takes every live mapping (the domain is being destroyed).
    func takeAll() -> [Taken] {
        state.withLock { state in
            state.entries.indices.filter { state.entries[$0].inUse }.compactMap { Self.take(&state, $0) }
        }
    }

    private static func take(_ state: inout State, _ index: Int) -> Taken? {
        guard let granter = state.entries[index].granter.take(), let frame = state.entries[index].frame.take() else { return nil }
        state.entries[index].inUse = false
        Self.putHandle(&state, UInt32(index))
        return Taken(
            handle: MapHandle(UInt32(index)), granter: granter, ref: state.entries[index].ref,
            readOnly: state.entries[index].readOnly, frame: frame, slot: state.entries[index].slot,
            token: state.entries[index].liveToken)
    }

    private func takeHandle(_ state: inout State) -> UInt32? {
        if state.head != Self.none {
            let next = state.entries[Int(state.head)].next
            if next != Self.none {
                let handle = state.head
                state.head = next
                return handle
            }
        }
        // The list is down to its sentinel: grow by one frame if allowed.
        guard state.entries.count / Self.entriesPerFrame < maxFrames else { return nil }
        let first = UInt32(state.entries.count)
        for offset in 0..<UInt32(Self.entriesPerFrame) {
            state.entries.append(Entry(slot: MapSlot(log: log), next: first + offset + 1))
        }
        let last = first + UInt32(Self.entriesPerFrame) - 1
        if state.tail == Self.none { state.tail = last }
        state.entries[Int(last)].next = state.head
        state.head = first + 1
        return first
    }

    private static func putHandle(_ state: inout State, _ handle: UInt32) {
        state.entries[Int(handle)].next = none
        if state.tail != none { state.entries[Int(state.tail)].next = handle }
        state.tail = handle
        if state.head == none { state.head = handle }
    }
}
