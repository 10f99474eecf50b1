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
        /// The granter (Xen's maptrack entry keeps its domid): the unmap's
        /// policy check names it without reaching the granter's table.
        var domain = DomainID(0)
        /// Strong while in use: the granter's table outlives the granter
        /// until its mappings are unmapped.
        var granter: GrantTable?
        var ref = GrantRef(0)
        var readOnly = false
        /// Not retained: the mapping's pin holds the frame (Xen's page
        /// reference, in the granter's active entry) from the map until the
        /// unmap has revoked the mapping and dropped the pin.
        var frame: Unmanaged<Frame>?
        var generation: UInt64 = 0
        let slot: MapSlot
        /// `slot` again, unretained, for the hot paths (the entry holds it
        /// for as long as the table lives).
        let unretainedSlot: Unmanaged<MapSlot>
        /// Next free handle (the free list is linked through the entries).
        var next = Maptrack.none

        init(slot: MapSlot, next: UInt32) {
            self.slot = slot
            unretainedSlot = .passUnretained(slot)
            self.next = next
        }

        var liveToken: UInt64 { generation << 1 | 1 }

        /// Records a new mapping in this free entry and makes its slot
        /// live; returns the mapping's token.
        mutating func record(granter table: GrantTable, ref: GrantRef, readOnly: Bool, frame: Unmanaged<Frame>) -> UInt64 {
            inUse = true
            domain = table.owner
            granter = table
            self.ref = ref
            self.readOnly = readOnly
            self.frame = frame
            generation &+= 1
            let token = liveToken
            unretainedSlot._withUnsafeGuaranteedRef { $0.activate(token) }
            return token
        }

        /// Marks the entry unmapped and hands its mapping over (the
        /// granter's table moves out); nil if it maps nothing.
        mutating func takeMapping(_ handle: MapHandle) -> Taken? {
            guard let table = granter.take(), let frame = frame.take() else { return nil }
            inUse = false
            return Taken(
                handle: handle, granter: table, ref: ref, readOnly: readOnly, frame: frame, slot: unretainedSlot, token: liveToken)
        }
    }

    /// What a map hands back: the handle and what an access through the
    /// new mapping needs (not the granter: only the unmap needs it). The
    /// frame and slot are not retained (the pin holds the frame, the table
    /// its slots): the page mapping made from them retains them.
    struct Mapped {
        let handle: MapHandle
        let frame: Unmanaged<Frame>
        let slot: Unmanaged<MapSlot>
        let token: UInt64
    }

    /// One mapping as an unmap takes it out again, for the call that
    /// unmaps it: the granter's table moved out of the entry; the frame and
    /// slot not retained — the pin holds the frame until this call drops
    /// it, and an entry's slot lives as long as the table.
    struct Taken {
        let handle: MapHandle
        let granter: GrantTable
        let ref: GrantRef
        let readOnly: Bool
        let frame: Unmanaged<Frame>
        let slot: Unmanaged<MapSlot>
        let token: UInt64

        /// Ends the mapping: its slot drops the token under the frame's
        /// lock, waiting out accesses in flight.
        func revoke() { Self.revoke(slot, token, on: frame) }

        /// `revoke()` from the fields, for loops over a batch: calling a
        /// method on an element copied it (a retain and a release of the
        /// granter).
        static func revoke(_ slot: Unmanaged<MapSlot>, _ token: UInt64, on frame: Unmanaged<Frame>) {
            slot._withUnsafeGuaranteedRef { slot in frame._withUnsafeGuaranteedRef { slot.revoke(token, on: $0) } }
        }
    }

    /// The table's state, reachable only with its lock held
    /// (`withHandles`), so the maps or unmaps of one hypercall can share
    /// one acquisition.
    struct Handles {
        fileprivate var entries: [Entry] = []
        fileprivate var head = Maptrack.none
        fileprivate var tail = Maptrack.none
    }

    let maxFrames: Int
    private let log: EventLog
    private let state = Lock(Handles())

    init(maxFrames: Int, log: EventLog) {
        self.maxFrames = maxFrames
        self.log = log
    }

    /// Most mappings the domain can hold at once.
    var capacity: Int { max(maxFrames * Self.entriesPerFrame - 1, 0) }

    /// Runs `body` holding the table's lock, for `map(in:_:)` and
    /// `take(_:in:permit:)`.
    func withHandles<R, E: Error>(_ body: (inout Handles) throws(E) -> R) throws(E) -> R {
        try state.withLock(body)
    }

    /// Takes a handle and runs `pin` (the granter-side checks on `ref` of
    /// `table`) while holding it; on success records the mapping, on
    /// failure gives the handle back (to the tail, as Xen does). `handles`
    /// must be this table's (from `withHandles`).
    func map(
        in handles: inout Handles, of table: GrantTable, ref: GrantRef, readOnly: Bool, _ pin: () throws(GrantError) -> Unmanaged<Frame>
    ) throws(GrantError) -> Mapped {
        guard let handle = takeHandle(&handles) else {
            throw .maptrackFull(limit: capacity)
        }
        let frame: Unmanaged<Frame>
        do throws(GrantError) {
            frame = try pin()
        } catch {
            Self.putHandle(&handles, handle)
            throw error
        }
        // One access of the entry (each `entries[i].field = …` checked the
        // array's uniqueness again).
        let index = Int(handle)
        let token = handles.entries[index].record(granter: table, ref: ref, readOnly: readOnly, frame: frame)
        return Mapped(handle: MapHandle(handle), frame: frame, slot: handles.entries[index].unretainedSlot, token: token)
    }

    /// Marks `handle` unmapped, returns it to the tail of the free list (as
    /// Xen does before the flush: a reused handle gets a new token, so the
    /// old mapping stays dead) and returns what it mapped; `badHandle` when
    /// the handle is beyond the table or not in use. `handles` must be this
    /// table's (from `withHandles`).
    ///
    /// `permit` is asked, with the granter, before anything changes (the
    /// security policy's unmap hook).
    func take(_ handle: MapHandle, in handles: inout Handles, permit: (DomainID) throws(GrantError) -> Void) throws(GrantError) -> Taken {
        let index = Int(handle.rawValue)
        guard index < handles.entries.count, handles.entries[index].inUse else { throw .badHandle(handle) }
        try permit(handles.entries[index].domain)
        guard let taken = Self.take(&handles, index) else { throw .badHandle(handle) }
        return taken
    }

    /// Takes every live mapping (the domain is being destroyed).
    func takeAll() -> [Taken] {
        state.withLock { handles in
            handles.entries.indices.filter { handles.entries[$0].inUse }.compactMap { Self.take(&handles, $0) }
        }
    }

    private static func take(_ state: inout Handles, _ index: Int) -> Taken? {
        guard let taken = state.entries[index].takeMapping(MapHandle(UInt32(index))) else { return nil }
        Self.putHandle(&state, UInt32(index))
        return taken
    }

    private func takeHandle(_ state: inout Handles) -> UInt32? {
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

    private static func putHandle(_ state: inout Handles, _ handle: UInt32) {
        state.entries[Int(handle)].next = none
        if state.tail != none { state.entries[Int(state.tail)].next = handle }
        state.tail = handle
        if state.head == none { state.head = handle }
    }
}
