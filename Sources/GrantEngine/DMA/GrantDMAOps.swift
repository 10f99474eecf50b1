import Synchronization

/// Linux's grant DMA ops (`drivers/xen/grant-dma-ops.c`, grant-dma.md §2.2)
/// for one device whose backend runs in `backend`.
///
/// Coherent memory is granted writable; a streaming buffer of *n* pages is
/// granted as *n* consecutive refs, read-only when it goes to the device.
/// The DMA address is `1 << 63 | first ref << 12 | offset`. Unmap and free
/// end every grant; when one stays in use because the backend still maps
/// it, the device is marked broken, the refs and pages are leaked for good,
/// and every later operation fails.
public final class GrantDMAOps: DMAOps {
    public let kind = DMAKind.grant
    public let backend: DomainID
    private let guest: Domain
    /// The guest's grant table and memory, held here: reaching them through
    /// `guest` on every map retained and released them.
    private let grants: GuestGrantTable
    private let memory: GuestMemory
    private let broken = Atomic<Bool>(false)
    let counters = DMACounters()

    public init(guest: Domain, backend: DomainID) {
        self.guest = guest
        self.backend = backend
        grants = guest.grants
        memory = guest.memory
    }

    public var isBroken: Bool { broken.load(ordering: .acquiring) }
    public var statistics: DMAStatistics { counters.snapshot }

    public func allocateCoherent(size: Int) throws(DMAError) -> CoherentBuffer {
        try requireWorking()
        guard size > 0 else { throw .emptyBuffer }
        let pages = XenPage.count(offset: 0, length: size)
        let first: FrameNumber
        do throws(PageAllocationError) {
            first = try guest.pages.allocate(pages: pages)
        } catch {
            throw .outOfMemory(error)
        }
        do throws(DMAError) {
            let ref = try grant(first, pages: pages, access: .writable)
            counters.add(.coherentAllocations)
            return CoherentBuffer(guestAddress: first.address, dmaAddress: .grant(ref), size: size)
        } catch {
            guest.pages.free(first, pages: pages)
            throw error
        }
    }

    public func freeCoherent(_ buffer: CoherentBuffer) throws(DMAError) {
        try requireWorking()
        let pages = XenPage.count(offset: 0, length: buffer.size)
        try end(buffer.dmaAddress.grantRef, count: pages, leakingPages: pages)
        guest.pages.free(buffer.guestAddress.frame, pages: pages)
        counters.add(.coherentFrees)
    }

    public func map(_ buffer: GuestAddress, length: Int, direction: DMADirection) throws(DMAError) -> DMAAddress {
        try requireWorking()
        try memory.requireRAM(buffer, length: length)
        let pages = XenPage.count(offset: buffer.pageOffset, length: length)
        let ref = try grant(buffer.frame, pages: pages, access: direction.deviceAccess)
        counters.add(.maps)
        return .grant(ref, offset: buffer.pageOffset)
    }

    public func unmap(_ address: DMAAddress, length: Int, direction: DMADirection) throws(DMAError) {
        try requireWorking()
        try end(address.grantRef, count: XenPage.count(offset: address.pageOffset, length: length), leakingPages: 0)
        counters.add(.unmaps)
    }

    // MARK: Shared with the grant pool

    func requireWorking() throws(DMAError) {
        guard !isBroken else { throw .deviceBroken }
    }

    /// Grants `pages` frames from `first` to the backend as consecutive
    /// refs; returns the first ref.
    func grant(_ first: FrameNumber, pages: Int, access: Access) throws(DMAError) -> GrantRef {
        let ref: GrantRef
        do throws(GrantAllocationError) {
            ref = try grants.allocateRun(count: pages)
        } catch {
            throw .outOfGrants(error)
        }
        for page in 0..<pages {
            grants.grantForeignAccess(ref.advanced(by: page), to: backend, frame: first.advanced(by: page), access: access)
        }
        counters.add(.grantsIssued, pages)
        return ref
    }

    /// Ends `count` grants from `first` in order and frees the run. At the
    /// first that stays in use: broken, nothing freed, `leakingPages`
    /// pages counted as leaked.
    func end(_ first: GrantRef, count: Int, leakingPages: Int) throws(DMAError) {
        for index in 0..<count where !grants.endForeignAccess(first.advanced(by: index)) {
            broken.store(true, ordering: .releasing)
            counters.add(.grantsLeaked, count)
            counters.add(.pagesLeaked, leakingPages)
            throw .grantStillInUse(first.advanced(by: index))
        }
        grants.freeRun(first, count: count)
        counters.add(.grantsReleased, count)
    }
}
