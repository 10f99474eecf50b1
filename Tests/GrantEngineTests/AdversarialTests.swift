import GrantEngine
import Testing

/// A hostile backend against a guest that uses grant DMA ops correctly.
/// Every attack must be refused with Xen's code, logged, and leave the
/// guest's other pages (canaries) unread and unwritten.
@Suite struct AdversarialTests {
    /// A guest with canaries, a device granting one request buffer to the
    /// backend, and a page granted to someone else.
    struct Scene {
        let system: System
        let canaries: Canaries
        let device: GrantDMAOps
        let request: DMAAddress
        let foreignRef: GrantRef

        init() throws {
            system = try System()
            canaries = try system.canaries()
            device = GrantDMAOps(guest: system.guest, backend: System.backendID)
            let buffer = try system.guest.pages.allocate(pages: 1).address
            try system.guest.memory.fill(at: buffer, count: 4096, with: 0xab)
            request = try device.map(buffer, length: 512, direction: .toDevice)
            foreignRef = try system.grantedPage(to: System.otherID).ref
        }

        var hostile: Hypercalls { system.backend.hypercalls }

        func intact() throws -> Bool { try canaries.intact(in: system.guest.memory) }
    }

    @Test func mappingARefGrantedToAnotherDomain() throws {
        let scene = try Scene()
        let error = try #require(throws: GrantError.self) {
            try scene.hostile.mapGrantRef(scene.foreignRef, of: System.guestID, access: .readOnly)
        }
        #expect(error.status == .generalError)
        #expect(scene.system.events.last?.location == .ref(scene.foreignRef))
        #expect(try scene.intact())
    }

    @Test func writingThroughAReadOnlyGrant() throws {
        let scene = try Scene()
        let ref = scene.request.grantRef
        #expect(throws: GrantError.writeToReadOnlyGrant(ref)) { try scene.hostile.mapGrantRef(ref, of: System.guestID, access: .writable) }
        let mapping = try scene.hostile.mapGrantRef(ref, of: System.guestID, access: .readOnly)
        #expect(throws: MemoryFault.readOnly) { try mapping.write(at: 0, bytes: [0]) }
        #expect(scene.system.events.map(\.status) == [.generalError, nil])
        #expect(scene.system.events.last?.operation == .write)
        #expect(try scene.system.guest.memory.read(at: GuestAddress(UInt64(try #require(scene.system.guest.grants.entry(ref)).frame) << 12), count: 1) == [0xab])
        #expect(try scene.intact())
    }

    @Test func mappingAfterEndOfAccess() throws {
        let scene = try Scene()
        try scene.device.unmap(scene.request, length: 512, direction: .toDevice)
        let error = try #require(throws: GrantError.self) {
            try scene.hostile.mapGrantRef(scene.request.grantRef, of: System.guestID, access: .readOnly)
        }
        #expect(error == .notPermitAccess(scene.request.grantRef, flags: 0))
        #expect(error.status == .generalError)
        #expect(scene.system.events.count == 1)
        #expect(try scene.intact())
    }

    @Test func reusingAHandleAfterUnmap() throws {
        let scene = try Scene()
        let mapping = try scene.hostile.mapGrantRef(scene.request.grantRef, of: System.guestID, access: .readOnly)
        let handle = try #require(mapping.handle)
        try scene.hostile.unmapGrantRef(handle)
        #expect(throws: GrantError.badHandle(handle)) { try scene.hostile.unmapGrantRef(handle) }
        #expect(throws: MemoryFault.notMapped) { try mapping.read(at: 0, count: 16) }
        #expect(scene.system.events.map(\.operation) == [.unmapGrantRef, .read])
        #expect(scene.system.events.first?.status == .badHandle)
        // The guest can end access: the stale handle holds nothing.
        try scene.device.unmap(scene.request, length: 512, direction: .toDevice)
        #expect(!scene.device.isBroken)
        #expect(try scene.intact())
    }

    @Test func forgingAGuestPhysicalAddressWithoutBit63() throws {
        let scene = try Scene()
        let target = scene.canaries.first.address
        let accessor = BackendAccessor(backend: scene.system.backend, frontend: System.guestID)
        let error = try #require(throws: BackendAccessError.self) {
            try accessor.map(.guestPhysical(target), length: 4096, access: .readOnly)
        }
        #expect(error == .foreign(target.frame, .notPrivileged(caller: System.backendID, target: System.guestID)))
        let direct = try #require(throws: ForeignMapError.self) { try scene.hostile.foreignMap(target.frame, of: System.guestID) }
        #expect(direct.errno == 1)
        #expect(scene.system.events.count == 2)
        #expect(scene.system.events.allSatisfy { $0.operation == .foreignMap && $0.errno == 1 })
        // Nor through copy: only DOMID_SELF may name frames.
        let own = try scene.system.backend.pages.allocate(pages: 1)
        let copy = GrantCopy(from: .init(.frame(target.frame), of: System.guestID), to: .init(.frame(own), of: .selfID), length: 4096)
        #expect(throws: GrantError.frameOfOtherDomain(System.guestID)) { try scene.hostile.grantCopy(copy) }
        #expect(!scene.canaries.leaked(into: try scene.system.backend.memory.read(at: own.address, count: 4096)))
        #expect(try scene.intact())
    }

    @Test func guessingRefs() throws {
        let scene = try Scene()
        var granted: [GrantRef] = []
        var refused: [GrantStatus: Int] = [:]
        for raw in 0..<1100 as Range<UInt32> {
            let ref = GrantRef(raw)
            do {
                let mapping = try scene.hostile.mapGrantRef(ref, of: System.guestID, access: .readOnly)
                granted.append(ref)
                #expect(!scene.canaries.leaked(into: try mapping.read(at: 0, count: 4096)))
                try mapping.write(at: 0, bytes: [0x66]) as Void
            } catch let error as GrantError {
                refused[error.status, default: 0] += 1
            } catch {
                // The write through a read-only mapping faults.
                #expect(error as? MemoryFault == .readOnly)
            }
            // Copies with guessed refs fare no better.
            let own = try scene.system.backend.pages.allocate(pages: 1)
            let copy = GrantCopy(from: .init(.grant(ref), of: System.guestID), to: .init(.frame(own), of: .selfID), length: 4096)
            if (try? scene.hostile.grantCopy(copy)) != nil {
                #expect(ref == scene.request.grantRef)
                #expect(!scene.canaries.leaked(into: try scene.system.backend.memory.read(at: own.address, count: 4096)))
            }
            scene.system.backend.pages.free(own, pages: 1)
        }
        #expect(granted == [scene.request.grantRef])
        #expect(refused[.generalError] == 511)  // 0…511 but the granted one
        #expect(refused[.badGntref] == 1100 - 512)
        #expect(try scene.intact())
        #expect(scene.system.hypervisor.events.total == 1099 + 1 + 1099)
    }

    @Test func readingOutsideItsBuffer() throws {
        let scene = try Scene()
        let accessor = BackendAccessor(backend: scene.system.backend, frontend: System.guestID)
        let buffer = try accessor.map(scene.request, length: 512, access: .readOnly)
        #expect(throws: MemoryFault.outOfBounds(offset: 500, count: 100, limit: 512)) { try buffer.read(at: 500, count: 100) }
        // Past the granted page: the next ref is not granted to the backend.
        let error = try #require(throws: BackendAccessError.self) { try accessor.map(scene.request, length: 8192, access: .readOnly) }
        #expect(error.status == .generalError)
        #expect(try scene.intact())
    }

    @Test func holdingAMappingAcrossResetBreaksTheDeviceButLeaksNothingNew() throws {
        let scene = try Scene()
        let held = try scene.hostile.mapGrantRef(scene.request.grantRef, of: System.guestID, access: .readOnly)
        #expect(throws: DMAError.grantStillInUse(scene.request.grantRef)) {
            try scene.device.unmap(scene.request, length: 512, direction: .toDevice)
        }
        #expect(scene.device.isBroken)
        // The backend still sees only the page it was granted.
        #expect(try held.read(at: 0, count: 1) == [0xab])
        #expect(!scene.system.guest.grants.isFree(scene.request.grantRef))
        #expect(try scene.intact())
    }
}
