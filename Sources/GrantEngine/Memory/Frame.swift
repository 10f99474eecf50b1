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
/// and critical sections are one copy of at most a page.
///
/// `@unchecked Sendable`: the page's bytes are only reached inside
/// `withBytes`, with the lock held.
final class Frame: @unchecked Sendable {
    /// The machine address Xen reports as `dev_bus_addr`.
    let machineAddress: UInt64
    private let lock = WordLock()
    /// Zeroed when allocated, freed with the frame.
    private let base: UnsafeMutableRawPointer

    init(machineFrame: UInt64) {
        machineAddress = machineFrame << UInt64(XenPage.shift)
        base = UnsafeMutableRawPointer.allocate(byteCount: XenPage.size, alignment: XenPage.size)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: XenPage.size)
    }

    deinit { base.deallocate() }

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

    /// Runs `body` with the bytes of two frames (possibly the same one),
    /// taking their locks in machine-address order so that two copies in
    /// opposite directions cannot deadlock.
    static func withBytes(of first: Frame, and second: Frame, _ body: (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Void) {
        guard first !== second else { return first.withBytes { page in body(page, page) } }
        let (outer, inner) = first.machineAddress < second.machineAddress ? (first, second) : (second, first)
        outer.withBytes { outerPage in
            inner.withBytes { innerPage in
                first === outer ? body(outerPage, innerPage) : body(innerPage, outerPage)
            }
        }
    }
}

/// Hands out machine frame numbers, one per frame ever created.
final class MachineMemory: Sendable {
    private let nextFrame = Atomic<UInt64>(0x80000)

    func newFrame() -> Frame {
        Frame(machineFrame: nextFrame.wrappingAdd(1, ordering: .relaxed).oldValue)
    }
}
