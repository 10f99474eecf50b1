import GrantEngine
import Testing
@testable import VirtioRuntime

/// A driver that writes garbage into the ring: the backend checks every
/// chain, answers DEVICE_NEEDS_RESET with the reason, and never crashes;
/// the guest can still reset and tear down cleanly.
@Suite struct MaliciousRingTests {
    enum Garbage: String, CaseIterable {
        case nextOutOfRange, loop, readableAfterWritable, indirect, emptyDescriptor, headOutOfRange, availJump, noStatusByte,
            ungrantedAddress
    }

    /// Writes one descriptor of the table.
    private func put(_ descriptor: Descriptor, at index: Int, in queue: QueueDriver, _ memory: GuestMemory) throws {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { descriptor.encode(into: $0) }
        try memory.write(at: queue.ring.guestAddress.advanced(by: queue.layout.descriptors + 16 * index), bytes: bytes)
    }

    @Test(arguments: Garbage.allCases)
    func backendRefusesGarbage(garbage: Garbage) throws {
        let bench = try Bench(.grant)
        try bench.session.bringUp()
        let requests = try #require(bench.session.requests)
        let queue = requests.queue
        let memory = bench.guest.memory
        let header = try bench.session.dma.ops.map(bench.session.slots.slots[0].control, length: 16, direction: .toDevice)
        let write = SplitRing.write, next = SplitRing.next
        var availIndex: UInt16 = 1
        var head: UInt16 = 0
        let expected: String
        switch garbage {
        case .nextOutOfRange:
            try put(Descriptor(address: header.rawValue, length: 16, flags: next, next: 4000), at: 0, in: queue, memory)
            expected = "links to 4000"
        case .loop:
            try put(Descriptor(address: header.rawValue, length: 16, flags: next, next: 1), at: 0, in: queue, memory)
            try put(Descriptor(address: header.rawValue, length: 16, flags: next, next: 0), at: 1, in: queue, memory)
            expected = "loops"
        case .readableAfterWritable:
            try put(Descriptor(address: header.rawValue, length: 16, flags: write | next, next: 1), at: 0, in: queue, memory)
            try put(Descriptor(address: header.rawValue, length: 16, flags: 0, next: 0), at: 1, in: queue, memory)
            expected = "device-readable after a device-writable"
        case .indirect:
            try put(Descriptor(address: header.rawValue, length: 16, flags: SplitRing.indirect, next: 0), at: 0, in: queue, memory)
            expected = "INDIRECT"
        case .emptyDescriptor:
            try put(Descriptor(address: header.rawValue, length: 0, flags: 0, next: 0), at: 0, in: queue, memory)
            expected = "length 0"
        case .headOutOfRange:
            head = 4000
            expected = "beyond the descriptor table"
        case .availJump:
            availIndex = 3000
            expected = "avail.idx moved from 0 to 3000"
        case .noStatusByte:
            try put(Descriptor(address: header.rawValue, length: 16, flags: 0, next: 0), at: 0, in: queue, memory)
            expected = "without a device-writable status byte"
        case .ungrantedAddress:
            let ungranted = DMAAddress.grant(GrantRef(400))
            try put(Descriptor(address: ungranted.rawValue, length: 16, flags: 0, next: 0), at: 0, in: queue, memory)
            expected = "cannot map a buffer"
        }
        let ring = queue.ring.guestAddress
        try memory.store(head, at: ring.advanced(by: queue.layout.avail + 4))
        try memory.store(availIndex, at: ring.advanced(by: queue.layout.avail + 2))
        let mark = bench.session.driver.interruptMark
        bench.session.driver.notify()
        #expect {
            try bench.session.driver.waitForInterrupt(after: mark)
        } throws: { error in
            guard case DriverError.deviceNeedsReset(let reason?) = error else { return false }
            return reason.contains(expected)
        }
        // The backend mapped nothing it kept; the guest tears down cleanly.
        try bench.session.dma.ops.unmap(header, length: 16, direction: .toDevice)
        let teardown = bench.session.finish()
        #expect(teardown.grantsOutstanding == 0 && !teardown.broken)
        #expect(bench.session.accessor.outstandingRequestMappings == 0)
    }

    /// The driver does not trust the used ring either: an id that heads no
    /// outstanding chain breaks the queue instead of freeing descriptors.
    @Test func driverRejectsAForgedUsedElement() throws {
        let bench = try Bench(.grant)
        try bench.session.bringUp()
        let queue = try #require(bench.session.requests?.queue)
        // One chain outstanding (never published), at head 0.
        try queue.add([Segment(address: .grant(GrantRef(9)), length: 16, deviceWritable: false)], token: 1)
        let ring = queue.ring.guestAddress
        try bench.guest.memory.store(UInt32(7), at: ring.advanced(by: queue.layout.used + 4))
        try bench.guest.memory.store(UInt16(1), at: ring.advanced(by: queue.layout.used + 2))
        #expect(throws: QueueError.brokenByDevice("used id 7 is not the head of an outstanding chain")) { try queue.reclaim() }
        _ = bench.session.finish()
    }
}
