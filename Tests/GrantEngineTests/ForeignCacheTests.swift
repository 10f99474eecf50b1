import GrantEngine
import Testing

/// The foreign-mapping cache of a privileged backend: pages are mapped once
/// until reset, found again across chunk boundaries and for buffers of
/// other lengths, and never served stale after a reset.
@Suite struct ForeignCacheTests {
    /// Guest RAM starts on a 512-frame boundary: frame 511 is the last of
    /// the first chunk.
    static let chunkEnd = System.ramBase.advanced(by: 511 * XenPage.size)

    @Test func aBufferAcrossAChunkBoundaryIsMappedOncePerPage() throws {
        let system = try System()
        let payload = (0..<(3 * XenPage.size)).map { UInt8(truncatingIfNeeded: $0 * 13) }
        let start = Self.chunkEnd.advanced(by: -XenPage.size)
        try system.guest.memory.write(at: start, bytes: payload)
        let accessor = BackendAccessor(backend: system.dom0, frontend: System.guestID)

        let middle = try accessor.map(.guestPhysical(Self.chunkEnd), length: 2 * XenPage.size, access: .readOnly)
        #expect(accessor.statistics.foreignMaps == 2)
        let whole = try accessor.map(.guestPhysical(start), length: 3 * XenPage.size, access: .readOnly)
        #expect(accessor.statistics.foreignMaps == 3, "only the page before the first buffer is new")
        #expect(try whole.read(at: 0, count: payload.count) == payload)
        #expect(try middle.read(at: 0, count: 2 * XenPage.size) == Array(payload[XenPage.size...]))
        #expect(whole.pages.dropFirst().map(\.deviceBusAddress) == middle.pages.map(\.deviceBusAddress))

        let result = accessor.unmap([middle, whole])
        #expect(result.unmapped == 0 && result.flushes == 0, "cached foreign pages are not unmapped per request")
        #expect(try whole.read(at: 0, count: 1) == [payload[0]])
    }

    @Test func aBufferSeenBeforeReusesItsPagesWhateverItsLength() throws {
        let system = try System()
        try system.guest.memory.write(at: System.ramBase, bytes: [1, 2, 3])
        let accessor = BackendAccessor(backend: system.dom0, frontend: System.guestID)
        let first = try accessor.map(.guestPhysical(System.ramBase), length: 16, access: .readOnly)
        let again = try accessor.map(.guestPhysical(System.ramBase.advanced(by: 8)), length: 4, access: .writable)
        let longer = try accessor.map(.guestPhysical(System.ramBase), length: 2 * XenPage.size, access: .readOnly)
        #expect(accessor.statistics.foreignMaps == 2)
        #expect(again.pages.count == 1 && longer.pages.count == 2)
        #expect(again.pages[again.pages.startIndex].deviceBusAddress == first.pages[first.pages.startIndex].deviceBusAddress)
        try again.write(at: 0, bytes: [9])
        #expect(try longer.read(at: 8, count: 1) == [9])
        #expect(throws: MemoryFault.readOnly) { try first.write(at: 0, bytes: [0]) }
    }

    @Test func buffersSharingATableSlotKeepTheirOwnPages() throws {
        let system = try System()
        // 1,024 frames apart: the same slot of the table of resolved buffers.
        let low = System.ramBase.advanced(by: 3 * XenPage.size)
        let high = low.advanced(by: 1024 * XenPage.size)
        try system.guest.memory.write(at: low, bytes: [0x10])
        try system.guest.memory.write(at: high, bytes: [0x20])
        let accessor = BackendAccessor(backend: system.dom0, frontend: System.guestID)
        for _ in 0..<2 {
            #expect(try accessor.map(.guestPhysical(low), length: 1, access: .readOnly).read(at: 0, count: 1) == [0x10])
            #expect(try accessor.map(.guestPhysical(high), length: 1, access: .readOnly).read(at: 0, count: 1) == [0x20])
        }
        #expect(accessor.statistics.foreignMaps == 2)
    }

    @Test func aResetDropsEveryCachedPageAndBuffer() throws {
        let system = try System()
        try system.guest.memory.write(at: System.ramBase, bytes: [7])
        let accessor = BackendAccessor(backend: system.dom0, frontend: System.guestID)
        let before = try accessor.map(.guestPhysical(System.ramBase), length: 2 * XenPage.size, access: .readOnly)
        #expect(accessor.reset().foreignPagesUnmapped == 2)
        #expect(throws: MemoryFault.notMapped) { try before.read(at: 0, count: 1) }

        let after = try accessor.map(.guestPhysical(System.ramBase), length: 2 * XenPage.size, access: .readOnly)
        #expect(accessor.statistics.foreignMaps == 4, "mapped afresh, not served from the table")
        #expect(after.pages.allSatisfy { $0.isMapped })
        #expect(try after.read(at: 0, count: 1) == [7])
    }

    /// A buffer reaches its pages through unretained views of its page
    /// mappings: they must stay valid while the buffer alone holds the
    /// pages (the accessor, its cache and the hypervisor gone), and a revoked
    /// page must still fault rather than be reached.
    @Test func aBufferAloneKeepsItsPagesReachableAndRevokedPagesFault() throws {
        let payload = (0..<(2 * XenPage.size)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var kept: BufferMapping?
        var revoked: BufferMapping?
        do {
            let system = try System()
            try system.guest.memory.write(at: System.ramBase, bytes: payload)
            let accessor = BackendAccessor(backend: system.dom0, frontend: System.guestID)
            revoked = try accessor.map(.guestPhysical(System.ramBase), length: payload.count, access: .writable)
            accessor.reset()
            kept = try accessor.map(.guestPhysical(System.ramBase), length: payload.count, access: .writable)
        }
        let buffer = try #require(kept)
        #expect(try buffer.read(at: 0, count: payload.count) == payload)
        try buffer.write(at: XenPage.size - 2, bytes: [1, 2, 3, 4])
        #expect(try buffer.read(at: XenPage.size - 2, count: 4) == [1, 2, 3, 4])
        #expect(throws: MemoryFault.notMapped) { try revoked?.read(at: 0, count: 1) }
        #expect(throws: MemoryFault.notMapped) { try revoked?.write(at: XenPage.size, bytes: [0]) }
    }
}
