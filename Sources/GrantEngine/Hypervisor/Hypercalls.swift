/// The grant-table and foreign-mapping hypercalls, made as one domain.
///
/// The caller's identity is fixed: a `Hypercalls` object comes only with
/// its `Domain`, so a backend can act only as itself. Every refusal is
/// thrown with Xen's status and recorded in the hypervisor's event log.
public final class Hypercalls: Sendable {
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

    let hypervisor: Hypervisor
    let me: DomainRecord
    public var caller: DomainID { me.id }

    init(hypervisor: Hypervisor, me: DomainRecord) {
        self.hypervisor = hypervisor
        self.me = me
    }

    // MARK: map_grant_ref

    /// Maps `ref` of `granter` into the caller (`GNTTABOP_map_grant_ref`),
    /// with Xen's checks in Xen's order (grant-dma.md §8.1).
    public func mapGrantRef(_ ref: GrantRef, of granter: DomainID, flags: MapFlags) throws(GrantError) -> PageMapping {
        let access: Access = flags.contains(.readOnly) ? .readOnly : .writable
        do throws(GrantError) {
            try requireAlive()
            guard !flags.isDisjoint(with: [.hostMap, .deviceMap]) else { throw .noMappingKind(flags) }
            guard flags.isDisjoint(with: [.deviceMap, .applicationMap, .containsPTE]) else {
                throw .deviceMappingFromTranslatedDomain(flags)
            }
            guard let granterRecord = hypervisor.record(granter) else { throw .unknownDomain(granter) }
            try permit(.map(mapper: caller, granter: granter))
            let readOnly = access == .readOnly
            let mapped = try me.maptrack.map { () throws(GrantError) in
                (granterRecord.table, ref, readOnly, try granterRecord.table.pin(ref, by: caller, readOnly: readOnly))
            }
            return PageMapping(
                kind: .grant(handle: mapped.handle, ref: ref), mapper: caller, owner: granter, access: access,
                frame: mapped.frame, slot: mapped.slot, token: mapped.token)
        } catch {
            hypervisor.events.record(error, .mapGrantRef, caller: caller, target: granter, location: .ref(ref), access: access)
            throw error
        }
    }

    /// A host mapping, read-only or writable: what an Arm backend asks for.
    public func mapGrantRef(_ ref: GrantRef, of granter: DomainID, access: Access) throws(GrantError) -> PageMapping {
        try mapGrantRef(ref, of: granter, flags: .host(access))
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
        result.flushes = unmap(handles) { handle, error in
            if let error {
                result.refused.append(UnmapResult.Refusal(handle: handle, status: error.status))
            } else {
                result.unmapped += 1
            }
        }
        return result
    }

    /// The unmap core: reports each handle's outcome and returns the number
    /// of flushes. Each mapping is revoked under its frame's lock before its
    /// pin drops — the effect of Xen's TLB flush — and flushes are counted
    /// as Xen performs them, one per batch of up to 32 handles.
    @discardableResult
    func unmap<C: Collection<MapHandle>>(_ handles: C, report: (MapHandle, GrantError?) -> Void) -> Int {
        for handle in handles {
            do throws(GrantError) {
                try requireAlive()
                let mapping = try me.maptrack.take(handle) { (granter: DomainID) throws(GrantError) in
                    try permit(.unmap(mapper: caller, granter: granter))
                }
                mapping.slot.revoke(mapping.token, on: mapping.frame)
                mapping.granter.unpin(mapping.ref, readOnly: mapping.readOnly)
                report(handle, nil)
            } catch {
                hypervisor.events.record(error, .unmapGrantRef, caller: caller, target: nil, location: .handle(handle), access: nil)
                report(handle, error)
            }
        }
        return (handles.count + Self.unmapBatchSize - 1) / Self.unmapBatchSize
    }

    // MARK: foreign mappings

    /// Maps a frame of another domain without a grant (privcmd's
    /// `XENMAPSPACE_gmfn_foreign`): only privileged domains may.
    public func foreignMap(_ frame: FrameNumber, of target: DomainID) throws(ForeignMapError) -> PageMapping {
        do throws(ForeignMapError) {
            guard me.isAlive.load(ordering: .acquiring) else { throw ForeignMapError.unknownDomain(caller) }
            guard let targetRecord = hypervisor.record(target) else { throw ForeignMapError.unknownDomain(target) }
            guard target != caller else { throw ForeignMapError.ownDomain(caller) }
            guard hypervisor.isPrivileged(caller) else { throw ForeignMapError.notPrivileged(caller: caller, target: target) }
            guard let page = targetRecord.memory.frame(frame) else { throw ForeignMapError.notRAM(frame) }
            let (slot, token) = me.foreign.add(page, log: hypervisor.events)
            return PageMapping(kind: .foreign(frame), mapper: caller, owner: target, access: .writable, frame: page, slot: slot, token: token)
        } catch {
            hypervisor.events.record(
                .foreignMap, caller: caller, target: target, location: .frame(frame), access: .writable,
                errno: error.errno, reason: error.reason)
            throw error
        }
    }

    /// Removes a foreign mapping of the caller; false when it is not one of
    /// the caller's live foreign mappings.
    public func foreignUnmap(_ mapping: PageMapping) -> Bool {
        guard mapping.mapper == caller, case .foreign = mapping.kind else { return false }
        return me.foreign.remove(mapping.slot)
    }

    // MARK: query_size

    /// Current and maximum grant-table frames of `domain`
    /// (`GNTTABOP_query_size`).
    public func queryGrantTableSize(of domain: DomainID) throws(GrantError) -> (frames: Int, maxFrames: Int) {
        guard let record = domain == .selfID ? me : hypervisor.record(domain) else { throw .unknownDomain(domain) }
        return record.table.size
    }

    // MARK: shared checks

    /// A destroyed domain runs no more hypercalls; its own id no longer
    /// names a domain.
    func requireAlive() throws(GrantError) {
        guard me.isAlive.load(ordering: .acquiring) else { throw .unknownDomain(caller) }
    }

    func permit(_ request: GrantPolicy.Request) throws(GrantError) {
        guard hypervisor.configuration.policy.allows(request) else {
            switch request {
            case .map(let mapper, let granter), .unmap(let mapper, let granter):
                throw .deniedByPolicy(caller: mapper, target: granter)
            case .copy(let source, let destination):
                throw .deniedByPolicy(caller: source, target: destination)
            }
        }
    }
}
