/// A domain's guest-physical RAM: banks of 4 KiB frames, allocated on first
/// touch, so a 4 GiB guest costs nothing until it is used.
///
/// Only the owning domain holds this object (through `Domain`); other
/// domains reach these frames only through the hypervisor's grant and
/// foreign-mapping checks.
public final class GuestMemory: MemoryAccess, Sendable {
    /// The RAM banks, sorted by address, page-aligned, disjoint.
    public let banks: [GuestRegion]
    private let frames = Lock<[UInt64: Frame]>([:])
    private let machine: MachineMemory

    init(banks: [GuestRegion], machine: MachineMemory) {
        self.banks = banks.sorted { $0.base < $1.base }
        self.machine = machine
    }

    /// Whether `frame` lies in a RAM bank.
    public func isRAM(_ frame: FrameNumber) -> Bool {
        banks.contains { $0.contains(frame.address) }
    }

    /// The first address of `[address, address + count)` that is not RAM
    /// (wrapping past the top of the address space counts as not RAM).
    func firstNonRAM(_ address: GuestAddress, count: Int) -> GuestAddress? {
        let last = address.advanced(by: max(count, 1) - 1)
        guard last >= address else { return address }
        var frame = address.frame
        while frame <= last.frame {
            guard isRAM(frame) else { return max(frame.address, address) }
            frame = frame.advanced(by: 1)
        }
        return nil
    }

    /// How many frames have been touched (and so cost memory).
    public var residentFrames: Int { frames.withLock { $0.count } }

    /// The frame at `number`, created zeroed on first use; nil when the
    /// number is not RAM (Xen: an invalid gfn).
    func frame(_ number: FrameNumber) -> Frame? {
        guard isRAM(number) else { return nil }
        return frames.withLock { table in
            if let existing = table[number.rawValue] { return existing }
            let created = machine.newFrame()
            table[number.rawValue] = created
            return created
        }
    }

    public func read(at address: GuestAddress, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault) {
        try forEachFrame(address, buffer.count) { (frame, pageOffset, bufferOffset, length) in
            frame.withBytes { page in
                buffer.baseAddress?.advanced(by: bufferOffset).copyMemory(from: page + pageOffset, byteCount: length)
            }
        }
    }

    public func write(at address: GuestAddress, from buffer: UnsafeRawBufferPointer) throws(MemoryFault) {
        try forEachFrame(address, buffer.count) { (frame, pageOffset, bufferOffset, length) in
            frame.withBytes { page in
                if let source = buffer.baseAddress {
                    (page + pageOffset).copyMemory(from: source + bufferOffset, byteCount: length)
                }
            }
        }
    }

    /// Sets `count` bytes from `address` to `byte` (canaries, scrubbing).
    public func fill(at address: GuestAddress, count: Int, with byte: UInt8) throws(MemoryFault) {
        try forEachFrame(address, count) { (frame, pageOffset, _, length) in
            frame.withBytes { page in (page + pageOffset).initializeMemory(as: UInt8.self, repeating: byte, count: length) }
        }
    }

    /// Copies `count` bytes inside this domain's RAM (a bounce copy).
    public func copy(from source: GuestAddress, to destination: GuestAddress, count: Int) throws(MemoryFault) {
        try withUnsafeTemporaryAllocation(byteCount: XenPage.size, alignment: 16) { (scratch: UnsafeMutableRawBufferPointer) throws(MemoryFault) in
            var done = 0
            while done < count {
                let chunk = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<min(XenPage.size, count - done)])
                try read(at: source.advanced(by: done), into: chunk)
                try write(at: destination.advanced(by: done), from: UnsafeRawBufferPointer(chunk))
                done += chunk.count
            }
        }
    }

    /// Resolves every frame first, so an access that runs off RAM faults
    /// before touching any byte.
    private func forEachFrame(
        _ address: GuestAddress, _ count: Int,
        _ body: (Frame, _ pageOffset: Int, _ bufferOffset: Int, _ length: Int) throws(MemoryFault) -> Void
    ) throws(MemoryFault) {
        guard count > 0 else { return }
        if let hole = firstNonRAM(address, count: count) { throw .notRAM(hole) }
        let first = address.frame
        try forEachPiece(offset: address.pageOffset, count: count) { (page, pageOffset, bufferOffset, length) throws(MemoryFault) in
            guard let resolved = self.frame(first.advanced(by: page)) else { throw .notRAM(address) }
            try body(resolved, pageOffset, bufferOffset, length)
        }
    }
}
