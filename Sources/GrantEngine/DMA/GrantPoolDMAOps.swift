import Synchronization

/// Grant-pool DMA ops: our extension for speed without giving up
/// isolation, in the spirit of blkif's persistent grants or a restricted
/// DMA pool made of grants.
///
/// A fixed pool of guest pages is granted writable to the backend once, as
/// one consecutive ref run; the backend maps it once (`poolAddress`,
/// `poolSize`). `map` copies the buffer into pool slots and returns a grant
/// address inside the pool; `unmap` copies back what the device may have
/// written. No grant operation happens per request, and the backend never
/// sees any page but the pool's. Coherent allocations (rings) are granted
/// as Linux's grant DMA ops grant them. Releasing the pool while the
/// backend still maps it breaks the device and leaks the pool, as with
/// grant DMA ops.
public final class GrantPoolDMAOps: DMAOps {
    public let kind = DMAKind.grantPool
    private let grants: GrantDMAOps
    private let pool: CoherentBuffer
    private let buffers: BounceBuffers
    private let released = Atomic<Bool>(false)

    /// Grants a pool of `pages` pages to `backend`.
    public init(guest: Domain, backend: DomainID, pages: Int) throws(DMAError) {
        grants = GrantDMAOps(guest: guest, backend: backend)
        pool = try grants.allocateCoherent(size: pages * XenPage.size)
        buffers = BounceBuffers(
            guestBase: pool.guestAddress, dmaBase: pool.dmaAddress, size: pool.size, slotSize: XenPage.size,
            segment: pages, memory: guest.memory, counters: grants.counters)
    }

    public var backend: DomainID { grants.backend }
    /// The grant address of the pool's first page: the backend maps
    /// `poolSize` bytes from here once.
    public var poolAddress: DMAAddress { pool.dmaAddress }
    public var poolSize: Int { pool.size }
    public var isBroken: Bool { grants.isBroken }
    public var statistics: DMAStatistics { grants.statistics }

    public func allocateCoherent(size: Int) throws(DMAError) -> CoherentBuffer {
        try grants.allocateCoherent(size: size)
    }

    public func freeCoherent(_ buffer: CoherentBuffer) throws(DMAError) {
        try grants.freeCoherent(buffer)
    }

    public func map(_ buffer: GuestAddress, length: Int, direction: DMADirection) throws(DMAError) -> DMAAddress {
        try requirePool()
        return try buffers.map(buffer, length: length, direction: direction)
    }

    public func unmap(_ address: DMAAddress, length: Int, direction: DMADirection) throws(DMAError) {
        try requirePool()
        try buffers.unmap(address, direction: direction)
    }

    /// Ends the pool's grants and frees its pages. If the backend still
    /// maps the pool, the device breaks and the pool is leaked.
    public func releasePool() throws(DMAError) {
        try requirePool()
        try grants.freeCoherent(pool)
        released.store(true, ordering: .releasing)
    }

    private func requirePool() throws(DMAError) {
        try grants.requireWorking()
        guard !released.load(ordering: .acquiring) else { throw .poolReleased }
    }
}
