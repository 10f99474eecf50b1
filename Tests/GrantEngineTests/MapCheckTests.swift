import GrantEngine
import Testing

/// One test per check of `GNTTABOP_map_grant_ref`, in Xen's order, each
/// asserting the exact status; then requests with several faults.
@Suite struct MapCheckTests {
    let guest = System.guestID

    @Test func successPinsTheEntryAndReturnsAHandle() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable)
        #expect(mapping.handle == MapHandle(0))
        #expect(mapping.deviceBusAddress != 0)
        #expect(mapping.deviceBusAddress & 0xfff == 0)
        let flags = try #require(system.guest.grants.entry(ref)).flags
        #expect(flags == GrantFlag.permitAccess | GrantFlag.reading | GrantFlag.writing)
        #expect(try mapping.read(at: 0, count: 4) == [0xab, 0xab, 0xab, 0xab])
        #expect(system.events.isEmpty)
    }

    @Test func check1NeitherHostNorDeviceMapIsBadGntref() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        for flags in [MapFlags(), [.readOnly], [.applicationMap]] as [MapFlags] {
            #expect(throws: GrantError.noMappingKind(flags)) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, flags: flags) }
        }
        #expect(GrantError.noMappingKind([]).status == .badGntref)
    }

    @Test func check2DeviceMappingFromATranslatedDomainIsGeneralError() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        for flags in [[.deviceMap], [.hostMap, .deviceMap], [.hostMap, .applicationMap], [.hostMap, .containsPTE]] as [MapFlags] {
            let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, flags: flags) }
            #expect(error == .deviceMappingFromTranslatedDomain(flags))
            #expect(error.status == .generalError)
        }
    }

    @Test func check3UnknownGranterIsBadDomain() throws {
        let system = try System()
        let error = try #require(throws: GrantError.self) {
            try system.backend.hypercalls.mapGrantRef(GrantRef(8), of: DomainID(42), access: .readOnly)
        }
        #expect(error == .unknownDomain(DomainID(42)))
        #expect(error.status == .badDomain)
    }

    @Test func check4PolicyDenialIsPermissionDenied() throws {
        let policy = GrantPolicy { request in request != .map(mapper: System.backendID, granter: System.guestID) }
        let system = try System(configuration: Hypervisor.Configuration(policy: policy))
        let (ref, _) = try system.grantedPage()
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
        #expect(error.status == .permissionDenied)
        #expect(error == .deniedByPolicy(caller: System.backendID, target: System.guestID))
    }

    @Test func check5NoMaptrackHandleIsNoSpace() throws {
        let system = try System(backendMaptrackFrames: 0)
        let (ref, _) = try system.grantedPage()
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
        #expect(error == .maptrackFull(limit: 0))
        #expect(error.status == .noSpace)
        #expect(system.guest.grants.entry(ref)?.isInUse == false)
    }

    @Test func check6RefBeyondTheTableIsBadGntref() throws {
        let system = try System()
        let error = try #require(throws: GrantError.self) {
            try system.backend.hypercalls.mapGrantRef(GrantRef(512), of: guest, access: .readOnly)
        }
        #expect(error == .refOutOfRange(GrantRef(512), entries: 512))
        #expect(error.status == .badGntref)
    }

    @Test func check7EntryPinnedByAnotherDomainIsGeneralError() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        _ = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly)
        let error = try #require(throws: GrantError.self) { try system.other.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
        #expect(error == .pinnedByOtherDomain(ref, pinnedBy: System.backendID))
        #expect(error.status == .generalError)
    }

    @Test func check7PinCounterRefusesAt128OfAKind() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        for _ in 0..<128 { _ = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
        #expect(error == .pinCounterFull(ref))
        #expect(error.status == .generalError)
        // The host-writable counter is separate.
        for _ in 0..<128 { _ = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
        #expect(throws: GrantError.pinCounterFull(ref)) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
    }

    @Test func check8EntryThatDoesNotPermitAccessIsGeneralError() throws {
        let system = try System()
        let ref = try system.guest.grants.allocate()  // allocated, never granted
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
        #expect(error == .notPermitAccess(ref, flags: 0))
        #expect(error.status == .generalError)
    }

    @Test func check8EntryGrantedToAnotherDomainIsGeneralError() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage(to: System.otherID)
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
        #expect(error == .grantedToOtherDomain(ref, grantee: System.otherID))
        #expect(error.status == .generalError)
    }

    @Test func check8WritableMapOfAReadOnlyGrantIsGeneralError() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage(access: .readOnly)
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
        #expect(error == .writeToReadOnlyGrant(ref))
        #expect(error.status == .generalError)
        // A read-only mapping of it works, and a writable one stays refused
        // while it is pinned read-only.
        _ = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly)
        #expect(throws: GrantError.writeToReadOnlyGrant(ref)) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
    }

    @Test func check9FrameThatIsNotRAMIsBadPageAndLeavesNoPin() throws {
        let system = try System()
        let ref = try system.guest.grants.grantForeignAccess(to: System.backendID, frame: FrameNumber(0x1000), access: .writable)
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
        #expect(error == .badFrame(ref, frame: 0x1000))
        #expect(error.status == .badPage)
        #expect(system.guest.grants.entry(ref)?.flags == GrantFlag.permitAccess)
        #expect(system.guest.grants.endForeignAccess(ref))
    }

    @Test func onceAnEntryIsPinnedReadOnlyMapsAreNotRevalidated() throws {
        // Xen §8.1 step 8: while a pin exists, new read-only maps by the
        // pinning domain skip the shared-entry checks.
        let system = try System()
        let (ref, frame) = try system.grantedPage()
        _ = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly)
        system.guest.grants.grantForeignAccess(ref, to: System.otherID, frame: frame, access: .readOnly)
        #expect(throws: Never.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
        // A first writable pin re-reads only the read-only bit…
        #expect(throws: GrantError.writeToReadOnlyGrant(ref)) {
            try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable)
        }
        // …not the grantee: the pin holder keeps access.
        system.guest.grants.grantForeignAccess(ref, to: System.otherID, frame: frame, access: .writable)
        #expect(throws: Never.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
    }

    // MARK: Several faults at once: the first check in Xen's order wins.

    @Test func badFlagsBeatEverythingElse() throws {
        let system = try System(backendMaptrackFrames: 0)
        #expect(throws: GrantError.noMappingKind([.readOnly])) {
            try system.backend.hypercalls.mapGrantRef(GrantRef(9999), of: DomainID(42), flags: [.readOnly])
        }
    }

    @Test func deviceMapBeatsAnUnknownDomain() throws {
        let system = try System()
        let error = try #require(throws: GrantError.self) {
            try system.backend.hypercalls.mapGrantRef(GrantRef(9999), of: DomainID(42), flags: [.deviceMap])
        }
        #expect(error.status == .generalError)
    }

    @Test func unknownDomainBeatsPolicyMaptrackAndRef() throws {
        let system = try System(configuration: Hypervisor.Configuration(policy: GrantPolicy { _ in false }), backendMaptrackFrames: 0)
        #expect(throws: GrantError.unknownDomain(DomainID(42))) {
            try system.backend.hypercalls.mapGrantRef(GrantRef(9999), of: DomainID(42), access: .writable)
        }
    }

    @Test func policyBeatsMaptrackAndRef() throws {
        let system = try System(configuration: Hypervisor.Configuration(policy: GrantPolicy { _ in false }), backendMaptrackFrames: 0)
        let error = try #require(throws: GrantError.self) {
            try system.backend.hypercalls.mapGrantRef(GrantRef(9999), of: guest, access: .writable)
        }
        #expect(error.status == .permissionDenied)
    }

    @Test func maptrackExhaustionBeatsABadRef() throws {
        let system = try System(backendMaptrackFrames: 0)
        let error = try #require(throws: GrantError.self) {
            try system.backend.hypercalls.mapGrantRef(GrantRef(9999), of: guest, access: .writable)
        }
        #expect(error.status == .noSpace)
    }

    @Test func pinnedByAnotherDomainBeatsTheEntryChecks() throws {
        let system = try System()
        let (ref, frame) = try system.grantedPage(to: System.otherID)
        _ = try system.other.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly)
        system.guest.grants.grantForeignAccess(ref, to: System.otherID, frame: frame, access: .readOnly)
        #expect(throws: GrantError.pinnedByOtherDomain(ref, pinnedBy: System.otherID)) {
            try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable)
        }
    }

    @Test func wrongGranteeBeatsReadOnlyAndABadFrame() throws {
        let system = try System()
        let ref = try system.guest.grants.grantForeignAccess(to: System.otherID, frame: FrameNumber(0x1000), access: .readOnly)
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
        #expect(error == .grantedToOtherDomain(ref, grantee: System.otherID))
        #expect(error.status == .generalError)
    }

    @Test func readOnlyViolationBeatsABadFrame() throws {
        let system = try System()
        let ref = try system.guest.grants.grantForeignAccess(to: System.backendID, frame: FrameNumber(0x1000), access: .readOnly)
        #expect(throws: GrantError.writeToReadOnlyGrant(ref)) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
        #expect(throws: GrantError.badFrame(ref, frame: 0x1000)) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
    }

    @Test func everyRefusalIsLoggedWithItsStatus() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage(to: System.otherID)
        _ = try? system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable)
        let event = try #require(system.events.first)
        #expect(event.operation == .mapGrantRef)
        #expect(event.caller == System.backendID)
        #expect(event.target == System.guestID)
        #expect(event.location == .ref(ref))
        #expect(event.access == .writable)
        #expect(event.status == .generalError)
        #expect(event.reason.contains("granted to d3"))
    }
}
