import GrantEngine
import Testing

/// `BackendAccessor.map(_:into:)`: the buffers of one request, checked
/// first, their grant pages mapped in one hypercall; all or nothing.
@Suite struct RequestMapTests {
    @Test func mapsTheBuffersOfARequestInOrder() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let header = try system.guest.pages.allocate(pages: 1).address
        let data = try system.guest.pages.allocate(pages: 2).address.advanced(by: 0x800)
        try system.guest.memory.write(at: header, bytes: [1, 2, 3])
        try system.guest.memory.write(at: data.advanced(by: 0x7fe), bytes: [4, 5, 6, 7])
        let buffers = [
            BufferRequest(address: try ops.map(header, length: 16, direction: .toDevice), length: 16, access: .readOnly),
            BufferRequest(address: try ops.map(data, length: 4096, direction: .fromDevice), length: 4096, access: .writable),
        ]
        let earlier = try accessor.map(buffers[0].address, length: 16, access: .readOnly)
        var mapped = [earlier]

        try accessor.map(buffers, into: &mapped)
        #expect(mapped.count == 3)
        #expect(mapped.dropFirst().map(\.address) == buffers.map(\.address))
        #expect(mapped.dropFirst().map { $0.pages.count } == [1, 2])
        #expect(mapped.allSatisfy { $0.ownsPages })
        #expect(mapped[1].pages.first?.access == .readOnly && mapped[2].pages.first?.access == .writable)
        #expect(try mapped[1].read(at: 0, count: 3) == [1, 2, 3])
        #expect(try mapped[2].read(at: 0x7fe, count: 4) == [4, 5, 6, 7])
        #expect(accessor.statistics.grantMaps == 4)
        #expect(accessor.outstandingRequestMappings == 3)
        #expect(system.events.isEmpty)

        let result = accessor.unmap(mapped)
        #expect(result.unmapped == 4 && result.flushes == 1 && result.refused.isEmpty)
        #expect(accessor.outstandingRequestMappings == 0)
        try ops.unmap(buffers[0].address, length: 16, direction: .toDevice)
        try ops.unmap(buffers[1].address, length: 4096, direction: .fromDevice)
    }

    /// A refused page: the pages mapped around it are unmapped again, the
    /// list is as it was, and the first refusal in buffer order is thrown.
    @Test func aRefusalLeavesNothingMapped() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let (first, _) = try system.grantedPage()
        let (second, _) = try system.grantedPage(to: System.otherID)
        let (third, _) = try system.grantedPage(access: .readOnly)
        var mapped: [BufferMapping] = []
        let error = try #require(throws: BackendAccessError.self) {
            try accessor.map([
                BufferRequest(address: .grant(first), length: 16, access: .readOnly),
                BufferRequest(address: .grant(second), length: 16, access: .readOnly),
                BufferRequest(address: .grant(third), length: 16, access: .writable),
            ], into: &mapped)
        }
        #expect(error == .grant(second, .grantedToOtherDomain(second, grantee: System.otherID)))
        #expect(mapped.isEmpty)
        #expect([first, second, third].allSatisfy { system.guest.grants.entry($0)?.isInUse == false })
        #expect(accessor.outstandingRequestMappings == 0)
        // Xen went on after the refusal (and refused the third page too);
        // the first page was mapped and unmapped again.
        #expect(system.events.map(\.location) == [.ref(second), .ref(third)])
        #expect(accessor.statistics.grantMaps == 1 && accessor.statistics.grantUnmaps == 1)
    }

    /// As blkback checks a request's segments before it maps any: a bad
    /// buffer anywhere in the request costs no hypercall.
    @Test func everyBufferIsCheckedBeforeAnyIsMapped() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let (ref, _) = try system.grantedPage()
        var mapped: [BufferMapping] = []
        #expect(throws: BackendAccessError.emptyBuffer) {
            try accessor.map([
                BufferRequest(address: .grant(ref), length: 16, access: .readOnly),
                BufferRequest(address: .grant(ref), length: 0, access: .readOnly),
            ], into: &mapped)
        }
        #expect(throws: BackendAccessError.tooManyPages(65_537, limit: 65_536)) {
            try accessor.map([
                BufferRequest(address: .grant(ref), length: 16, access: .readOnly),
                BufferRequest(address: .grant(ref), length: 65_536 * 4096 + 1, access: .readOnly),
            ], into: &mapped)
        }
        #expect(mapped.isEmpty)
        #expect(accessor.statistics.grantMaps == 0)
        #expect(system.events.map(\.operation) == [.decode])
        #expect(system.guest.grants.entry(ref)?.isInUse == false)
    }

    /// Buffers inside a long-lived region are views of it; only the others
    /// are mapped, and only they are unmapped.
    @Test func buffersInALongLivedRegionAreBorrowed() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let (ringRef, _) = try system.grantedPage(byte: 0x77)
        let ring = try accessor.mapLongLived(.grant(ringRef), length: 4096)
        let (ref, _) = try system.grantedPage(byte: 0x55)
        var mapped: [BufferMapping] = []
        try accessor.map([
            BufferRequest(address: .grant(ringRef, offset: 64), length: 16, access: .readOnly),
            BufferRequest(address: .grant(ref), length: 16, access: .writable),
        ], into: &mapped)
        #expect(mapped.map(\.ownsPages) == [false, true])
        #expect(try mapped[0].read(at: 0, count: 1) == [0x77])
        #expect(try mapped[1].read(at: 0, count: 1) == [0x55])
        #expect(accessor.statistics.buffersWithoutHypercall == 1)
        #expect(accessor.statistics.grantMaps == 2)
        #expect(accessor.unmap(mapped).unmapped == 1)
        #expect(ring.pages.allSatisfy { $0.isMapped })
        #expect(accessor.reset().grantPagesUnmapped == 1)
    }

    /// Buffers between two regions, or reaching past one, are in none:
    /// they are mapped, not borrowed.
    @Test func onlyBuffersWhollyInsideARegionAreBorrowed() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let (low, _) = try system.grantedPage()
        let (between, _) = try system.grantedPage(byte: 0x42)
        let (high, _) = try system.grantedPage()
        let (after, _) = try system.grantedPage(byte: 0x43)
        #expect([between, high, after] == [low.advanced(by: 1), low.advanced(by: 2), low.advanced(by: 3)])
        _ = try accessor.mapLongLived(.grant(low), length: 4096)
        _ = try accessor.mapLongLived(.grant(high), length: 4096)
        var mapped: [BufferMapping] = []
        try accessor.map([
            BufferRequest(address: .grant(between), length: 16, access: .readOnly),
            BufferRequest(address: .grant(high, offset: 4000), length: 200, access: .readOnly),
            BufferRequest(address: .grant(high), length: 16, access: .readOnly),
        ], into: &mapped)
        #expect(mapped.map(\.ownsPages) == [true, true, false])
        #expect(try mapped[0].read(at: 0, count: 1) == [0x42])
        #expect(try mapped[1].read(at: 196, count: 1) == [0x43])
        #expect(accessor.statistics.grantMaps == 2 + 3)
        #expect(accessor.unmap(mapped).unmapped == 3)
        #expect(try accessor.map(.grant(between), length: 16, access: .readOnly).ownsPages)
    }

    /// A privileged backend's request mixing guest-physical and grant
    /// buffers: the former foreign-mapped (and cached), the latter mapped
    /// by grant, all in order.
    @Test func guestPhysicalBuffersInARequestAreForeignMapped() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.dom0, frontend: System.guestID)
        let plain = try system.guest.pages.allocate(pages: 1).address
        try system.guest.memory.write(at: plain, bytes: [9, 8, 7])
        let (ref, _) = try system.grantedPage(to: .dom0, byte: 0x66)
        var mapped: [BufferMapping] = []
        try accessor.map([
            BufferRequest(address: .guestPhysical(plain), length: 3, access: .readOnly),
            BufferRequest(address: .grant(ref), length: 16, access: .writable),
            BufferRequest(address: .guestPhysical(plain.advanced(by: 8)), length: 1, access: .writable),
        ], into: &mapped)
        #expect(mapped.map(\.ownsPages) == [false, true, false])
        #expect(try mapped[0].read(at: 0, count: 3) == [9, 8, 7])
        #expect(try mapped[1].read(at: 0, count: 1) == [0x66])
        try mapped[2].write(at: 0, bytes: [5])
        #expect(try system.guest.memory.read(at: plain.advanced(by: 8), count: 1) == [5])
        #expect(accessor.statistics.foreignMaps == 1 && accessor.statistics.grantMaps == 1)
        #expect(accessor.statistics.buffersWithoutHypercall == 2)
        #expect(accessor.unmap(mapped).unmapped == 1)
        #expect(accessor.outstandingRequestMappings == 0)
    }
}
