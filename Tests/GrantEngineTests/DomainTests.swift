import GrantEngine
import Testing

@Suite struct DomainTests {
    @Test func aLargeGuestCostsNothingUntilTouched() throws {
        let hypervisor = Hypervisor()
        let guest = try hypervisor.createDomain(
            DomainSpec(id: DomainID(1), memory: [GuestRegion(base: GuestAddress(0x4000_0000), size: 4 << 30)]))
        #expect(guest.memory.residentFrames == 0)
        #expect(guest.pages.freePages == 1 << 20)
        try guest.memory.write(at: GuestAddress(0x4000_0000 + (3 << 30)), bytes: [1])
        #expect(guest.memory.residentFrames == 1)
    }

    @Test func accessesOutsideRAMFault() throws {
        let system = try System()
        let end = GuestAddress(System.ramBase.rawValue + System.ramSize)
        #expect(throws: MemoryFault.notRAM(end)) { try system.guest.memory.write(at: end.advanced(by: -2), bytes: [1, 2, 3]) }
        // Nothing was written before the fault.
        #expect(try system.guest.memory.read(at: end.advanced(by: -2), count: 2) == [0, 0])
    }

    /// An access inside one bank, across two adjacent banks, and across a
    /// gap between banks: only the gap faults, at its first address.
    @Test func accessesAcrossBanks() throws {
        let hypervisor = Hypervisor()
        let banks = [
            GuestRegion(base: GuestAddress(0x4000_0000), size: 1 << 20),
            GuestRegion(base: GuestAddress(0x4010_0000), size: 1 << 20),
            GuestRegion(base: GuestAddress(0x4030_0000), size: 1 << 20),
        ]
        let guest = try hypervisor.createDomain(DomainSpec(id: DomainID(1), memory: banks))
        try guest.memory.write(at: GuestAddress(0x4000_1000), bytes: [1, 2])
        try guest.memory.write(at: GuestAddress(0x400f_fffe), bytes: [1, 2, 3, 4])
        #expect(try guest.memory.read(at: GuestAddress(0x400f_fffe), count: 4) == [1, 2, 3, 4])
        #expect(throws: MemoryFault.notRAM(GuestAddress(0x4020_0000))) {
            try guest.memory.write(at: GuestAddress(0x401f_fffe), bytes: [1, 2, 3, 4])
        }
        try guest.memory.write(at: GuestAddress(0x4030_0000), bytes: [5])
    }

    @Test func specsAreValidated() throws {
        let hypervisor = Hypervisor()
        let ram = GuestRegion(base: GuestAddress(0x4000_0000), size: 1 << 20)
        _ = try hypervisor.createDomain(DomainSpec(id: DomainID(1), memory: [ram]))
        #expect(throws: DomainSpecError.duplicateID(DomainID(1))) { try hypervisor.createDomain(DomainSpec(id: DomainID(1), memory: [ram])) }
        #expect(throws: DomainSpecError.reservedID(.selfID)) { try hypervisor.createDomain(DomainSpec(id: .selfID, memory: [ram])) }
        let odd = GuestRegion(base: GuestAddress(0x4000_0100), size: 4096)
        #expect(throws: DomainSpecError.unalignedBank(odd)) { try hypervisor.createDomain(DomainSpec(id: DomainID(2), memory: [odd])) }
        let overlapping = GuestRegion(base: GuestAddress(0x4008_0000), size: 1 << 20)
        #expect(throws: DomainSpecError.overlappingBanks(ram, overlapping)) {
            try hypervisor.createDomain(DomainSpec(id: DomainID(2), memory: [overlapping, ram]))
        }
        let high = GuestRegion(base: GuestAddress(1 << 44), size: 4096)
        #expect(throws: DomainSpecError.bankBeyondFrameLimit(high)) { try hypervisor.createDomain(DomainSpec(id: DomainID(2), memory: [high])) }
        #expect(throws: DomainSpecError.maxGrantFrames(0)) { try hypervisor.createDomain(DomainSpec(id: DomainID(2), memory: [ram], maxGrantFrames: 0)) }
        #expect(throws: DomainSpecError.maxMaptrackFrames(-1)) { try hypervisor.createDomain(DomainSpec(id: DomainID(2), memory: [ram], maxMaptrackFrames: -1)) }
        #expect(hypervisor.domainIDs == [DomainID(1)])
    }

    @Test func pageAllocatorFindsContiguousRunsAndMerges() throws {
        let system = try System()
        let pages = system.guest.pages
        let total = pages.freePages
        let a = try pages.allocate(pages: 3)
        let b = try pages.allocate(pages: 2)
        #expect(b == a.advanced(by: 3))
        pages.free(a, pages: 3)
        #expect(try pages.allocate(pages: 4) == b.advanced(by: 2))
        #expect(try pages.allocate(pages: 3) == a)
        #expect(throws: PageAllocationError.outOfMemory(pages: total)) { try pages.allocate(pages: total) }
        #expect(throws: PageAllocationError.invalidCount(0)) { try pages.allocate(pages: 0) }
    }

    @Test func destroyingABackendDropsItsMappingsSoTheGuestCanEndAccess() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .writable)
        let privileged = try system.dom0.hypercalls.foreignMap(System.ramBase.frame, of: System.guestID)
        system.hypervisor.destroy(system.backend)
        #expect(system.guest.grants.endForeignAccess(ref))
        #expect(throws: MemoryFault.notMapped) { try mapping.read(at: 0, count: 1) }
        #expect(throws: GrantError.unknownDomain(System.backendID)) {
            try system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .readOnly)
        }
        #expect(throws: GrantError.unknownDomain(System.backendID)) {
            try system.guest.hypercalls.mapGrantRef(ref, of: System.backendID, access: .readOnly)
        }
        #expect(!system.hypervisor.domainIDs.contains(System.backendID))
        system.hypervisor.destroy(system.dom0)
        #expect(throws: MemoryFault.notMapped) { try privileged.read(at: 0, count: 1) }
    }

    @Test func mappedPagesOutliveTheirGranter() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage(byte: 0x99)
        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .readOnly)
        system.hypervisor.destroy(system.guest)
        #expect(try mapping.read(at: 0, count: 1) == [0x99])
        try system.backend.hypercalls.unmapGrantRef(try #require(mapping.handle))
    }

    @Test func eventLogKeepsItsCapacityAndCountsTheRest() throws {
        let system = try System(configuration: Hypervisor.Configuration(eventLogCapacity: 3))
        for _ in 0..<5 { _ = try? system.backend.hypercalls.unmapGrantRef(MapHandle(1)) }
        #expect(system.hypervisor.events.events.map(\.sequence) == [0, 1, 2])
        #expect(system.hypervisor.events.total == 5)
        #expect(system.hypervisor.events.events(by: System.backendID).count == 3)
        #expect(system.hypervisor.events.events(by: System.guestID).isEmpty)
        #expect("\(system.hypervisor.events.events[0])".contains("d2 unmap_grant_ref handle 1: GNTST_bad_handle (-4)"))
    }

    @Test func statusesTheEngineProducesAndWhyTheOthersCannotOccur() {
        let produced: Set<GrantStatus> = Set([
            GrantError.noMappingKind([]), .deviceMappingFromTranslatedDomain([]), .unknownDomain(.dom0),
            .deniedByPolicy(caller: .dom0, target: .dom0), .maptrackFull(limit: 0), .refOutOfRange(GrantRef(0), entries: 0),
            .pinnedByOtherDomain(GrantRef(0), pinnedBy: .dom0), .pinCounterFull(GrantRef(0)),
            .notPermitAccess(GrantRef(0), flags: 0), .grantedToOtherDomain(GrantRef(0), grantee: .dom0),
            .writeToReadOnlyGrant(GrantRef(0)), .badFrame(GrantRef(0), frame: 0), .badHandle(MapHandle(0)),
            .frameOfOtherDomain(.dom0), .badOwnFrame(FrameNumber(0)), .copyCrossesPage(offset: 0, length: 0),
        ].map(\.status))
        // On Arm: no device mappings (so no bus address to mismatch), no
        // paging (eagain), no page transfer (address_too_big), Xen ≥ 4.16
        // reports maptrack exhaustion as no_space, and host-address errors
        // come back as general_error.
        let unreachable: Set<GrantStatus> = [.okay, .badVirtAddr, .badDevAddr, .noDeviceSpace, .addressTooBig, .eagain]
        #expect(produced.union(unreachable) == Set(GrantStatus.allCases))
        #expect(produced.isDisjoint(with: unreachable))
    }
}
