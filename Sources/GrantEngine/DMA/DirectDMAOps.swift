/// dma-direct: the device gets guest-physical addresses of the buffers
/// themselves, so the backend needs a foreign mapping of guest RAM (a
/// privileged domain) to reach them.
public final class DirectDMAOps: DMAOps {
    public let kind = DMAKind.direct
    private let guest: Domain
    private let counters = DMACounters()

    public init(guest: Domain) {
        self.guest = guest
    }

    public var isBroken: Bool { false }
    public var statistics: DMAStatistics { counters.snapshot }

    public func allocateCoherent(size: Int) throws(DMAError) -> CoherentBuffer {
        guard size > 0 else { throw .emptyBuffer }
        let first: FrameNumber
        do throws(PageAllocationError) {
            first = try guest.pages.allocate(pages: XenPage.count(offset: 0, length: size))
        } catch {
            throw .outOfMemory(error)
        }
        counters.add(.coherentAllocations)
        return CoherentBuffer(guestAddress: first.address, dmaAddress: .guestPhysical(first.address), size: size)
    }

    public func freeCoherent(_ buffer: CoherentBuffer) throws(DMAError) {
        guest.pages.free(buffer.guestAddress.frame, pages: XenPage.count(offset: 0, length: buffer.size))
        counters.add(.coherentFrees)
    }

    public func map(_ buffer: GuestAddress, length: Int, direction: DMADirection) throws(DMAError) -> DMAAddress {
        try guest.memory.requireRAM(buffer, length: length)
        counters.add(.maps)
        return .guestPhysical(buffer)
    }

    public func unmap(_ address: DMAAddress, length: Int, direction: DMADirection) throws(DMAError) {
        counters.add(.unmaps)
    }
}
