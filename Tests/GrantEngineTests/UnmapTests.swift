import GrantEngine
import Testing

@Suite struct UnmapTests {
    let guest = System.guestID

    @Test func unmapDropsThePinAndTheGuestCanEndAccess() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable)
        #expect(!system.guest.grants.endForeignAccess(ref))
        try system.backend.hypercalls.unmapGrantRef(try #require(mapping.handle))
        #expect(system.guest.grants.entry(ref)?.flags == GrantFlag.permitAccess)
        #expect(system.guest.grants.endForeignAccess(ref))
        #expect(system.guest.grants.entry(ref)?.flags == GrantFlag.invalid)
    }

    @Test func writingClearsOnlyWithTheLastWritablePin() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let calls = system.backend.hypercalls
        let writable = try #require(try calls.mapGrantRef(ref, of: guest, access: .writable).handle)
        let readOnly = try #require(try calls.mapGrantRef(ref, of: guest, access: .readOnly).handle)
        try calls.unmapGrantRef(writable)
        #expect(system.guest.grants.entry(ref)?.flags == GrantFlag.permitAccess | GrantFlag.reading)
        try calls.unmapGrantRef(readOnly)
        #expect(system.guest.grants.entry(ref)?.flags == GrantFlag.permitAccess)
    }

    @Test func handleBeyondTheTableIsBadHandle() throws {
        let system = try System()
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.unmapGrantRef(MapHandle(100_000)) }
        #expect(error == .badHandle(MapHandle(100_000)))
        #expect(error.status == .badHandle)
    }

    @Test func handleNeverMappedIsBadHandle() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        _ = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly)
        #expect(throws: GrantError.badHandle(MapHandle(7))) { try system.backend.hypercalls.unmapGrantRef(MapHandle(7)) }
    }

    @Test func doubleUnmapIsBadHandleAndLogged() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let handle = try #require(try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly).handle)
        try system.backend.hypercalls.unmapGrantRef(handle)
        #expect(throws: GrantError.badHandle(handle)) { try system.backend.hypercalls.unmapGrantRef(handle) }
        let event = try #require(system.events.last)
        #expect(event.operation == .unmapGrantRef)
        #expect(event.location == .handle(handle))
        #expect(event.status == .badHandle)
    }

    @Test func anotherDomainCannotUnmapYourHandle() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let handle = try #require(try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly).handle)
        // Handles are per mapping domain: d3 has no such handle.
        #expect(throws: GrantError.badHandle(handle)) { try system.other.hypercalls.unmapGrantRef(handle) }
        #expect(system.guest.grants.entry(ref)?.isInUse == true)
    }

    @Test func unmapDeniedByPolicyIsPermissionDenied() throws {
        let policy = GrantPolicy { request in
            if case .unmap = request { return false }
            return true
        }
        let system = try System(configuration: Hypervisor.Configuration(policy: policy))
        let (ref, _) = try system.grantedPage()
        let handle = try #require(try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly).handle)
        let error = try #require(throws: GrantError.self) { try system.backend.hypercalls.unmapGrantRef(handle) }
        #expect(error.status == .permissionDenied)
        #expect(system.guest.grants.entry(ref)?.isInUse == true)
    }

    @Test func batchesOf32FlushOncePerBatch() throws {
        let system = try System()
        var handles: [MapHandle] = []
        for _ in 0..<70 {
            let (ref, _) = try system.grantedPage()
            handles.append(try #require(try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly).handle))
        }
        let result = system.backend.hypercalls.unmapGrantRefs(handles + [MapHandle(90_000)])
        #expect(result.flushes == 3)
        #expect(result.unmapped == 70)
        #expect(result.refused == [.init(handle: MapHandle(90_000), status: .badHandle)])
        #expect(system.backend.hypercalls.unmapGrantRefs([]).flushes == 0)
    }

    @Test func maptrackHoldsFramesTimes256MinusOne() throws {
        let system = try System(backendMaptrackFrames: 1)
        let (ref, _) = try system.grantedPage()
        var handles: [MapHandle] = []
        // 255 mappings fit (one handle stays the free list's sentinel); the
        // pin counter allows 128 per kind, so use both kinds.
        for index in 0..<255 {
            let access: Access = index < 128 ? .readOnly : .writable
            handles.append(try #require(try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: access).handle))
        }
        #expect(Set(handles).count == 255)
        #expect(throws: GrantError.maptrackFull(limit: 255)) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable) }
        try system.backend.hypercalls.unmapGrantRef(handles[0])
        #expect(throws: Never.self) { try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .readOnly) }
    }

    @Test func defaultMaptrackHolds262143Mappings() throws {
        let system = try System()
        var mapped = 0
        // 256 mappings per ref (128 read-only + 128 writable pins).
        outer: for _ in 0..<1024 {
            let (ref, _) = try system.grantedPage()
            for access in [Access.readOnly, .writable] {
                for _ in 0..<128 {
                    do {
                        _ = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: access)
                        mapped += 1
                    } catch {
                        #expect(error == .maptrackFull(limit: 262_143))
                        break outer
                    }
                }
            }
        }
        #expect(mapped == 262_143)
    }

    @Test func unmappedHandlesAreReusedOldestFirst() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let calls = system.backend.hypercalls
        let first = try #require(try calls.mapGrantRef(ref, of: guest, access: .readOnly).handle)
        #expect(first == MapHandle(0))
        try calls.unmapGrantRef(first)
        // Freed handles go to the tail: the next maps take fresh ones.
        #expect(try calls.mapGrantRef(ref, of: guest, access: .readOnly).handle == MapHandle(1))
        #expect(try calls.mapGrantRef(ref, of: guest, access: .readOnly).handle == MapHandle(2))
    }

    @Test func accessAfterUnmapFaultsAndIsLogged() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable)
        try system.backend.hypercalls.unmapGrantRef(try #require(mapping.handle))
        #expect(!mapping.isMapped)
        #expect(throws: MemoryFault.notMapped) { try mapping.read(at: 0, count: 1) }
        #expect(throws: MemoryFault.notMapped) { try mapping.write(at: 0, bytes: [1]) }
        #expect(system.events.map(\.operation) == [.read, .write])
    }

    @Test func noForcedRevocationOfAnInUseGrant() throws {
        // §8.7: the guest can only try to end access; Xen never pulls a
        // mapping. Rewriting the entry does not stop the mapping either.
        let system = try System()
        let (ref, frame) = try system.grantedPage(byte: 0x10)
        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: guest, access: .writable)
        #expect(!system.guest.grants.endForeignAccess(ref))
        system.guest.grants.grantForeignAccess(ref, to: System.otherID, frame: frame, access: .readOnly)
        try mapping.write(at: 0, bytes: [0x20])
        #expect(try system.guest.memory.read(at: frame.address, count: 1) == [0x20])
        try system.backend.hypercalls.unmapGrantRef(try #require(mapping.handle))
        #expect(throws: MemoryFault.notMapped) { try mapping.read(at: 0, count: 1) }
    }
}
