import GrantEngine
import Testing

/// `GNTTABOP_copy`: one test per check, then Xen's order.
@Suite struct CopyTests {
    /// Copies `length` bytes of guest grant `ref` into the backend's own
    /// frame.
    func copy(_ ref: GrantRef, from granter: DomainID = System.guestID, offset: UInt16 = 0, length: UInt16 = 16,
              into frame: FrameNumber, at destination: UInt16 = 0) -> GrantCopy {
        GrantCopy(from: .init(.grant(ref), of: granter, offset: offset), to: .init(.frame(frame), of: .selfID, offset: destination), length: length)
    }

    @Test func copiesFromAGrantWithoutAHandleAndReleasesThePin() throws {
        let system = try System(backendMaptrackFrames: 0)
        let (ref, _) = try system.grantedPage(access: .readOnly, byte: 0x5a)
        let target = try system.backend.pages.allocate(pages: 1)
        try system.backend.hypercalls.grantCopy(copy(ref, offset: 100, length: 200, into: target, at: 50))
        #expect(try system.backend.memory.read(at: target.address.advanced(by: 50), count: 200) == Array(repeating: 0x5a, count: 200))
        #expect(try system.backend.memory.read(at: target.address.advanced(by: 49), count: 1) == [0])
        #expect(system.guest.grants.endForeignAccess(ref))
    }

    @Test func copiesIntoAWritableGrant() throws {
        let system = try System()
        let (ref, frame) = try system.grantedPage(access: .writable, byte: 0)
        let source = try system.backend.pages.allocate(pages: 1)
        try system.backend.memory.fill(at: source.address, count: 4096, with: 0x77)
        let operation = GrantCopy(from: .init(.frame(source), of: .selfID), to: .init(.grant(ref), of: System.guestID, offset: 4000), length: 96)
        try system.backend.hypercalls.grantCopy(operation)
        #expect(try system.guest.memory.read(at: frame.address.advanced(by: 4000), count: 96) == Array(repeating: 0x77, count: 96))
    }

    @Test func zeroLengthIsOkayWhateverElseIsWrong() throws {
        let system = try System()
        let operation = GrantCopy(from: .init(.frame(FrameNumber(1)), of: DomainID(42)), to: .init(.grant(GrantRef(99_999)), of: DomainID(43)), length: 0)
        #expect(system.backend.hypercalls.grantCopy([operation]) == [.okay])
    }

    @Test func frameOfAnotherDomainIsPermissionDenied() throws {
        let system = try System()
        let target = try system.backend.pages.allocate(pages: 1)
        let operation = GrantCopy(
            from: .init(.frame(System.ramBase.frame), of: System.guestID), to: .init(.frame(target), of: .selfID), length: 16)
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.grantCopy(operation) }
        #expect(error == .frameOfOtherDomain(System.guestID))
        #expect(error.status == .permissionDenied)
        // Naming yourself by id instead of DOMID_SELF is refused the same way.
        let own = GrantCopy(from: .init(.frame(target), of: System.backendID), to: .init(.frame(target), of: .selfID), length: 16)
        #expect(throws: GrantError.frameOfOtherDomain(System.backendID)) { try system.backend.hypercalls.grantCopy(own) }
    }

    @Test func unknownDomainIsBadDomain() throws {
        let system = try System()
        let target = try system.backend.pages.allocate(pages: 1)
        let error = try #require(throws: GrantError.self) {
            try system.backend.hypercalls.grantCopy(copy(GrantRef(8), from: DomainID(42), into: target))
        }
        #expect(error.status == .badDomain)
    }

    @Test func policyDenialIsPermissionDenied() throws {
        let policy = GrantPolicy { request in
            if case .copy = request { return false }
            return true
        }
        let system = try System(configuration: Hypervisor.Configuration(policy: policy))
        let (ref, _) = try system.grantedPage()
        let target = try system.backend.pages.allocate(pages: 1)
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.grantCopy(copy(ref, into: target)) }
        #expect(error == .deniedByPolicy(caller: System.guestID, target: System.backendID))
        #expect(error.status == .permissionDenied)
    }

    @Test func sourceRefChecksMatchMapping() throws {
        let system = try System()
        let target = try system.backend.pages.allocate(pages: 1)
        let calls = system.backend.hypercalls
        #expect(throws: GrantError.refOutOfRange(GrantRef(600), entries: 512)) { try calls.grantCopy(copy(GrantRef(600), into: target)) }
        let (otherRef, _) = try system.grantedPage(to: System.otherID)
        #expect(throws: GrantError.grantedToOtherDomain(otherRef, grantee: System.otherID)) { try calls.grantCopy(copy(otherRef, into: target)) }
        let (pinned, _) = try system.grantedPage(to: System.otherID)
        _ = try system.other.hypercalls.mapGrantRef(pinned, of: System.guestID, access: .readOnly)
        #expect(throws: GrantError.pinnedByOtherDomain(pinned, pinnedBy: System.otherID)) { try calls.grantCopy(copy(pinned, into: target)) }
    }

    @Test func readOnlyDestinationIsGeneralError() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage(access: .readOnly)
        let source = try system.backend.pages.allocate(pages: 1)
        let operation = GrantCopy(from: .init(.frame(source), of: .selfID), to: .init(.grant(ref), of: System.guestID), length: 8)
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.grantCopy(operation) }
        #expect(error == .writeToReadOnlyGrant(ref))
        #expect(error.status == .generalError)
    }

    @Test func ownFrameThatIsNotRAMIsBadPage() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let error = try #require(throws: GrantError.self) {
            try system.backend.hypercalls.grantCopy(copy(ref, into: FrameNumber(0x10)))
        }
        #expect(error == .badOwnFrame(FrameNumber(0x10)))
        #expect(error.status == .badPage)
        #expect(system.guest.grants.endForeignAccess(ref))  // the source pin was released
    }

    @Test func crossingThePageEndIsBadCopyArg() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let target = try system.backend.pages.allocate(pages: 1)
        let calls = system.backend.hypercalls
        let error = try #require(throws: GrantError.self) { try calls.grantCopy(copy(ref, offset: 4000, length: 97, into: target)) }
        #expect(error == .copyCrossesPage(offset: 4000, length: 97))
        #expect(error.status == .badCopyArg)
        #expect(throws: GrantError.copyCrossesPage(offset: 4095, length: 2)) { try calls.grantCopy(copy(ref, length: 2, into: target, at: 4095)) }
        #expect(throws: Never.self) { try calls.grantCopy(copy(ref, offset: 4000, length: 96, into: target)) }
        #expect(system.guest.grants.endForeignAccess(ref))
    }

    @Test func claimsComeBeforeBounds() throws {
        // Xen pins both sides before looking at offsets.
        let system = try System()
        let target = try system.backend.pages.allocate(pages: 1)
        let error = try #require(throws: GrantError.self) {
            try system.backend.hypercalls.grantCopy(copy(GrantRef(9999), offset: 4000, length: 200, into: target))
        }
        #expect(error.status == .badGntref)
    }

    @Test func sourceDomainIsCheckedBeforeTheDestination() throws {
        let system = try System()
        let operation = GrantCopy(from: .init(.frame(FrameNumber(1)), of: System.guestID), to: .init(.grant(GrantRef(8)), of: DomainID(42)), length: 8)
        #expect(throws: GrantError.frameOfOtherDomain(System.guestID)) { try system.backend.hypercalls.grantCopy(operation) }
        let event = try #require(system.events.last)
        #expect(event.operation == .grantCopy)
        #expect(event.status == .permissionDenied)
        #expect(event.target == System.guestID)
    }
}
