import GrantEngine
import Testing

@Suite struct GrantDMAOpsTests {
    @Test func coherentMemoryIsGrantedWritableAsConsecutiveRefs() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let ring = try ops.allocateCoherent(size: 3 * 4096 - 100)
        #expect(ring.dmaAddress == .grant(GrantRef(8)))
        for page in 0..<3 {
            let entry = try #require(system.guest.grants.entry(GrantRef(8 + UInt32(page))))
            #expect(entry.flags == GrantFlag.permitAccess)
            #expect(entry.domain == System.backendID)
            #expect(entry.frame == UInt32(ring.guestAddress.frame.rawValue) + UInt32(page))
        }
        try ops.freeCoherent(ring)
        #expect(system.guest.grants.entry(GrantRef(8))?.flags == GrantFlag.invalid)
        #expect(system.guest.pages.isFree(ring.guestAddress.frame))
        #expect(ops.statistics.grantsOutstanding == 0)
    }

    @Test(arguments: [(DMADirection.toDevice, true), (.fromDevice, false), (.bidirectional, false)])
    func streamingGrantsAreReadOnlyOnlyToTheDevice(direction: DMADirection, readOnly: Bool) throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let buffer = try system.guest.pages.allocate(pages: 1).address.advanced(by: 0x300)
        let address = try ops.map(buffer, length: 6000, direction: direction)
        #expect(address.rawValue == 0x8000_0000_0000_8300)
        for ref in [GrantRef(8), GrantRef(9)] {
            #expect(system.guest.grants.entry(ref)?.isReadOnly == readOnly)
        }
        #expect(system.guest.grants.entry(GrantRef(10))?.permitsAccess == false)
        #expect(ops.statistics.grantsIssued == 2)
        try ops.unmap(address, length: 6000, direction: direction)
        #expect(ops.statistics.grantsOutstanding == 0)
        #expect(system.guest.grants.isFree(GrantRef(8)) && system.guest.grants.isFree(GrantRef(9)))
    }

    @Test func bufferEndingOnAPageBoundaryTakesOneRefPerPage() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let base = try system.guest.pages.allocate(pages: 3).address
        _ = try ops.map(base.advanced(by: 0xfff), length: 1, direction: .fromDevice)
        #expect(ops.statistics.grantsIssued == 1)
        _ = try ops.map(base.advanced(by: 0xfff), length: 2, direction: .fromDevice)
        #expect(ops.statistics.grantsIssued == 3)
        _ = try ops.map(base, length: 8192, direction: .fromDevice)
        #expect(ops.statistics.grantsIssued == 5)
    }

    @Test func buffersOutsideRAMAndEmptyBuffersAreRefused() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        #expect(throws: DMAError.emptyBuffer) { try ops.map(System.ramBase, length: 0, direction: .toDevice) }
        let end = GuestAddress(System.ramBase.rawValue + System.ramSize)
        #expect(throws: DMAError.notRAM(end)) { try ops.map(end.advanced(by: -16), length: 32, direction: .toDevice) }
        #expect(ops.statistics.grantsIssued == 0)
    }

    @Test func grantExhaustionIsAMappingError() throws {
        let system = try System(guestGrantFrames: 1)
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let buffer = try system.guest.pages.allocate(pages: 1).address
        for _ in 0..<504 { _ = try ops.map(buffer, length: 64, direction: .toDevice) }
        #expect(throws: DMAError.outOfGrants(.outOfSpace(current: 1, extra: 1, limit: 1))) {
            try ops.map(buffer, length: 64, direction: .toDevice)
        }
        #expect(!ops.isBroken)
    }

    @Test func unmapWhileTheBackendMapsBreaksTheDeviceAndLeaksForGood() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let buffer = try system.guest.pages.allocate(pages: 2).address
        let address = try ops.map(buffer, length: 8192, direction: .fromDevice)
        // The backend keeps the second page mapped.
        let held = try system.backend.hypercalls.mapGrantRef(address.grantRef.advanced(by: 1), of: System.guestID, access: .writable)
        #expect(throws: DMAError.grantStillInUse(GrantRef(9))) { try ops.unmap(address, length: 8192, direction: .fromDevice) }
        #expect(ops.isBroken)
        #expect(ops.statistics.grantsLeaked == 2)
        #expect(ops.statistics.grantsOutstanding == 2)
        // Every later operation fails.
        #expect(throws: DMAError.deviceBroken) { try ops.map(buffer, length: 16, direction: .toDevice) }
        #expect(throws: DMAError.deviceBroken) { try ops.allocateCoherent(size: 4096) }
        #expect(throws: DMAError.deviceBroken) { try ops.unmap(address, length: 8192, direction: .fromDevice) }
        // Even after the backend lets go, the refs are never handed out again.
        try system.backend.hypercalls.unmapGrantRef(try #require(held.handle))
        let other = GrantDMAOps(guest: system.guest, backend: System.backendID)
        var seen = Set<GrantRef>()
        for _ in 0..<600 { seen.insert(try other.map(buffer, length: 16, direction: .toDevice).grantRef) }
        #expect(!seen.contains(GrantRef(8)) && !seen.contains(GrantRef(9)))
    }

    @Test func freeingCoherentMemoryStillMappedLeaksItsPages() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let ring = try ops.allocateCoherent(size: 2 * 4096)
        _ = try system.backend.hypercalls.mapGrantRef(ring.dmaAddress.grantRef, of: System.guestID, access: .writable)
        #expect(throws: DMAError.grantStillInUse(ring.dmaAddress.grantRef)) { try ops.freeCoherent(ring) }
        #expect(ops.statistics.pagesLeaked == 2)
        #expect(!system.guest.pages.isFree(ring.guestAddress.frame))
        #expect(!system.guest.pages.isFree(ring.guestAddress.frame.advanced(by: 1)))
        // Linux ends refs in order: the second ref was not reached.
        #expect(system.guest.grants.entry(ring.dmaAddress.grantRef.advanced(by: 1))?.permitsAccess == true)
    }
}
