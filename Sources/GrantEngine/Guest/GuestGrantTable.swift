/// A guest's grant-table driver (Linux `drivers/xen/grant-table.c`): the
/// ref allocator, writing entries, ending access, and the deferred-end
/// list. It drives the domain's grant table in the hypervisor (growing it
/// up to `max_grant_frames`).
public final class GuestGrantTable: Sendable {
    /// Linux's `free_per_iteration` default: deferred entries retried per
    /// timer pass.
    public static let defaultFreePerIteration = 10

    private struct State {
        var free: GrantFreeList
        var deferred = DeferredEndList()
    }

    public let owner: DomainID
    private let table: GrantTable
    private let pages: GuestPageAllocator
    private let state: Lock<State>

    init(table: GrantTable, pages: GuestPageAllocator) {
        owner = table.owner
        self.table = table
        self.pages = pages
        state = Lock(State(free: GrantFreeList(refsPerFrame: GrantTable.entriesPerFrame, maxFrames: table.maxFrames)))
    }

    // MARK: Allocation

    /// One ref (`gnttab_alloc_grant_references(1)`).
    public func allocate() throws(GrantAllocationError) -> GrantRef {
        try allocating { (free, grow) throws(GrantAllocationError) in GrantRef(try free.takeOne(grow: grow)) }
    }

    /// `count` refs in no particular order (classic PV drivers).
    public func allocate(count: Int) throws(GrantAllocationError) -> [GrantRef] {
        try allocating { (free, grow) throws(GrantAllocationError) in try free.take(count, grow: grow).map(GrantRef.init(rawValue:)) }
    }

    /// `count` consecutive refs, returning the first
    /// (`gnttab_alloc_grant_reference_seq`).
    public func allocateRun(count: Int) throws(GrantAllocationError) -> GrantRef {
        try allocating { (free, grow) throws(GrantAllocationError) in GrantRef(try free.takeRun(count, grow: grow)) }
    }

    /// Runs `body` on the locked allocator with a way to grow the table.
    /// That way captures the table unretained: this object holds it for
    /// the call, and a retained capture cost a retain and a release per
    /// allocation.
    private func allocating<R>(
        _ body: (inout GrantFreeList, (Int) -> Bool) throws(GrantAllocationError) -> R
    ) throws(GrantAllocationError) -> R {
        try state.withLock { (state: inout State) throws(GrantAllocationError) -> R in
            try body(&state.free) { [unowned(unsafe) table] frames in table.grow(to: frames) }
        }
    }

    /// Returns a ref to the free pool; refs 0–7 are ignored.
    public func free(_ ref: GrantRef) {
        state.withLock { $0.free.put(ref.rawValue) }
    }

    /// Returns a run of consecutive refs.
    public func freeRun(_ first: GrantRef, count: Int) {
        state.withLock { $0.free.putRun(first.rawValue, count: count) }
    }

    /// Whether `ref` is in the free pool.
    public func isFree(_ ref: GrantRef) -> Bool { state.withLock { $0.free.isFree(ref.rawValue) } }
    /// Free refs.
    public var freeCount: Int { state.withLock { $0.free.freeCount } }
    /// Refs in the table (frames × 512).
    public var size: Int { state.withLock { $0.free.size } }
    /// Frames of the table; it starts at 1.
    public var frames: Int { state.withLock { $0.free.frames } }
    public var maxFrames: Int { table.maxFrames }

    // MARK: Entries

    /// Grants `backend` access to `frame` (`gnttab_grant_foreign_access_ref`).
    public func grantForeignAccess(_ ref: GrantRef, to backend: DomainID, frame: FrameNumber, access: Access) {
        precondition(frame.rawValue <= UInt64(UInt32.max), "\(frame) does not fit a v1 grant entry")
        let flags = GrantFlag.permitAccess | (access == .readOnly ? GrantFlag.readOnly : 0)
        table.write(ref, GrantEntry(flags: flags, domain: backend, frame: UInt32(frame.rawValue)))
    }

    /// Allocates a ref and grants it (`gnttab_grant_foreign_access`).
    public func grantForeignAccess(to backend: DomainID, frame: FrameNumber, access: Access) throws(GrantAllocationError) -> GrantRef {
        let ref = try allocate()
        grantForeignAccess(ref, to: backend, frame: frame, access: access)
        return ref
    }

    /// The entry of `ref` as Xen sees it; nil beyond the table.
    public func entry(_ ref: GrantRef) -> GrantEntry? { table.entry(ref) }

    /// Ends access unless the backend still has the entry mapped
    /// (`gnttab_end_foreign_access_ref`); true when ended. Does not free
    /// the ref.
    public func endForeignAccess(_ ref: GrantRef) -> Bool { table.endAccess(ref) }

    /// Ends access and, if that worked, frees the ref
    /// (`gnttab_try_end_foreign_access`).
    public func tryEndForeignAccess(_ ref: GrantRef) -> Bool {
        guard table.endAccess(ref) else { return false }
        free(ref)
        return true
    }

    // MARK: Deferred end of access

    /// Ends access, frees the ref and releases `page` — or, while the
    /// backend still maps the entry, queues both on the deferred list
    /// (`gnttab_end_foreign_access`). Returns true when ended at once.
    @discardableResult
    public func endForeignAccess(_ ref: GrantRef, releasing page: FrameNumber?) -> Bool {
        if tryEndForeignAccess(ref) {
            if let page { pages.free(page, pages: 1) }
            return true
        }
        state.withLock { $0.deferred.append(ref, page: page) }
        return false
    }

    /// One pass of the deferred timer: retries up to `limit` queued refs
    /// (0 = all, once each), frees those whose access ended and reports
    /// what it could not reclaim.
    public func retryDeferred(limit: Int = GuestGrantTable.defaultFreePerIteration) -> DeferredPass {
        let pass = state.withLock { state in
            let pass = state.deferred.retry(limit: limit) { table.endAccess($0) }
            for reclaimed in pass.reclaimed { state.free.put(reclaimed.ref.rawValue) }
            return pass
        }
        for case let page? in pass.reclaimed.map(\.page) { pages.free(page, pages: 1) }
        return pass
    }

    /// Refs waiting on the deferred list.
    public var deferredRefs: [GrantRef] { state.withLock { $0.deferred.entries.map(\.ref) } }
}
