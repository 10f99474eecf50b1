import GrantEngine
import Testing
import TestSupport

/// A buffer's pages that neighbour in guest RAM are copied in one go, under
/// all their frame locks: the bytes must land exactly where page-by-page
/// copies put them, and a page that is no longer mapped must stop the copy
/// where a page-by-page copy stops, logged the same way.
@Suite struct PageRunTests {
    /// Guest RAM starts on a 512-frame boundary: frame 512 starts the
    /// second chunk of frames (and so a second block of host memory).
    static let chunkEdge = System.ramBase.advanced(by: 512 * XenPage.size)

    @Test func copiesAcrossNeighbouringPagesLandWherePageCopiesDo() throws {
        let system = try System()
        let accessor = BackendAccessor(backend: system.dom0, frontend: System.guestID)
        var random = SplitMix64(seed: 0x6a5e_2026)
        for _ in 0..<300 {
            // Buffers from 40 KiB below the chunk edge to 8 KiB above it,
            // up to 48 KiB long, accessed anywhere inside.
            let start = Self.chunkEdge.advanced(by: Int.random(in: -40_960...8192, using: &random))
            let length = Int.random(in: 1...49_152, using: &random)
            let offset = Int.random(in: 0...length, using: &random)
            let count = Int.random(in: 0...(length - offset), using: &random)
            let access: Access = Bool.random(using: &random) ? .writable : .readOnly
            let mapping = try accessor.map(.guestPhysical(start), length: length, access: access)

            let guestBytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            try system.guest.memory.write(at: start.advanced(by: offset), bytes: guestBytes)
            #expect(try mapping.read(at: offset, count: count) == guestBytes)
            guard access == .writable else { continue }
            let backendBytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            try mapping.write(at: offset, bytes: backendBytes)
            #expect(try system.guest.memory.read(at: start.advanced(by: offset), count: count) == backendBytes)
        }
        #expect(system.events.isEmpty)
    }

    /// Three granted pages in a row, the middle one unmapped behind the
    /// buffer's back: a read across all three copies the first page and
    /// faults on the second; a write changes the first page only.
    @Test func anUnmappedPageInsideARunStopsTheCopyThere() throws {
        let system = try System()
        let ops = GrantDMAOps(guest: system.guest, backend: System.backendID)
        let buffer = try system.guest.pages.allocate(pages: 3).address
        let length = 3 * XenPage.size
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 5 + 1) }
        try system.guest.memory.write(at: buffer, bytes: payload)
        let address = try ops.map(buffer, length: length, direction: .bidirectional)
        let accessor = BackendAccessor(backend: system.backend, frontend: System.guestID)
        let mapping = try accessor.map(address, length: length, access: .writable)
        #expect(try mapping.read(at: 0, count: length) == payload)

        let middle = try #require(mapping.pages[1].handle)
        try system.backend.hypercalls.unmapGrantRef(middle)
        var copied = [UInt8](repeating: 0, count: length)
        var fault: MemoryFault?
        copied.withUnsafeMutableBytes { bytes in
            do throws(MemoryFault) { try mapping.read(at: 0, into: bytes) } catch { fault = error }
        }
        #expect(fault == .notMapped)
        #expect(copied[..<XenPage.size] == payload[..<XenPage.size])
        #expect(copied[XenPage.size...].allSatisfy { $0 == 0 })

        #expect(throws: MemoryFault.notMapped) { try mapping.write(at: 0, bytes: [UInt8](repeating: 0xee, count: length)) }
        let after = try system.guest.memory.read(at: buffer, count: length)
        #expect(after[..<XenPage.size].allSatisfy { $0 == 0xee })
        #expect(after[XenPage.size...] == payload[XenPage.size...])

        let faults = system.events.filter { $0.operation == .read || $0.operation == .write }
        #expect(faults.map(\.operation) == [.read, .write])
        guard case .grant(_, let ref) = mapping.pages[1].kind else {
            Issue.record("page 1 is not a grant mapping")
            return
        }
        #expect(faults.map(\.location.description) == [ref.description, ref.description], "both faults name the unmapped page's ref")
    }
}
