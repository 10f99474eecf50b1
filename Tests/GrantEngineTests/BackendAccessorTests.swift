import GrantEngine
import Testing

@Suite struct BackendAccessorTests {
    @Test func mapsConsecutiveRefsOfAMultiPageBuffer() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let buffer = try system.guest.pages.allocate(pages: 2).address.advanced(by: 0x300)
        let payload = (0..<6000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try system.guest.memory.write(at: buffer, bytes: payload)
        let address = try ops.map(buffer, length: 6000, direction: .toDevice)

        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let mapping = try accessor.map(address, length: 6000, access: .readOnly)
        #expect(mapping.pages.count == 2)
        #expect(try mapping.read(at: 0, count: 6000) == payload)
        #expect(try mapping.load(UInt32.self, at: 0xcfe) == UInt32(littleEndian: try mapping.read(at: 0xcfe, count: 4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
        #expect(accessor.statistics.grantMaps == 2)
        #expect(accessor.outstandingRequestMappings == 1)

        let result = accessor.unmap(mapping)
        #expect(result.unmapped == 2)
        #expect(result.refused.isEmpty)
        #expect(result.flushes == 1)
        #expect(accessor.statistics.unmapFlushes == 1)
        #expect(accessor.outstandingRequestMappings == 0)
        try ops.unmap(address, length: 6000, direction: .toDevice)
    }

    /// Accesses inside one page of a longer buffer, at its edges, across
    /// pages and empty at the end all land where the guest sees them.
    @Test func accessesAnywhereInAMultiPageBuffer() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let buffer = try system.guest.pages.allocate(pages: 3).address.advanced(by: 0x300)
        let length = 3 * 4096 - 0x300
        let address = try ops.map(buffer, length: length, direction: .bidirectional)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let mapping = try accessor.map(address, length: length, access: .writable)
        for (offset, count) in [(0, 8), (0xcf8, 8), (0xd00, 8), (0x1cfe, 4), (0x1d00, 16), (length - 1, 1), (length, 0), (0xcfc, 0x1008)] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: offset + $0 * 3) }
            try mapping.write(at: offset, bytes: bytes)
            #expect(try system.guest.memory.read(at: buffer.advanced(by: offset), count: count) == bytes)
            #expect(try mapping.read(at: offset, count: count) == bytes)
        }
        #expect(throws: MemoryFault.outOfBounds(offset: length, count: 1, limit: length)) { try mapping.read(at: length, count: 1) }
        accessor.unmap(mapping)
        try ops.unmap(address, length: length, direction: .bidirectional)
    }

    @Test func deviceReadableBuffersAreMappedReadOnly() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage(access: .readOnly)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let mapping = try accessor.map(.grant(ref), length: 64, access: .readOnly)
        #expect(mapping.pages[0].access == .readOnly)
        #expect(throws: MemoryFault.readOnly) { try mapping.write(at: 0, bytes: [0]) }
        #expect(throws: MemoryFault.readOnly) { try mapping.pages[0].write(at: 0, bytes: [0]) }
        let error = try #require(throws: BackendAccessError.self) { try accessor.map(.grant(ref), length: 64, access: .writable) }
        #expect(error == .grant(ref, .writeToReadOnlyGrant(ref)))
        #expect(error.status == .generalError)
    }

    @Test func theBufferBoundsAreEnforcedButThePageIsGranted() throws {
        let system = try System()
        let (ref, _) = try system.grantedPage(byte: 0x11)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let mapping = try accessor.map(.grant(ref, offset: 100), length: 16, access: .writable)
        #expect(throws: MemoryFault.outOfBounds(offset: 10, count: 10, limit: 16)) { try mapping.read(at: 10, count: 10) }
        #expect(throws: MemoryFault.outOfBounds(offset: -1, count: 1, limit: 16)) { try mapping.read(at: -1, count: 1) }
        // Grants are page-granular: the rest of the granted page is reachable.
        #expect(try mapping.pages[0].read(at: 0, count: 1) == [0x11])
        #expect(throws: MemoryFault.outOfBounds(offset: 4090, count: 10, limit: 4096)) { try mapping.pages[0].read(at: 4090, count: 10) }
        #expect(system.events.map(\.operation) == [.read, .read, .read])
    }

    @Test func aFailingPageUnmapsThePagesAlreadyMapped() throws {
        let system = try System()
        let (first, _) = try system.grantedPage()
        let (second, _) = try system.grantedPage(to: System.otherID)
        #expect(second == first.advanced(by: 1))
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let error = try #require(throws: BackendAccessError.self) { try accessor.map(.grant(first), length: 8192, access: .readOnly) }
        #expect(error == .grant(second, .grantedToOtherDomain(second, grantee: System.otherID)))
        #expect(system.guest.grants.entry(first)?.isInUse == false)
        #expect(accessor.outstandingRequestMappings == 0)
    }

    @Test func longLivedRegionsServeRequestsUntilReset() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let ring = try ops.allocateCoherent(size: 2 * 4096)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let rings = try accessor.mapLongLived(ring.dmaAddress, length: ring.size)
        let inside = try accessor.map(ring.dmaAddress.advanced(by: 4096 + 8), length: 16, access: .readOnly)
        #expect(!inside.ownsPages)
        #expect(accessor.statistics.grantMaps == 2)
        #expect(accessor.statistics.buffersWithoutHypercall == 1)
        try rings.store(UInt16(7), at: 4096 + 8)
        #expect(try inside.load(UInt16.self, at: 0) == 7)
        #expect(throws: MemoryFault.readOnly) { try inside.write(at: 0, bytes: [1]) }

        #expect(throws: DMAError.grantStillInUse(ring.dmaAddress.grantRef)) { try GrantDMAOps(guest: system.guest, backend: System.backendID).freeCoherent(ring) }
        let report = accessor.reset()
        #expect(report.grantPagesUnmapped == 2)
        #expect(report.refused.isEmpty)
        #expect(report.requestMappingsStillHeld == 0)
        #expect(throws: MemoryFault.notMapped) { try inside.read(at: 0, count: 1) }
        try ops.freeCoherent(ring)
    }

    @Test func guestPhysicalAddressesNeedAPrivilegedBackend() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let error = try #require(throws: BackendAccessError.self) {
            try accessor.map(.guestPhysical(System.ramBase), length: 16, access: .readOnly)
        }
        #expect(error == .foreign(System.ramBase.frame, .notPrivileged(caller: System.backendID, target: System.guestID)))

        try system.guest.memory.write(at: System.ramBase, bytes: [3, 4])
        let privileged = BackendAccessor(backend: system.dom0, frontend: System.guestID)
        let mapping = try privileged.map(.guestPhysical(System.ramBase), length: 16, access: .readOnly)
        #expect(try mapping.read(at: 0, count: 2) == [3, 4])
        _ = try privileged.map(.guestPhysical(System.ramBase.advanced(by: 100)), length: 16, access: .readOnly)
        #expect(privileged.statistics.foreignMaps == 1)
        #expect(privileged.statistics.foreignUnmaps == 0, "foreign mappings stay cached until reset")
        #expect(privileged.reset().foreignPagesUnmapped == 1)
        #expect(privileged.statistics.foreignUnmaps == 1)
        #expect(throws: MemoryFault.notMapped) { try mapping.read(at: 0, count: 1) }
    }

    @Test func aForeignWindowConfinesTheDeviceToItsPool() throws {
        let system = try System()
        let pool = GuestRegion(base: System.ramBase.advanced(by: 8 << 20), size: 1 << 20)
        let ops = try BounceDMAOps(guest: system.guest, pool: pool)
        let accessor = BackendAccessor(backend: system.dom0, frontend: System.guestID, foreignWindow: pool)
        let buffer = try system.guest.pages.allocate(pages: 1).address
        try system.guest.memory.write(at: buffer, bytes: [5, 6, 7])
        let address = try ops.map(buffer, length: 3, direction: .toDevice)
        #expect(try accessor.map(address, length: 3, access: .readOnly).read(at: 0, count: 3) == [5, 6, 7])
        let error = try #require(throws: BackendAccessError.self) { try accessor.map(.guestPhysical(buffer), length: 3, access: .readOnly) }
        #expect(error == .outsideWindow(.guestPhysical(buffer), length: 3, window: pool))
        #expect(system.events.last?.operation == .decode)
        #expect(throws: BackendAccessError.outsideWindow(address, length: 2 << 20, window: pool)) {
            try accessor.map(address, length: 2 << 20, access: .readOnly)
        }
    }

    @Test func emptyAndHugeBuffersAreRefusedBeforeAnyHypercall() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        #expect(throws: BackendAccessError.emptyBuffer) { try accessor.map(.grant(GrantRef(8)), length: 0, access: .readOnly) }
        #expect(throws: BackendAccessError.tooManyPages(65_537, limit: 65_536)) {
            try accessor.map(.grant(GrantRef(8)), length: 65_536 * 4096 + 1, access: .readOnly)
        }
        #expect(accessor.statistics.grantMaps == 0)
    }

    @Test func unmappingManyBuffersBatchesTheFlushes() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        var buffers: [BufferMapping] = []
        for _ in 0..<40 {
            let (ref, _) = try system.grantedPage()
            buffers.append(try accessor.map(.grant(ref), length: 512, access: .writable))
        }
        let result = accessor.unmap(buffers)
        #expect(result.flushes == 2)
        #expect(accessor.statistics.grantUnmaps == 40)
        // Unmapping again: every handle is stale.
        let stale = try #require(buffers[0].pages.first?.handle)
        #expect(accessor.unmap(buffers[0]).refused == [.init(handle: stale, status: .badHandle)])
    }

    /// A list mixing borrowed (long-lived) and owned buffers: only the
    /// owned pages are unmapped, in one batch, and counted back.
    @Test func unmappingAListLeavesBorrowedPagesMapped() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let (ringRef, _) = try system.grantedPage()
        let ring = try accessor.mapLongLived(.grant(ringRef), length: 4096)
        let borrowed = try accessor.map(.grant(ringRef, offset: 256), length: 128, access: .readOnly)
        var buffers = [borrowed]
        for _ in 0..<3 {
            let (ref, _) = try system.grantedPage()
            buffers.append(try accessor.map(.grant(ref), length: 4096, access: .writable))
        }
        #expect(accessor.outstandingRequestMappings == 3)
        let result = accessor.unmap(buffers)
        #expect(result.unmapped == 3 && result.flushes == 1 && result.refused.isEmpty)
        #expect(accessor.outstandingRequestMappings == 0)
        #expect(ring.pages.allSatisfy(\.isMapped) && borrowed.pages.allSatisfy(\.isMapped))
        #expect(buffers.dropFirst().allSatisfy { $0.pages.allSatisfy { !$0.isMapped } })
    }
}
