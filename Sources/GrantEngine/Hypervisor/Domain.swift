/// A domain as its own kernel sees it: its RAM, its page allocator, its
/// grant-table driver and its hypercalls. Holding this object is the
/// capability to act as the domain; the hypervisor hands it out only once,
/// from `createDomain`.
public final class Domain: Sendable {
    let record: DomainRecord
    public let pages: GuestPageAllocator
    public let grants: GuestGrantTable
    public let hypercalls: Hypercalls

    init(record: DomainRecord, hypervisor: Hypervisor) {
        self.record = record
        pages = GuestPageAllocator(banks: record.memory.banks)
        grants = GuestGrantTable(table: record.table, pages: pages)
        hypercalls = Hypercalls(hypervisor: hypervisor, me: record)
    }

    public var id: DomainID { record.id }
    /// The domain's own guest-physical RAM.
    public var memory: GuestMemory { record.memory }
    public var isPrivileged: Bool { hypercalls.hypervisor.isPrivileged(id) }
}
