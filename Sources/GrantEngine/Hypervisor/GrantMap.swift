/// The map and unmap hypercalls (`GNTTABOP_map_grant_ref`,
/// `GNTTABOP_unmap_grant_ref`), one element or many per call.
extension Hypercalls {
    /// Xen unmaps in batches of 32 (`GNTTAB_UNMAP_BATCH_SIZE`), flushing
    /// the mapper's TLBs once per batch.
    public static let unmapBatchSize = 32

    /// The result of a batched unmap: how many handles were unmapped,
    /// which were refused, and how many TLB flushes it took.
    public struct UnmapResult: Hashable, Sendable {
        public struct Refusal: Hashable, Sendable {
            public let handle: MapHandle
            public let status: GrantStatus

            public init(handle: MapHandle, status: GrantStatus) {
                self.handle = handle
                self.status = status
            }
        }

        public var unmapped = 0
        public var refused: [Refusal] = []
        public var flushes = 0
    }

    // MARK: map_grant_ref

    /// One element of a map hypercall: a ref of the granter and how to map
    /// it (`struct gnttab_map_grant_ref` without the addresses).
    public struct MapRequest: Hashable, Sendable {
        public var ref: GrantRef
        public var flags: MapFlags

        public init(_ ref: GrantRef, flags: MapFlags) {
            self.ref = ref
            self.flags = flags
        }

        /// A host mapping, read-only or writable: what an Arm backend asks
        /// for.
        public init(_ ref: GrantRef, access: Access) {
            self.init(ref, flags: .host(access))
        }
    }

    /// Maps `ref` of `granter` into the caller (`GNTTABOP_map_grant_ref`),
    /// with Xen's checks in Xen's order (grant-dma.md §8.1).
    public func mapGrantRef(_ ref: GrantRef, of granter: DomainID, flags: MapFlags) throws(GrantError) -> PageMapping {
        var outcome = SingleMapOutcome()
        mapGrantRefs(CollectionOfOne(MapRequest(ref, flags: flags)), of: granter, into: &outcome)
        guard let result = outcome.result else { preconditionFailure("a map of one element reported no outcome") }
        return try result.get()
    }

    /// A host mapping, read-only or writable: what an Arm backend asks for.
    public func mapGrantRef(_ ref: GrantRef, of granter: DomainID, access: Access) throws(GrantError) -> PageMapping {
        try mapGrantRef(ref, of: granter, flags: .host(access))
    }

    /// Maps many refs of `granter` in one hypercall, as blkback maps the
    /// segments of a request: each element is checked on its own, in
    /// order, and gets its own result; a refused element does not stop the
    /// ones after it, and the ones before it stay mapped.
    public func mapGrantRefs(_ requests: [MapRequest], of granter: DomainID) -> [Result<PageMapping, GrantError>] {
        var outcomes = MapResults()
        outcomes.results.reserveCapacity(requests.count)
        mapGrantRefs(requests, of: granter, into: &outcomes)
        return outcomes.results
    }

    /// The map core: every element of `requests`, in order, handed to
    /// `outcomes` as mapped or refused.
    ///
    /// Xen runs every check per element (`map_grant_ref` looks the granter
    /// up, asks XSM, takes a maptrack handle and the granter's grant-table
    /// lock each time; only the hypercall entry is per call). The checks
    /// stay per element here too, but what does not change between
    /// elements is done once: the granter's record is looked up once and
    /// per element only its liveness is read (a destroyed domain is never
    /// alive again, and a new domain with the same id is a new record, so
    /// this answers as a fresh lookup would); the maptrack lock and the
    /// granter's grant-table lock are held across the whole call, which
    /// lets no other operation in between — one of the interleavings Xen
    /// allows. The security policy is asked under these locks, as the
    /// unmap path already does: a policy decides, it does not call back.
    func mapGrantRefs<Requests: Collection<MapRequest>, Outcomes: MapOutcomes>(
        _ requests: Requests, of granter: DomainID, into outcomes: inout Outcomes
    ) {
        guard !requests.isEmpty else { return }
        let granterRecord = hypervisor.record(granter)
        me.maptrack.withHandles { handles in
            guard let granterRecord else {
                // Every element is refused, by check 3 at the latest.
                for (index, element) in requests.enumerated() {
                    if let error = refuse(element, of: granter, granterAlive: false) { outcomes.refused(index, error) }
                }
                return
            }
            let table = granterRecord.table
            table.withActive { active in
                for (index, element) in requests.enumerated() {
                    let granterAlive = granterRecord.isAlive.load(ordering: .acquiring)
                    if let error = refuse(element, of: granter, granterAlive: granterAlive) {
                        outcomes.refused(index, error)
                        continue
                    }
                    let readOnly = element.flags.contains(.readOnly)
                    do throws(GrantError) {
                        let mapping = try me.maptrack.map(
                            in: &handles, of: table, ref: element.ref, readOnly: readOnly
                        ) { () throws(GrantError) in
                            try table.pin(element.ref, by: caller, readOnly: readOnly, in: &active)
                        }
                        outcomes.mapped(index, PageMapping(
                            kind: .grant(handle: mapping.handle, ref: element.ref), mapper: caller, owner: granter,
                            access: readOnly ? .readOnly : .writable, frame: mapping.frame.takeUnretainedValue(),
                            slot: mapping.slot.takeUnretainedValue(), token: mapping.token))
                    } catch {
                        logRefusal(error, of: element, granter: granter)
                        outcomes.refused(index, error)
                    }
                }
            }
        }
    }

    /// Checks 1–4 of an element, in Xen's order: the caller alive, the
    /// flags, the granter (`granterAlive`: false when the id names no live
    /// domain), the security policy. Returns and logs the refusal, if any.
    private func refuse(_ element: MapRequest, of granter: DomainID, granterAlive: Bool) -> GrantError? {
        let flags = element.flags
        do throws(GrantError) {
            try requireAlive()
            guard !flags.isDisjoint(with: [.hostMap, .deviceMap]) else { throw .noMappingKind(flags) }
            guard flags.isDisjoint(with: [.deviceMap, .applicationMap, .containsPTE]) else {
                throw .deviceMappingFromTranslatedDomain(flags)
            }
            guard granterAlive else { throw .unknownDomain(granter) }
            try permit(.map(mapper: caller, granter: granter))
            return nil
        } catch {
            logRefusal(error, of: element, granter: granter)
            return error
        }
    }

    private func logRefusal(_ error: GrantError, of element: MapRequest, granter: DomainID) {
        let access: Access = element.flags.contains(.readOnly) ? .readOnly : .writable
        hypervisor.events.record(error, .mapGrantRef, caller: caller, target: granter, location: .ref(element.ref), access: access)
    }

    // MARK: unmap_grant_ref

    /// Unmaps one grant mapping by handle (one TLB flush).
    public func unmapGrantRef(_ handle: MapHandle) throws(GrantError) {
        var failure: GrantError?
        unmap(CollectionOfOne(handle)) { _, error in failure = error }
        if let failure { throw failure }
    }

    /// Unmaps many mappings in one hypercall: batches of 32, each finished
    /// by one flush before the pins drop.
    public func unmapGrantRefs<C: Collection<MapHandle>>(_ handles: C) -> UnmapResult {
        var result = UnmapResult()
        (result.unmapped, result.flushes) = unmap(handles) { handle, error in
            result.refused.append(UnmapResult.Refusal(handle: handle, status: error.status))
        }
        return result
    }

    /// The unmap core: reports each refused handle (in order) and returns
    /// how many handles were unmapped and how many flushes it took. As in
    /// Xen's `gnttab_unmap_grant_ref`, each batch of up
    /// to 32 handles is done in three steps: every handle is checked and
    /// taken out of the maptrack (one acquisition of its lock), then the
    /// mappings are revoked under their frames' locks — the effect of the
    /// TLB flush, counted once per batch — and only then do the pins drop
    /// (one acquisition of a granter's lock per run of its mappings).
    @discardableResult
    func unmap<C: Collection<MapHandle>>(_ handles: C, refused: (MapHandle, GrantError) -> Void) -> (unmapped: Int, flushes: Int) {
        let total = handles.count
        guard total > 0 else { return (0, 0) }
        var unmapped = 0
        withUnsafeTemporaryAllocation(of: Maptrack.Taken.self, capacity: min(total, Self.unmapBatchSize)) { batch in
            guard let base = batch.baseAddress else { return }
            var next = handles.startIndex
            while next != handles.endIndex {
                var taken = 0
                me.maptrack.withHandles { entries in
                    var inBatch = 0
                    while inBatch < Self.unmapBatchSize, next != handles.endIndex {
                        let handle = handles[next]
                        handles.formIndex(after: &next)
                        inBatch += 1
                        do throws(GrantError) {
                            try requireAlive()
                            let mapping = try me.maptrack.take(handle, in: &entries) { (granter: DomainID) throws(GrantError) in
                                try permit(.unmap(mapper: caller, granter: granter))
                            }
                            (base + taken).initialize(to: consume mapping)
                            taken += 1
                        } catch {
                            hypervisor.events.record(
                                error, .unmapGrantRef, caller: caller, target: nil, location: .handle(handle), access: nil)
                            refused(handle, error)
                        }
                    }
                }
                let done = UnsafeMutableBufferPointer(start: base, count: taken)
                for index in done.indices { Maptrack.Taken.revoke(done[index].slot, done[index].token, on: done[index].frame) }
                Self.unpin(done)
                base.deinitialize(count: taken)
                unmapped += taken
            }
        }
        return (unmapped, (total + Self.unmapBatchSize - 1) / Self.unmapBatchSize)
    }

    /// Drops the pins of unmapped mappings, taking each granter's lock once
    /// per run of its mappings.
    static func unpin(_ mappings: UnsafeMutableBufferPointer<Maptrack.Taken>) {
        var index = 0
        while index < mappings.count {
            let table = mappings[index].granter
            table.withActive { active in
                while index < mappings.count, mappings[index].granter === table {
                    table.unpin(mappings[index].ref, readOnly: mappings[index].readOnly, in: &active)
                    index += 1
                }
            }
        }
    }
}

/// Where the elements of a map hypercall go, in order: each is mapped or
/// refused (and the refusal logged) exactly once.
protocol MapOutcomes {
    mutating func mapped(_ index: Int, _ page: consuming PageMapping)
    mutating func refused(_ index: Int, _ error: GrantError)
}

/// The outcomes of a batched map as `Result`s, in order.
struct MapResults: MapOutcomes {
    var results: [Result<PageMapping, GrantError>] = []

    mutating func mapped(_ index: Int, _ page: consuming PageMapping) { results.append(.success(page)) }
    mutating func refused(_ index: Int, _ error: GrantError) { results.append(.failure(error)) }
}

/// The outcome of a map of one element.
private struct SingleMapOutcome: MapOutcomes {
    var result: Result<PageMapping, GrantError>?

    mutating func mapped(_ index: Int, _ page: consuming PageMapping) { result = .success(page) }
    mutating func refused(_ index: Int, _ error: GrantError) { result = .failure(error) }
}
