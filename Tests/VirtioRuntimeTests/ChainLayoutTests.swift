import GrantEngine
import Testing
@testable import VirtioRuntime

/// Where chains sit in the descriptor table: the driver reuses a completed
/// chain's descriptors in the same order (as Linux's free list does), and
/// the device, which reads adjacent descriptors in one access, still
/// follows chains that run backwards or jump across the table.
@Suite struct ChainLayoutTests {
    /// The descriptor at `index`, as the guest wrote it.
    private func descriptor(_ index: UInt16, of queue: QueueDriver, _ memory: GuestMemory) throws -> Descriptor {
        let bytes = try memory.read(at: queue.ring.guestAddress.advanced(by: queue.layout.descriptors + 16 * Int(index)), count: 16)
        return bytes.withUnsafeBytes { Descriptor($0) }
    }

    @Test func aCompletedChainIsReusedInOrder() throws {
        let bench = try Bench(.direct, depth: 1)
        try bench.session.bringUp()
        let requests = try #require(bench.session.requests)
        let slot = bench.session.slots.slots[0]
        let memory = bench.guest.memory
        var heads: [UInt16] = []
        for round in 0..<2 {
            try memory.write(at: slot.control, bytes: BlockProtocol.header(type: BlockProtocol.RequestType.read.rawValue, sector: 0))
            let buffers = [
                RequestBuffer(address: slot.control, length: BlockProtocol.headerSize, direction: .toDevice),
                RequestBuffer(address: slot.dataA, length: 4096, direction: .fromDevice),
                RequestBuffer(address: slot.control.advanced(by: RequestSlot.statusOffset), length: 1, direction: .fromDevice),
            ]
            #expect(try requests.submit(buffers, token: round))
            let availSlot = requests.queue.layout.avail + 4 + 2 * round
            let head = try memory.load(UInt16.self, at: requests.queue.ring.guestAddress.advanced(by: availSlot))
            heads.append(head)
            let first = try descriptor(head, of: requests.queue, memory)
            let second = try descriptor(first.next, of: requests.queue, memory)
            #expect(first.next == head + 1 && second.next == head + 2, "round \(round): a run of adjacent descriptors")
            try requests.kick()
            #expect(try requests.waitForCompletions().map(\.token) == [round])
        }
        #expect(heads[0] == heads[1])
        _ = bench.session.finish()
    }

    @Test func theDeviceFollowsABackwardChainAcrossItsReadAhead() throws {
        let bench = try Bench(.direct)
        try bench.session.bringUp()
        let queue = try #require(bench.session.requests?.queue)
        let memory = bench.guest.memory
        let slot = bench.session.slots.slots[0]
        let status = slot.control.advanced(by: RequestSlot.statusOffset)
        try memory.write(at: slot.control, bytes: BlockProtocol.header(type: BlockProtocol.RequestType.read.rawValue, sector: 0))
        try memory.store(UInt8(0xff), at: status)
        // Header at 6, data at 1 (outside the read-ahead from 6), status at 0.
        let chain: [(index: Int, descriptor: Descriptor)] = [
            (6, Descriptor(address: slot.control.rawValue, length: 16, flags: SplitRing.next, next: 1)),
            (1, Descriptor(address: slot.dataA.rawValue, length: 512, flags: SplitRing.write | SplitRing.next, next: 0)),
            (0, Descriptor(address: status.rawValue, length: 1, flags: SplitRing.write, next: 0)),
        ]
        for (index, entry) in chain {
            var bytes = [UInt8](repeating: 0, count: 16)
            bytes.withUnsafeMutableBytes { entry.encode(into: $0) }
            try memory.write(at: queue.ring.guestAddress.advanced(by: queue.layout.descriptors + 16 * index), bytes: bytes)
        }
        let ring = queue.ring.guestAddress
        try memory.store(UInt16(6), at: ring.advanced(by: queue.layout.avail + 4))
        try memory.store(UInt16(1), at: ring.advanced(by: queue.layout.avail + 2))
        let mark = bench.session.driver.interruptMark
        bench.session.driver.notify()
        try bench.session.driver.waitForInterrupt(after: mark)
        let element = try memory.load(UInt64.self, at: ring.advanced(by: queue.layout.used + 4))
        #expect(element == 6 | UInt64(513) << 32, "used element: head 6, 512 data bytes and the status byte")
        #expect(try memory.load(UInt8.self, at: status) == BlockProtocol.Status.ok.rawValue)
        _ = bench.session.finish()
    }
}
