import GrantEngine
import Testing

@Suite struct PoolDMAOpsTests {
    @Test func grantPoolCopiesThroughPagesGrantedOnce() throws {
        let system = try System()
        let ops = try GrantPoolDMAOps(guest: system.guest, backend: System.backendID, pages: 8)
        #expect(ops.poolAddress == .grant(GrantRef(8)))
        #expect(ops.poolSize == 8 * 4096)
        #expect(ops.statistics.grantsIssued == 8)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        _ = try accessor.mapLongLived(ops.poolAddress, length: ops.poolSize)

        let buffer = try system.guest.pages.allocate(pages: 1).address.advanced(by: 100)
        try system.guest.memory.write(at: buffer, bytes: Array("request".utf8))
        let outbound = try ops.map(buffer, length: 7, direction: .toDevice)
        #expect(outbound.isGrant)
        let view = try accessor.map(outbound, length: 7, access: .readOnly)
        #expect(try view.read(at: 0, count: 7) == Array("request".utf8))
        try ops.unmap(outbound, length: 7, direction: .toDevice)

        let inbound = try ops.map(buffer, length: 7, direction: .fromDevice)
        try accessor.map(inbound, length: 7, access: .writable).write(at: 0, bytes: Array("answer!".utf8))
        try ops.unmap(inbound, length: 7, direction: .fromDevice)
        #expect(try system.guest.memory.read(at: buffer, count: 7) == Array("answer!".utf8))

        // No grant operation per request; the backend made no hypercall.
        #expect(ops.statistics.grantsIssued == 8)
        #expect(accessor.statistics.grantMaps == 8)
        #expect(accessor.statistics.buffersWithoutHypercall == 2)
        #expect(ops.statistics.bytesCopied == 21)
    }

    @Test func aPartialDeviceWriteLeavesTheRestOfTheBuffer() throws {
        let system = try System()
        let ops = try GrantPoolDMAOps(guest: system.guest, backend: System.backendID, pages: 2)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        _ = try accessor.mapLongLived(ops.poolAddress, length: ops.poolSize)
        let buffer = try system.guest.pages.allocate(pages: 1).address
        try system.guest.memory.fill(at: buffer, count: 64, with: 0xee)
        let address = try ops.map(buffer, length: 64, direction: .fromDevice)
        try accessor.map(address, length: 64, access: .writable).write(at: 0, bytes: [1, 2])
        try ops.unmap(address, length: 64, direction: .fromDevice)
        #expect(try system.guest.memory.read(at: buffer, count: 4) == [1, 2, 0xee, 0xee])
    }

    @Test func poolExhaustionAndUnknownAddresses() throws {
        let system = try System()
        let ops = try GrantPoolDMAOps(guest: system.guest, backend: System.backendID, pages: 2)
        let buffer = try system.guest.pages.allocate(pages: 3).address
        #expect(throws: DMAError.mappingTooLarge(length: 3 * 4096, limit: 2 * 4096)) { try ops.map(buffer, length: 3 * 4096, direction: .toDevice) }
        let first = try ops.map(buffer, length: 4096, direction: .toDevice)
        _ = try ops.map(buffer, length: 10, direction: .toDevice)
        #expect(throws: DMAError.poolExhausted(slots: 1)) { try ops.map(buffer, length: 10, direction: .toDevice) }
        try ops.unmap(first, length: 4096, direction: .toDevice)
        #expect(throws: DMAError.notMapped(first)) { try ops.unmap(first, length: 4096, direction: .toDevice) }
        #expect(throws: DMAError.notMapped(.grant(GrantRef(500)))) { try ops.unmap(.grant(GrantRef(500)), length: 1, direction: .toDevice) }
    }

    @Test func releasingThePoolWhileMappedBreaksTheDevice() throws {
        let system = try System()
        let ops = try GrantPoolDMAOps(guest: system.guest, backend: System.backendID, pages: 4)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        _ = try accessor.mapLongLived(ops.poolAddress, length: ops.poolSize)
        #expect(throws: DMAError.grantStillInUse(GrantRef(8))) { try ops.releasePool() }
        #expect(ops.isBroken)
        #expect(ops.statistics.pagesLeaked == 4)
        #expect(throws: DMAError.deviceBroken) { try ops.map(System.ramBase, length: 1, direction: .toDevice) }
    }

    @Test func releasingThePoolAfterResetEndsEveryGrant() throws {
        let system = try System()
        let ops = try GrantPoolDMAOps(guest: system.guest, backend: System.backendID, pages: 4)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        _ = try accessor.mapLongLived(ops.poolAddress, length: ops.poolSize)
        let report = accessor.reset()
        #expect(report.grantPagesUnmapped == 4)
        try ops.releasePool()
        #expect(ops.statistics.grantsOutstanding == 0)
        #expect(throws: DMAError.poolReleased) { try ops.map(System.ramBase, length: 1, direction: .toDevice) }
    }

    @Test func bounceCopiesThroughTheRestrictedPool() throws {
        let system = try System()
        let pool = GuestRegion(base: System.ramBase.advanced(by: 8 << 20), size: 1 << 20)
        let ops = try BounceDMAOps(guest: system.guest, pool: pool)
        #expect(!system.guest.pages.isFree(pool.firstFrame))
        let buffer = try system.guest.pages.allocate(pages: 1).address
        try system.guest.memory.write(at: buffer, bytes: [9, 8, 7])
        let address = try ops.map(buffer, length: 3, direction: .bidirectional)
        #expect(!address.isGrant)
        #expect(pool.contains(address.guestAddress))
        #expect(try system.guest.memory.read(at: address.guestAddress, count: 3) == [9, 8, 7])
        try system.guest.memory.write(at: address.guestAddress, bytes: [1])
        try ops.unmap(address, length: 3, direction: .bidirectional)
        #expect(try system.guest.memory.read(at: buffer, count: 3) == [1, 8, 7])
    }

    @Test func bounceUsesTwoKiBSlotsAnd256KiBMappings() throws {
        let system = try System()
        let pool = GuestRegion(base: System.ramBase.advanced(by: 8 << 20), size: 1 << 20)
        let ops = try BounceDMAOps(guest: system.guest, pool: pool)
        let buffer = try system.guest.pages.allocate(pages: 80).address
        let small1 = try ops.map(buffer, length: 100, direction: .toDevice)
        let small2 = try ops.map(buffer, length: 100, direction: .toDevice)
        #expect(small2.rawValue - small1.rawValue == 2048)
        let page = try ops.map(buffer, length: 4096, direction: .toDevice)
        #expect(page.rawValue & 0xfff == 0)
        #expect(throws: DMAError.mappingTooLarge(length: 256 * 1024 + 1, limit: 256 * 1024)) {
            try ops.map(buffer, length: 256 * 1024 + 1, direction: .toDevice)
        }
        let big = try ops.map(buffer, length: 256 * 1024, direction: .toDevice)
        #expect((big.rawValue - pool.base.rawValue) % (256 * 1024) == 0)
        let ring = try ops.allocateCoherent(size: 3 * 4096)
        #expect(pool.contains(ring.guestAddress, length: ring.size))
        #expect((ring.guestAddress.rawValue - pool.base.rawValue) % (4 * 4096) == 0)
        try ops.freeCoherent(ring)
    }

    @Test func bouncePoolMustBeFreeRAM() throws {
        let system = try System()
        let outside = GuestRegion(base: GuestAddress(0x1000_0000), size: 1 << 20)
        #expect(throws: DMAError.outOfMemory(.notFree(outside))) { try BounceDMAOps(guest: system.guest, pool: outside) }
    }

    @Test func directHandsOutGuestPhysicalAddresses() throws {
        let system = try System()
        let ops = DirectDMAOps(guest: system.guest)
        let buffer = System.ramBase.advanced(by: 0x1234)
        #expect(try ops.map(buffer, length: 10, direction: .toDevice) == .guestPhysical(buffer))
        let ring = try ops.allocateCoherent(size: 4096)
        #expect(ring.dmaAddress == .guestPhysical(ring.guestAddress))
        try ops.freeCoherent(ring)
        #expect(system.guest.pages.isFree(ring.guestAddress.frame))
    }
}
