import GrantEngine

/// One buffer of a request, as the driver hands it to the queue: one
/// descriptor.
struct Segment: Hashable {
    var address: DMAAddress
    var length: Int
    /// Device-writable (the device fills it) or device-readable.
    var deviceWritable: Bool
}

/// A used element the driver took back: the request's token and the
/// length the device says it wrote.
struct Completion: Hashable {
    let token: Int
    let writtenLength: UInt32
}

/// Why the driver side of a queue failed.
enum QueueError: Error, Hashable, CustomStringConvertible {
    /// No free descriptors for a chain of this many.
    case full(needed: Int)
    /// The driver's own ring memory could not be reached (never happens
    /// with rings from the device's DMA ops).
    case ringFault(MemoryFault)
    /// The device published something impossible: Linux marks such a
    /// queue broken ("virtio_ring: ... is not a head!").
    case brokenByDevice(String)

    var description: String {
        switch self {
        case .full(let needed): "no \(needed) free descriptors"
        case .ringFault(let fault): "ring memory: \(fault)"
        case .brokenByDevice(let reason): "the device corrupted the used ring: \(reason)"
        }
    }
}

/// The driver side of a split virtqueue (Linux `virtio_ring.c`), in guest
/// memory allocated through the device's DMA ops.
///
/// The ring is device-writable memory, so the driver keeps its own record
/// of every chain (Linux's `desc_extra`/`desc_state`) and never follows
/// links or trusts ids it reads back: a used element naming a descriptor
/// that is not the head of an outstanding chain breaks the queue.
/// Used from one thread (the guest's); not `Sendable`.
final class QueueDriver {
    let index: UInt32
    let size: Int
    let ring: CoherentBuffer
    let layout: SplitRing.Layout
    private let memory: GuestMemory
    /// The driver's record of the descriptors.
    private var book: DescriptorBook
    private var availShadow: UInt16 = 0
    private var lastUsed: UInt16 = 0
    private(set) var inFlight = 0

    init(index: UInt32, size: Int, ring: CoherentBuffer, memory: GuestMemory) {
        self.index = index
        self.size = size
        self.ring = ring
        self.layout = SplitRing.Layout(size: size)
        self.memory = memory
        book = DescriptorBook(size: size)
    }

    var descriptorAddress: DMAAddress { ring.dmaAddress.advanced(by: layout.descriptors) }
    var availAddress: DMAAddress { ring.dmaAddress.advanced(by: layout.avail) }
    var usedAddress: DMAAddress { ring.dmaAddress.advanced(by: layout.used) }
    var freeDescriptors: Int { book.freeCount }

    /// Zeroes the ring (a fresh allocation may hold old bytes).
    func clear() throws(QueueError) {
        try guarded { () throws(MemoryFault) in try memory.fill(at: ring.guestAddress, count: layout.totalSize, with: 0) }
    }

    /// Writes a chain and its available-ring slot; it becomes visible to
    /// the device at the next `publish`. `place` learns which descriptor
    /// carries each segment (by position in `segments`).
    func add<Segments: RandomAccessCollection<Segment>>(_ segments: Segments, token: Int, placing place: (_ position: Int, _ descriptor: UInt16) -> Void = { _, _ in })
        throws(QueueError)
    {
        guard !segments.isEmpty, segments.count <= book.freeCount else { throw .full(needed: segments.count) }
        let head = try withUnsafeTemporaryAllocation(of: UInt16.self, capacity: segments.count) { (indices) throws(QueueError) -> UInt16 in
            book.take(into: indices, token: token, placing: place)
            try writeChain(segments, at: UnsafeBufferPointer(indices))
            return indices[0]
        }
        let slot = layout.avail + 4 + 2 * (Int(availShadow) % size)
        try guarded { () throws(MemoryFault) in try memory.store(head, at: ring.guestAddress.advanced(by: slot)) }
        availShadow &+= 1
        inFlight += 1
    }

    /// Publishes the chains added since the last call (one `avail.idx`
    /// store) and says whether the device wants a notification (its
    /// `used.flags` has no NO_NOTIFY).
    func publish() throws(QueueError) -> Bool {
        try guarded { () throws(MemoryFault) in
            try memory.store(availShadow, at: ring.guestAddress.advanced(by: layout.avail + 2))
            let flags = try memory.load(UInt16.self, at: ring.guestAddress.advanced(by: layout.used))
            return flags & SplitRing.noNotify == 0
        }
    }

    /// Takes back every used element the device published since the last
    /// call, after checking it names an outstanding chain. `release`
    /// learns each descriptor of each chain taken back (see `Release`).
    func reclaim(releasing release: Release = { _, _, _ in }) throws(QueueError) -> [Completion] {
        let published = try guarded { () throws(MemoryFault) in
            try memory.load(UInt16.self, at: ring.guestAddress.advanced(by: layout.used + 2))
        }
        let count = Int(published &- lastUsed)
        guard count <= inFlight else {
            throw .brokenByDevice("used.idx moved by \(count) with \(inFlight) buffers outstanding")
        }
        var completions: [Completion] = []
        completions.reserveCapacity(count)
        for _ in 0..<count {
            let element = ring.guestAddress.advanced(by: layout.used + 4 + 8 * (Int(lastUsed) % size))
            // `id` and `len` in one little-endian load: one access of the
            // page the backend is writing, not two.
            let pair = try guarded { () throws(MemoryFault) in try memory.load(UInt64.self, at: element) }
            let (id, length) = (UInt32(truncatingIfNeeded: pair), UInt32(truncatingIfNeeded: pair >> 32))
            guard id < UInt32(size), let chain = book.release(head: UInt16(id), release) else {
                throw .brokenByDevice("used id \(id) is not the head of an outstanding chain")
            }
            lastUsed &+= 1
            inFlight -= 1
            completions.append(Completion(token: chain.token, writtenLength: length))
        }
        return completions
    }

    /// The tokens of every chain the device has not given back (requests
    /// lost to a reset), by head; forgets them. `release` learns each of
    /// their descriptors (see `Release`).
    func abandonAll(releasing release: Release = { _, _, _ in }) -> [Int] {
        inFlight = 0
        return book.releaseAll(release)
    }

    /// Called for each descriptor of a chain the driver takes back, in
    /// chain order (position 0 is the head), before the descriptor is
    /// free again: the caller's per-descriptor records are still valid.
    typealias Release = (_ token: Int, _ descriptor: UInt16, _ position: Int) -> Void

    /// Writes the descriptors of `segments`, linked in order, to the
    /// table entries `indices`: one memory access per run of adjacent
    /// entries (a chain on reused descriptors is one run).
    private func writeChain<Segments: RandomAccessCollection<Segment>>(
        _ segments: Segments, at indices: UnsafeBufferPointer<UInt16>
    ) throws(QueueError) {
        let entry = SplitRing.descriptorSize
        var failure: MemoryFault?
        withUnsafeTemporaryAllocation(byteCount: segments.count * entry, alignment: 8) { bytes in
            for (position, segment) in segments.enumerated() {
                let last = position == segments.count - 1
                Descriptor(
                    address: segment.address.rawValue, length: UInt32(truncatingIfNeeded: segment.length),
                    flags: (segment.deviceWritable ? SplitRing.write : 0) | (last ? 0 : SplitRing.next),
                    next: last ? 0 : indices[position + 1]
                ).encode(into: UnsafeMutableRawBufferPointer(rebasing: bytes[(position * entry)..<((position + 1) * entry)]))
            }
            var start = 0
            while start < segments.count, failure == nil {
                var end = start + 1
                while end < segments.count, indices[end] == indices[end - 1] &+ 1 { end += 1 }
                let at = ring.guestAddress.advanced(by: layout.descriptors + Int(indices[start]) * entry)
                do throws(MemoryFault) {
                    try memory.write(at: at, from: UnsafeRawBufferPointer(rebasing: bytes[(start * entry)..<(end * entry)]))
                } catch {
                    failure = error
                }
                start = end
            }
        }
        if let failure { throw .ringFault(failure) }
    }

    private func guarded<R>(_ body: () throws(MemoryFault) -> R) throws(QueueError) -> R {
        do throws(MemoryFault) { return try body() } catch { throw .ringFault(error) }
    }
}
