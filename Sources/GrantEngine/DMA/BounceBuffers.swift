/// Bouncing through a pool of guest memory the device may reach, as
/// swiotlb does: map copies the buffer into pool slots (always, so a
/// partial device write leaves the rest of the buffer as it was), unmap
/// copies back what the device may have written. Shared by the restricted
/// DMA pool and the grant pool.
final class BounceBuffers: Sendable {
    /// Where the CPU reaches the pool, and where the device does.
    let guestBase: GuestAddress
    let dmaBase: DMAAddress
    let size: Int
    private let memory: GuestMemory
    private let counters: DMACounters
    private let slots: Lock<SlotPool>
    private let slotSize: Int

    init(guestBase: GuestAddress, dmaBase: DMAAddress, size: Int, slotSize: Int, segment: Int,
         memory: GuestMemory, counters: DMACounters) {
        self.guestBase = guestBase
        self.dmaBase = dmaBase
        self.size = size
        self.slotSize = slotSize
        self.memory = memory
        self.counters = counters
        slots = Lock(SlotPool(slots: size / slotSize, slotSize: slotSize, segment: segment))
    }

    /// The largest single mapping.
    var mappingLimit: Int { slots.withLock { min($0.segment, $0.slotCount) } * slotSize }

    func map(_ buffer: GuestAddress, length: Int, direction: DMADirection) throws(DMAError) -> DMAAddress {
        try memory.requireRAM(buffer, length: length)
        let alignment = length >= XenPage.size ? max(1, XenPage.size / slotSize) : 1
        let slot = try take(length: length, alignment: alignment, origin: buffer)
        try copy(from: buffer, to: guestBase.advanced(by: slot * slotSize), count: length)
        counters.add(.maps)
        return dmaBase.advanced(by: slot * slotSize)
    }

    func unmap(_ address: DMAAddress, direction: DMADirection) throws(DMAError) {
        let slot = try slot(of: address)
        guard let mapping = slots.withLock({ $0.release(at: slot) }) else { throw .notMapped(address) }
        if direction.copiesBack, let origin = mapping.origin {
            try copy(from: guestBase.advanced(by: slot * slotSize), to: origin, count: mapping.length)
        }
        counters.add(.unmaps)
    }

    /// Coherent memory from the pool, aligned to its power-of-two size in
    /// pages as `swiotlb_alloc` does.
    func allocate(size: Int) throws(DMAError) -> CoherentBuffer {
        guard size > 0 else { throw .emptyBuffer }
        var alignedPages = 1
        while alignedPages < XenPage.count(offset: 0, length: size) { alignedPages <<= 1 }
        let slot = try take(length: size, alignment: alignedPages * max(1, XenPage.size / slotSize), origin: nil)
        counters.add(.coherentAllocations)
        return CoherentBuffer(guestAddress: guestBase.advanced(by: slot * slotSize),
                              dmaAddress: dmaBase.advanced(by: slot * slotSize), size: size)
    }

    func free(_ buffer: CoherentBuffer) throws(DMAError) {
        let slot = try slot(of: buffer.dmaAddress)
        guard slots.withLock({ $0.release(at: slot) }) != nil else { throw .notMapped(buffer.dmaAddress) }
        counters.add(.coherentFrees)
    }

    private func take(length: Int, alignment: Int, origin: GuestAddress?) throws(DMAError) -> Int {
        let limit = mappingLimit
        guard length <= limit else { throw .mappingTooLarge(length: length, limit: limit) }
        guard let slot = slots.withLock({ $0.allocate(length: length, alignment: alignment, origin: origin) }) else {
            throw .poolExhausted(slots: (length + slotSize - 1) / slotSize)
        }
        return slot
    }

    private func slot(of address: DMAAddress) throws(DMAError) -> Int {
        let offset = address.rawValue &- dmaBase.rawValue
        guard address.rawValue >= dmaBase.rawValue, offset < UInt64(size), offset % UInt64(slotSize) == 0 else {
            throw .notMapped(address)
        }
        return Int(offset) / slotSize
    }

    private func copy(from source: GuestAddress, to destination: GuestAddress, count: Int) throws(DMAError) {
        do throws(MemoryFault) {
            try memory.copy(from: source, to: destination, count: count)
        } catch {
            throw .notRAM(source)
        }
        counters.add(.bytesCopied, count)
    }
}
