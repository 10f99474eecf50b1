import Glibc
import Synchronization

/// One 4 KiB page of machine memory, shared by whoever holds a reference:
/// the owning domain's memory map, a grant pin, a foreign mapping.
///
/// Every access runs under the frame's own lock. That makes the engine
/// free of data races between a frontend thread and a backend thread, and
/// gives the ordering the memory barriers of real rings give: whatever a
/// party wrote to a frame before releasing its lock is seen by the next
/// party that takes it (virtio publishes ring indices this way).
///
/// The lock is a `WordLock`: a 64 KiB request takes about 24 frame locks,
/// and critical sections are one copy (of a page, or of a buffer's run of
/// neighbouring pages, held under all their locks).
///
/// `@unchecked Sendable`: the page's bytes are only reached inside the
/// `withBytes` functions, with the lock held.
final class Frame: @unchecked Sendable {
    /// The machine address Xen reports as `dev_bus_addr`.
    let machineAddress: UInt64
    private let lock = WordLock()
    /// The page's 4 KiB: in `block` for guest RAM, else an allocation of
    /// the frame's own. Zero until first written either way.
    private let base: UnsafeMutableRawPointer
    /// The block the page lies in, kept as long as the frame.
    private let block: FrameBlock?

    /// A frame with a page allocated for it alone, zeroed.
    init(machineFrame: UInt64) {
        machineAddress = machineFrame << UInt64(XenPage.shift)
        base = UnsafeMutableRawPointer.allocate(byteCount: XenPage.size, alignment: XenPage.size)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: XenPage.size)
        block = nil
    }

    /// A frame whose page is page `index` of `block` (zero from the kernel).
    init(machineFrame: UInt64, page index: Int, of block: FrameBlock) {
        machineAddress = machineFrame << UInt64(XenPage.shift)
        base = block.page(index)
        self.block = block
    }

    deinit {
        if block == nil { base.deallocate() }
    }

    /// Runs `body` with the page's 4,096 bytes, holding the frame lock.
    func withBytes<R, E: Error>(_ body: (UnsafeMutableRawPointer) throws(E) -> R) throws(E) -> R {
        try lock.withLock { () throws(E) -> R in try body(base) }
    }

    /// Runs `body` with the page's bytes, holding the frame lock, if
    /// `slot` still holds `token` (checked under the lock, which a revoke
    /// takes too); returns whether it did.
    func withBytes<E: Error>(ifLive slot: MapSlot, token: UInt64, _ body: (UnsafeMutableRawPointer) throws(E) -> Void) throws(E) -> Bool {
        try withBytes { (page: UnsafeMutableRawPointer) throws(E) -> Bool in
            guard slot.isLive(token) else { return false }
            try body(page)
            return true
        }
    }

    /// Whether this frame's page starts where `previous`'s ends in host
    /// memory (neighbours in one block): a copy may run across both.
    func follows(_ previous: Frame) -> Bool { previous.base + XenPage.size == base }

    /// Runs `body` with the bytes of `count` frames that follow one another
    /// in host memory (`frame(0)` first, each `follows` the one before;
    /// unretained, held by the caller), holding all their locks, if `admit`
    /// accepts each frame under its lock; returns whether it ran. Locks are
    /// taken in host-address order, the order every holder of several
    /// frame locks uses.
    @inline(__always)
    static func withBytes(
        ofRun count: Int, _ frame: (Int) -> Unmanaged<Frame>, admit: (Int) -> Bool, _ body: (UnsafeMutableRawPointer) -> Void
    ) -> Bool {
        var locked = 0
        var admitted = true
        while locked < count {
            frame(locked)._withUnsafeGuaranteedRef { $0.lock.lock() }
            locked += 1
            guard admit(locked - 1) else {
                admitted = false
                break
            }
        }
        if admitted { frame(0)._withUnsafeGuaranteedRef { body($0.base) } }
        for index in 0..<locked { frame(index)._withUnsafeGuaranteedRef { $0.lock.unlock() } }
        return admitted
    }

    /// Runs `body` with the bytes of two frames (possibly the same one),
    /// taking their locks in host-address order so that two copies in
    /// opposite directions cannot deadlock.
    static func withBytes(of first: Frame, and second: Frame, _ body: (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Void) {
        guard first !== second else { return first.withBytes { page in body(page, page) } }
        let (outer, inner) = first.base < second.base ? (first, second) : (second, first)
        outer.withBytes { outerPage in
            inner.withBytes { innerPage in
                first === outer ? body(outerPage, innerPage) : body(innerPage, outerPage)
            }
        }
    }
}

/// Pages for the frames of a stretch of guest RAM, one after another in a
/// single anonymous mapping: frames that neighbour in guest-physical
/// memory neighbour in host memory too, so a copy across a buffer's pages
/// can be one copy. The kernel commits each page when it is first
/// touched, zeroed, so an untouched page still costs nothing.
///
/// `@unchecked Sendable`: it only hands out page addresses; the bytes are
/// reached through each `Frame`, under its lock.
final class FrameBlock: @unchecked Sendable {
    let pageCount: Int
    private let base: UnsafeMutableRawPointer

    /// Nil when the address space is exhausted (frames then get pages of
    /// their own).
    init?(pages: Int) {
        let bytes = pages * XenPage.size
        guard pages > 0, let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else { return nil }
        pageCount = pages
        base = mapped
    }

    deinit { munmap(base, pageCount * XenPage.size) }

    func page(_ index: Int) -> UnsafeMutableRawPointer {
        precondition(index >= 0 && index < pageCount, "page \(index) outside a block of \(pageCount)")
        return base + index * XenPage.size
    }
}

/// Hands out machine frame numbers, one per frame ever created.
final class MachineMemory: Sendable {
    private let nextFrame = Atomic<UInt64>(0x80000)

    /// A new frame: page `index` of `block`, or a page of its own.
    func newFrame(page index: Int, of block: FrameBlock?) -> Frame {
        let number = nextFrame.wrappingAdd(1, ordering: .relaxed).oldValue
        guard let block else { return Frame(machineFrame: number) }
        return Frame(machineFrame: number, page: index, of: block)
    }
}
