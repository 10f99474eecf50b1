import Synchronization

/// A domain's guest-physical RAM: banks of 4 KiB frames, allocated on first
/// touch, so a 4 GiB guest costs nothing until it is used (a directory of
/// 512-frame chunks, 16 bytes per 2 MiB of address space, is all it takes
/// up front).
///
/// Only the owning domain holds this object (through `Domain`); other
/// domains reach these frames only through the hypervisor's grant and
/// foreign-mapping checks. Looking a frame up takes no lock.
public final class GuestMemory: MemoryAccess, Sendable {
    /// The RAM banks, sorted by address, page-aligned, disjoint.
    public let banks: [GuestRegion]
    private let directory: FrameDirectory
    private let machine: MachineMemory
    private let resident = Atomic<Int>(0)

    init(banks: [GuestRegion], machine: MachineMemory) {
        self.banks = banks.sorted { $0.base < $1.base }
        directory = FrameDirectory(banks: self.banks)
        self.machine = machine
    }

    /// Whether `frame` lies in a RAM bank.
    public func isRAM(_ frame: FrameNumber) -> Bool { locate(frame) != nil }

    /// How many frames have been touched (and so cost memory).
    public var residentFrames: Int { resident.load(ordering: .relaxed) }

    /// The first address of `[address, address + count)` that is not RAM
    /// (wrapping past the top of the address space counts as not RAM).
    func firstNonRAM(_ address: GuestAddress, count: Int) -> GuestAddress? {
        // Nearly every access lies inside one bank: a range test per bank,
        // no walk over frames (every ring access and DMA map asks this).
        for bank in banks where bank.contains(address, length: max(count, 1)) { return nil }
        let last = address.advanced(by: max(count, 1) - 1)
        guard last >= address else { return address }
        var frame = address.frame
        while frame <= last.frame {
            guard let (bank, _) = locate(frame) else { return max(frame.address, address) }
            // Skip to the end of this bank in one step.
            frame = banks[bank].firstFrame.advanced(by: banks[bank].frameCount)
        }
        return nil
    }

    /// The frame at `number`, created zeroed on first use; nil when the
    /// number is not RAM (Xen: an invalid gfn).
    func frame(_ number: FrameNumber) -> Frame? {
        guard let (bank, index) = locate(number) else { return nil }
        if let existing = directory.frame(bank: bank, at: index) { return existing }
        let (stored, made) = directory.create(bank: bank, at: index, machine: machine)
        if made { resident.wrappingAdd(1, ordering: .relaxed) }
        return stored
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
            frame.withBytes { page in _ = (page + pageOffset).initializeMemory(as: UInt8.self, repeating: byte, count: length) }
        }
    }

    /// Copies `count` bytes inside this domain's RAM (a bounce copy), frame
    /// piece by frame piece, holding both frames' locks for each piece.
    public func copy(from source: GuestAddress, to destination: GuestAddress, count: Int) throws(MemoryFault) {
        if let hole = firstNonRAM(source, count: count) ?? firstNonRAM(destination, count: count) { throw .notRAM(hole) }
        var done = 0
        while done < count {
            let from = source.advanced(by: done)
            let to = destination.advanced(by: done)
            let length = min(XenPage.size - from.pageOffset, XenPage.size - to.pageOffset, count - done)
            guard let sourceFrame = frame(from.frame), let destinationFrame = frame(to.frame) else { throw .notRAM(from) }
            Frame.withBytes(of: sourceFrame, and: destinationFrame) { sourcePage, destinationPage in
                (destinationPage + to.pageOffset).copyMemory(from: sourcePage + from.pageOffset, byteCount: length)
            }
            done += length
        }
    }

    /// The bank and the index in it of `frame`.
    private func locate(_ frame: FrameNumber) -> (bank: Int, index: Int)? {
        var bank = 0
        while bank < banks.count {
            let first = banks[bank].firstFrame.rawValue
            if frame.rawValue >= first, frame.rawValue - first < UInt64(banks[bank].frameCount) {
                return (bank, Int(frame.rawValue - first))
            }
            bank += 1
        }
        return nil
    }

    /// Resolves every frame first, so an access that runs off RAM faults
    /// before touching any byte.
    private func forEachFrame(
        _ address: GuestAddress, _ count: Int,
        _ body: (Frame, _ pageOffset: Int, _ bufferOffset: Int, _ length: Int) -> Void
    ) throws(MemoryFault) {
        guard count > 0 else { return }
        if let hole = firstNonRAM(address, count: count) { throw .notRAM(hole) }
        let first = address.frame
        try forEachPiece(offset: address.pageOffset, count: count) { (page, pageOffset, bufferOffset, length) throws(MemoryFault) in
            let number = first.advanced(by: page)
            guard let (bank, index) = locate(number) else { throw .notRAM(address) }
            // A frame touched before is used unretained (no reference
            // counting per access); the first touch creates it.
            if directory.withFrame(bank: bank, at: index, { frame in body(frame, pageOffset, bufferOffset, length) }) == nil {
                guard let resolved = self.frame(number) else { throw .notRAM(address) }
                body(resolved, pageOffset, bufferOffset, length)
            }
        }
    }
}

/// The frames of every bank: chunks of 512 frames, each created when one
/// of its frames is first touched, with its frames' pages in one
/// `FrameBlock`. Lookups and creation are lock-free.
private final class FrameDirectory: Sendable {
    static let chunkFrames = 512

    private final class Chunk: Sendable {
        let frames: InlineArray<512, OnceReference<Frame>> = InlineArray { _ in OnceReference() }
        /// Nil only when no block could be mapped: its frames then get
        /// pages of their own.
        let block: FrameBlock?

        init(frames: Int) { block = FrameBlock(pages: frames) }
    }

    /// Each bank's chunks, one bank after another.
    private let chunks: OnceReferences<Chunk>
    /// The index in `chunks` of each bank's first chunk.
    private let firstChunk: [Int]
    private let bankFrames: [Int]

    init(banks: [GuestRegion]) {
        var first: [Int] = []
        var total = 0
        for bank in banks {
            first.append(total)
            total += (bank.frameCount + Self.chunkFrames - 1) / Self.chunkFrames
        }
        firstChunk = first
        bankFrames = banks.map(\.frameCount)
        chunks = OnceReferences(count: total)
    }

    /// The frame at `index` of `bank`, if it was ever touched. The chunk is
    /// read unretained (see `withFrame`): only the frame is retained, for
    /// the caller.
    func frame(bank: Int, at index: Int) -> Frame? {
        chunks.withInstance(at: chunk(bank, index)) { $0.frames[index % Self.chunkFrames].load() } ?? nil
    }

    /// Runs `body` with the frame at `index` of `bank`, unretained, if it
    /// was ever touched; nil if not. Sound because a stored chunk or frame
    /// is never replaced or removed while the directory lives, and the
    /// caller holds the directory (through its `GuestMemory`) for the call.
    func withFrame<R>(bank: Int, at index: Int, _ body: (Frame) -> R) -> R? {
        chunks.withInstance(at: chunk(bank, index)) { chunk in
            chunk.frames[index % Self.chunkFrames].withInstance(body)
        } ?? nil
    }

    /// Creates the frame at `index` of `bank` unless a racing thread
    /// stored one first; returns the frame that is there, and whether it
    /// is the one made here.
    func create(bank: Int, at index: Int, machine: MachineMemory) -> (frame: Frame, made: Bool) {
        let position = chunk(bank, index)
        let firstFrame = index - index % Self.chunkFrames
        let chunk = chunks.load(at: position)
            ?? chunks.storeIfNil(Chunk(frames: min(Self.chunkFrames, bankFrames[bank] - firstFrame)), at: position)
        let made = machine.newFrame(page: index - firstFrame, of: chunk.block)
        let stored = chunk.frames[index - firstFrame].storeIfNil(made)
        return (stored, stored === made)
    }

    private func chunk(_ bank: Int, _ index: Int) -> Int { firstChunk[bank] + index / Self.chunkFrames }
}
