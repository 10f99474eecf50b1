import GrantEngine
import Testing

@Suite struct DeferredEndTests {
    @Test func endsAtOnceWhenNotMapped() throws {
        let system = try System()
        let (ref, frame) = try system.grantedPage()
        #expect(system.guest.grants.endForeignAccess(ref, releasing: frame))
        #expect(system.guest.grants.isFree(ref))
        #expect(system.guest.pages.isFree(frame))
        #expect(system.guest.grants.deferredRefs.isEmpty)
    }

    @Test func mappedGrantsWaitOnTheListWithTheirPage() throws {
        let system = try System()
        let (ref, frame) = try system.grantedPage()
        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .writable)
        #expect(!system.guest.grants.endForeignAccess(ref, releasing: frame))
        #expect(system.guest.grants.deferredRefs == [ref])
        #expect(!system.guest.pages.isFree(frame))
        #expect(!system.guest.grants.isFree(ref))

        var pass = system.guest.grants.retryDeferred()
        #expect(pass.reclaimed.isEmpty)
        #expect(pass.pending == [ref])

        try system.backend.hypercalls.unmapGrantRef(try #require(mapping.handle))
        pass = system.guest.grants.retryDeferred()
        #expect(pass.reclaimed == [DeferredPass.Reclaimed(ref: ref, page: frame)])
        #expect(pass.pending.isEmpty)
        #expect(system.guest.grants.isFree(ref))
        #expect(system.guest.pages.isFree(frame))
    }

    @Test func aPassRetriesAtMostFreePerIterationEntries() throws {
        let system = try System()
        var refs: [GrantRef] = []
        for _ in 0..<15 {
            let (ref, frame) = try system.grantedPage()
            _ = try system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .readOnly)
            system.guest.grants.endForeignAccess(ref, releasing: frame)
            refs.append(ref)
        }
        // Only the last five are released by the backend.
        let backendHandles = (10..<15).map { MapHandle(UInt32($0)) }
        #expect(system.backend.hypercalls.unmapGrantRefs(backendHandles).unmapped == 5)
        let first = system.guest.grants.retryDeferred()  // entries 0…9, all still mapped
        #expect(first.reclaimed.isEmpty)
        #expect(first.pending.count == 15)
        // Entries 10…14 come first now and end; the rest of the budget of
        // 10 retries entries 0…4 again, which go to the back.
        let second = system.guest.grants.retryDeferred()
        #expect(second.reclaimed.map(\.ref) == Array(refs[10..<15]))
        #expect(second.pending == Array(refs[5..<10] + refs[0..<5]))
        let unlimited = system.guest.grants.retryDeferred(limit: 0)
        #expect(unlimited.pending.count == 10)
    }

    @Test func sixtyFailedRetriesWarnOnce() throws {
        let system = try System()
        let (ref, frame) = try system.grantedPage()
        _ = try system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .readOnly)
        system.guest.grants.endForeignAccess(ref, releasing: frame)
        var warnings: [Int] = []
        for pass in 1...120 where !system.guest.grants.retryDeferred().warned.isEmpty { warnings.append(pass) }
        #expect(warnings == [60])
        #expect(system.guest.grants.deferredRefs == [ref])
    }

    @Test func tryEndFreesOnlyWhenUnmapped() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage()
        let mapping = try system.backend.hypercalls.mapGrantRef(ref, of: System.guestID, access: .readOnly)
        #expect(!system.guest.grants.tryEndForeignAccess(ref))
        #expect(!system.guest.grants.isFree(ref))
        try system.backend.hypercalls.unmapGrantRef(try #require(mapping.handle))
        #expect(system.guest.grants.tryEndForeignAccess(ref))
        #expect(system.guest.grants.isFree(ref))
    }
}
