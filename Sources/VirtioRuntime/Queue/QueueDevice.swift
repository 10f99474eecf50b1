import GrantEngine

/// Why the device side could not take a chain from the ring: a driver bug
/// (or a hostile driver). The device answers with DEVICE_NEEDS_RESET and
/// never crashes.
enum ChainError: Error, Hashable, CustomStringConvertible {
    /// `avail.idx` moved by more than the queue size.
    case availIndexJump(from: UInt16, to: UInt16)
    case headOutOfRange(UInt16)
    case nextOutOfRange(at: UInt16, next: UInt16)
    /// The chain revisits a descriptor (more than `size` links).
    case loop(head: UInt16)
    case readableAfterWritable(at: UInt16)
    /// INDIRECT without RING_INDIRECT_DESC negotiated.
    case indirectNotNegotiated(at: UInt16)
    case emptyDescriptor(at: UInt16)
    /// The chain's lengths add up to more than 2^32 − 1 bytes.
    case tooLong(head: UInt16)
    case ringFault(MemoryFault)

    var description: String {
        switch self {
        case .availIndexJump(let from, let to): "avail.idx moved from \(from) to \(to), more than the queue holds"
        case .headOutOfRange(let head): "chain head \(head) is beyond the descriptor table"
        case .nextOutOfRange(let at, let next): "descriptor \(at) links to \(next), beyond the descriptor table"
        case .loop(let head): "the chain at \(head) loops"
        case .readableAfterWritable(let at): "descriptor \(at) is device-readable after a device-writable one"
        case .indirectNotNegotiated(let at): "descriptor \(at) is INDIRECT, which was not negotiated"
        case .emptyDescriptor(let at): "descriptor \(at) has length 0"
        case .tooLong(let head): "the chain at \(head) is longer than 2^32 - 1 bytes"
        case .ringFault(let fault): "ring access failed: \(fault)"
        }
    }
}

/// The device side of a split virtqueue: the backend reads the rings
/// through mappings made once at QueueReady (virtio.md §4.4, grant-dma.md
/// §9.3) and trusts nothing it reads. Used by the backend's worker only.
final class QueueDevice {
    let size: Int
    let descriptors: BufferMapping
    let avail: BufferMapping
    let used: BufferMapping
    private var lastAvail: UInt16 = 0
    private var usedIndex: UInt16 = 0

    init(size: Int, descriptors: BufferMapping, avail: BufferMapping, used: BufferMapping) {
        self.size = size
        self.descriptors = descriptors
        self.avail = avail
        self.used = used
    }

    /// Chains the driver made available and the device has not taken yet.
    func pendingCount() throws(ChainError) -> Int {
        let published = try ring { () throws(MemoryFault) in try avail.load(UInt16.self, at: 2) }
        let count = Int(published &- lastAvail)
        guard count <= size else { throw .availIndexJump(from: lastAvail, to: published) }
        return count
    }

    /// Takes the next available chain and checks it: every link inside the
    /// table, no loop, readable descriptors before writable ones, no
    /// INDIRECT, no empty descriptor, at most 2^32 − 1 bytes. The chain
    /// replaces the contents of `chain` (the worker reuses one array, so a
    /// request allocates none); returns its head.
    func takeChain(into chain: inout [Descriptor]) throws(ChainError) -> UInt16 {
        let slot = 4 + 2 * (Int(lastAvail) % size)
        let head = try ring { () throws(MemoryFault) in try avail.load(UInt16.self, at: slot) }
        lastAvail &+= 1
        guard Int(head) < size else { throw .headOutOfRange(head) }
        chain.removeAll(keepingCapacity: true)
        var index = head
        var total: UInt64 = 0
        var sawWritable = false
        var window = DescriptorWindow()
        while true {
            guard chain.count < size else { throw .loop(head: head) }
            let descriptor = try load(index, through: &window)
            guard descriptor.flags & SplitRing.indirect == 0 else { throw .indirectNotNegotiated(at: index) }
            guard descriptor.length > 0 else { throw .emptyDescriptor(at: index) }
            if descriptor.isWritable {
                sawWritable = true
            } else if sawWritable {
                throw .readableAfterWritable(at: index)
            }
            total += UInt64(descriptor.length)
            guard total <= UInt64(UInt32.max) else { throw .tooLong(head: head) }
            chain.append(descriptor)
            guard descriptor.hasNext else { break }
            guard Int(descriptor.next) < size else { throw .nextOutOfRange(at: index, next: descriptor.next) }
            index = descriptor.next
        }
        return head
    }

    /// Publishes one used element: `{id, len}` first, then `used.idx`.
    func complete(head: UInt16, written: UInt32) throws(ChainError) {
        let element = 4 + 8 * (Int(usedIndex) % size)
        usedIndex &+= 1
        try ring { () throws(MemoryFault) in
            // `id` and `len` in one little-endian store: one access of the
            // page rather than two.
            try used.store(UInt64(head) | UInt64(written) << 32, at: element)
            try used.store(usedIndex, at: 2)
        }
    }

    /// Sets or clears NO_NOTIFY in `used.flags` (a hint to the driver).
    func suppressNotifications(_ suppress: Bool) throws(ChainError) {
        try ring { () throws(MemoryFault) in try used.store(suppress ? SplitRing.noNotify : 0, at: 0) }
    }

    /// Whether the driver left NO_INTERRUPT clear in `avail.flags`.
    func driverWantsInterrupts() throws(ChainError) -> Bool {
        try ring { () throws(MemoryFault) in try avail.load(UInt16.self, at: 0) } & SplitRing.noInterrupt == 0
    }

    /// Descriptor `index`, from `window` when an earlier read brought it
    /// in; otherwise the table is read from `index` on, up to
    /// `DescriptorWindow.capacity` descriptors in one access (a driver
    /// chains adjacent descriptors, so one access usually covers a whole
    /// block request). Each descriptor of a chain is still taken from one
    /// read and checked once, so read-ahead changes nothing the driver can
    /// exploit.
    private func load(_ index: UInt16, through window: inout DescriptorWindow) throws(ChainError) -> Descriptor {
        let position = Int(index)
        if let known = window.descriptor(at: position) { return known }
        let count = min(DescriptorWindow.capacity, size - position)
        var failure: MemoryFault?
        withUnsafeTemporaryAllocation(byteCount: DescriptorWindow.capacity * SplitRing.descriptorSize, alignment: 8) { buffer in
            let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(count * SplitRing.descriptorSize)])
            do throws(MemoryFault) {
                try descriptors.read(at: position * SplitRing.descriptorSize, into: bytes)
            } catch {
                failure = error
                return
            }
            window.fill(from: position, count: count, UnsafeRawBufferPointer(bytes))
        }
        if let failure { throw .ringFault(failure) }
        return window.descriptors[0]
    }

    private func ring<R>(_ body: () throws(MemoryFault) -> R) throws(ChainError) -> R {
        do throws(MemoryFault) { return try body() } catch { throw .ringFault(error) }
    }
}

/// Up to `capacity` consecutive descriptors read from the table in one
/// access, from `first` on.
private struct DescriptorWindow {
    static let capacity = 4
    private(set) var descriptors = InlineArray<4, Descriptor>(repeating: Descriptor(address: 0, length: 0, flags: 0, next: 0))
    private var first = 0
    private var count = 0

    func descriptor(at index: Int) -> Descriptor? {
        guard index >= first, index - first < count else { return nil }
        return descriptors[index - first]
    }

    /// Decodes `count` table entries from `bytes`, the first being `first`.
    mutating func fill(from first: Int, count: Int, _ bytes: UnsafeRawBufferPointer) {
        for position in 0..<count {
            let start = position * SplitRing.descriptorSize
            descriptors[position] = Descriptor(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + SplitRing.descriptorSize)]))
        }
        self.first = first
        self.count = count
    }
}

/// The buffers of one request as the backend mapped them: the
/// device-readable ones, then the device-writable ones, each read or
/// written as one byte stream (virtio-blk's framing does not depend on
/// how the driver split it into descriptors).
struct MappedChain {
    let head: UInt16
    let descriptors: [Descriptor]
    /// Every buffer in chain order: the readable ones, then the writable
    /// ones (one array, so a request allocates no more).
    let buffers: [BufferMapping]
    let firstWritable: Int
    let readableLength: Int
    let writableLength: Int

    init(head: UInt16, descriptors: [Descriptor], buffers: [BufferMapping], firstWritable: Int) {
        self.head = head
        self.descriptors = descriptors
        self.buffers = buffers
        self.firstWritable = firstWritable
        readableLength = buffers[..<firstWritable].reduce(0) { $0 + $1.length }
        writableLength = buffers[firstWritable...].reduce(0) { $0 + $1.length }
    }

    /// The device-readable buffers (indices from 0).
    var readable: ArraySlice<BufferMapping> { buffers[..<firstWritable] }

    /// Copies `buffer.count` bytes of the readable stream from `offset`.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault) {
        try check(offset: offset, count: buffer.count, total: readableLength)
        try buffers.read(0..<firstWritable, at: offset, into: buffer)
    }

    /// Copies `buffer` into the writable stream at `offset`.
    func write(at offset: Int, from buffer: UnsafeRawBufferPointer) throws(MemoryFault) {
        try check(offset: offset, count: buffer.count, total: writableLength)
        try buffers.write(firstWritable..<buffers.count, at: offset, from: buffer)
    }

    private func check(offset: Int, count: Int, total: Int) throws(MemoryFault) {
        guard offset >= 0, count >= 0, offset <= total, count <= total - offset else {
            throw .outOfBounds(offset: offset, count: count, limit: total)
        }
    }
}
