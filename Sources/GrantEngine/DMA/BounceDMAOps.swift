/// dma-direct with a restricted DMA pool (`restricted-dma-pool`,
/// grant-dma.md §4): every streaming buffer bounces through the pool in
/// 2 KiB slots (at most 128 contiguous slots, 256 KiB, per mapping, never
/// across a 128-slot segment), and coherent memory comes from the pool.
/// The device sees guest-physical addresses inside the pool only; the
/// pool is reserved out of the guest's page allocator.
public final class BounceDMAOps: DMAOps {
    /// swiotlb's slot (`IO_TLB_SHIFT` 11) and segment (`IO_TLB_SEGSIZE`).
    public static let slotSize = 2048
    public static let segmentSlots = 128

    public let kind = DMAKind.bounce
    public let pool: GuestRegion
    private let counters = DMACounters()
    private let buffers: BounceBuffers

    /// Reserves `pool` (page-aligned RAM of `guest`) as the device's pool.
    public init(guest: Domain, pool: GuestRegion) throws(DMAError) {
        do throws(PageAllocationError) {
            try guest.pages.reserve(pool)
        } catch {
            throw .outOfMemory(error)
        }
        self.pool = pool
        buffers = BounceBuffers(
            guestBase: pool.base, dmaBase: .guestPhysical(pool.base), size: Int(pool.size), slotSize: Self.slotSize,
            segment: Self.segmentSlots, memory: guest.memory, counters: counters)
    }

    public var isBroken: Bool { false }
    public var statistics: DMAStatistics { counters.snapshot }

    public func allocateCoherent(size: Int) throws(DMAError) -> CoherentBuffer { try buffers.allocate(size: size) }
    public func freeCoherent(_ buffer: CoherentBuffer) throws(DMAError) { try buffers.free(buffer) }

    public func map(_ buffer: GuestAddress, length: Int, direction: DMADirection) throws(DMAError) -> DMAAddress {
        try buffers.map(buffer, length: length, direction: direction)
    }

    public func unmap(_ address: DMAAddress, length: Int, direction: DMADirection) throws(DMAError) {
        try buffers.unmap(address, direction: direction)
    }
}
