/// The grant-table and foreign-mapping hypercalls, made as one domain.
///
/// The caller's identity is fixed: a `Hypercalls` object comes only with
/// its `Domain`, so a backend can act only as itself. Every refusal is
/// thrown with Xen's status and recorded in the hypervisor's event log.
public final class Hypercalls: Sendable {
    let hypervisor: Hypervisor
    let me: DomainRecord
    /// The hypervisor's policy (fixed with its configuration), kept here so
    /// a check does not copy the configuration.
    private let policy: GrantPolicy
    public var caller: DomainID { me.id }

    init(hypervisor: Hypervisor, me: DomainRecord) {
        self.hypervisor = hypervisor
        self.me = me
        policy = hypervisor.configuration.policy
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
        guard policy.allows(request) else {
            switch request {
            case .map(let mapper, let granter), .unmap(let mapper, let granter):
                throw .deniedByPolicy(caller: mapper, target: granter)
            case .copy(let source, let destination):
                throw .deniedByPolicy(caller: source, target: destination)
            }
        }
    }
}
