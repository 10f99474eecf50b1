/// One page of another domain's memory, mapped into the caller: a grant
/// mapping (by handle) or a foreign mapping (privileged domains only).
///
/// It is the only way a domain touches memory it does not own. Every access
/// checks, under the frame's lock, that the mapping is still live and that
/// writes are allowed; a refused access is logged as a fault.
public struct PageMapping: MemoryAccess, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A grant mapping of `ref`, undone with `unmapGrantRef(handle)`.
        case grant(handle: MapHandle, ref: GrantRef)
        /// A foreign mapping of a frame, undone with `foreignUnmap`.
        case foreign(FrameNumber)
    }

    public let kind: Kind
    /// The mapping domain.
    public let mapper: DomainID
    /// The domain whose page this is.
    public let owner: DomainID
    public let access: Access
    let frame: Frame
    let slot: MapSlot
    let token: UInt64
    /// `frame` and `slot` again, unretained, for loops over many pages.
    let unretained: UnretainedPage

    init(kind: Kind, mapper: DomainID, owner: DomainID, access: Access, frame: Frame, slot: MapSlot, token: UInt64) {
        self.kind = kind
        self.mapper = mapper
        self.owner = owner
        self.access = access
        self.frame = frame
        self.slot = slot
        self.token = token
        unretained = UnretainedPage(frame: frame, slot: slot, token: token, writable: access == .writable)
    }

    /// The machine address of the page (Xen's `dev_bus_addr`).
    public var deviceBusAddress: UInt64 { frame.machineAddress }

    /// The maptrack handle of a grant mapping.
    public var handle: MapHandle? {
        if case .grant(let handle, _) = kind { return handle }
        return nil
    }

    /// Whether the mapping has not been unmapped yet.
    public var isMapped: Bool { slot.isLive(token) }

    /// Reads bytes of the page; `offset` counts from the page start.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryFault) {
        try perform(.read, offset: offset, count: buffer.count) { page in
            buffer.baseAddress?.copyMemory(from: page + offset, byteCount: buffer.count)
        }
    }

    /// Writes bytes of the page; refused on a read-only mapping.
    public func write(at offset: Int, from buffer: UnsafeRawBufferPointer) throws(MemoryFault) {
        try perform(.write, offset: offset, count: buffer.count) { page in
            if let source = buffer.baseAddress { (page + offset).copyMemory(from: source, byteCount: buffer.count) }
        }
    }

    private func perform(
        _ operation: GrantEvent.Operation, offset: Int, count: Int, _ body: (UnsafeMutableRawPointer) -> Void
    ) throws(MemoryFault) {
        do throws(MemoryFault) {
            try checkBounds(offset: offset, count: count, limit: XenPage.size)
            // The closure captures no part of `self`: capturing it copied
            // the mapping (two retains and releases) on every access.
            let allowed = operation == .read || access == .writable
            let live = try frame.withBytes(ifLive: slot, token: token) { (page: UnsafeMutableRawPointer) throws(MemoryFault) in
                guard allowed else { throw .readOnly }
                body(page)
            }
            guard live else { throw .notMapped }
        } catch {
            slot.log.record(error, operation, caller: mapper, target: owner, location: location)
            throw error
        }
    }

    var location: GrantEvent.Location {
        switch kind {
        case .grant(_, let ref): .ref(ref)
        case .foreign(let frame): .frame(frame)
        }
    }
}

/// The checks of a `PageMapping` without its reference counting: the hot
/// loops of `BufferMapping` copy one of these per page (to copy it, or to
/// find and lock a run of neighbouring pages) instead of a whole page
/// mapping, whose copy retains and releases its frame and its
/// slot (two atomic counts each, about a third of a 64 KiB request's
/// accesses before this view existed).
///
/// Sound because it is only ever read out of the `PageMapping` that holds
/// the same frame and slot strongly (`PageMapping.unretained`), and used
/// while that mapping is alive: `BufferMapping` uses it inside its own
/// `read` and `write`, where the buffer — and so its pages — is held by
/// the caller for the whole call. The liveness check is the same as
/// `PageMapping`'s (the slot's token, under the frame's lock); a failed
/// check returns false and the caller repeats the access through the
/// `PageMapping`, which throws and logs the fault.
struct UnretainedPage: @unchecked Sendable {
    private let frame: Unmanaged<Frame>
    private let slot: Unmanaged<MapSlot>
    private let token: UInt64
    private let writable: Bool

    init(frame: Frame, slot: MapSlot, token: UInt64, writable: Bool) {
        self.frame = .passUnretained(frame)
        self.slot = .passUnretained(slot)
        self.token = token
        self.writable = writable
    }

    /// Copies `buffer.count` bytes from `offset` in the page if the mapping
    /// is live; the caller keeps the range inside the page.
    @inline(__always)
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        perform { page in buffer.baseAddress?.copyMemory(from: page + offset, byteCount: buffer.count) }
    }

    /// Copies `buffer` to `offset` in the page if the mapping is live and
    /// writable; the caller keeps the range inside the page.
    @inline(__always)
    func write(at offset: Int, from buffer: UnsafeRawBufferPointer) -> Bool {
        guard writable else { return false }
        return perform { page in
            if let source = buffer.baseAddress { (page + offset).copyMemory(from: source, byteCount: buffer.count) }
        }
    }

    /// Whether this page's frame lies right after `previous`'s in host
    /// memory.
    @inline(__always)
    func follows(_ previous: UnretainedPage) -> Bool {
        frame._withUnsafeGuaranteedRef { frame in previous.frame._withUnsafeGuaranteedRef { frame.follows($0) } }
    }

    /// Copies `buffer.count` bytes from `offset` in the first of `pages`
    /// on, across pages that follow one another in host memory, in one
    /// copy, if every mapping is live (checked under all their frame
    /// locks); the caller keeps the range inside the run.
    @inline(__always)
    static func read(
        _ pages: ArraySlice<PageMapping>, _ run: Range<Int>, at offset: Int, into buffer: UnsafeMutableRawBufferPointer
    ) -> Bool {
        Frame.withBytes(ofRun: run.count, { pages[run.lowerBound + $0].unretained.frame }, admit: { pages[run.lowerBound + $0].unretained.isLive }) { page in
            buffer.baseAddress?.copyMemory(from: page + offset, byteCount: buffer.count)
        }
    }

    /// Copies `buffer` to `offset` in the first of `pages` on, as `read`
    /// reads, if every mapping is live and writable.
    @inline(__always)
    static func write(_ pages: ArraySlice<PageMapping>, _ run: Range<Int>, at offset: Int, from buffer: UnsafeRawBufferPointer) -> Bool {
        Frame.withBytes(ofRun: run.count, { pages[run.lowerBound + $0].unretained.frame }, admit: { index in
            let page = pages[run.lowerBound + index].unretained
            return page.writable && page.isLive
        }) { page in
            if let source = buffer.baseAddress { (page + offset).copyMemory(from: source, byteCount: buffer.count) }
        }
    }

    /// Whether the mapping still holds its token; meaningful under the
    /// frame's lock.
    @inline(__always)
    private var isLive: Bool {
        let token = token
        return slot._withUnsafeGuaranteedRef { $0.isLive(token) }
    }

    @inline(__always)
    private func perform(_ body: (UnsafeMutableRawPointer) -> Void) -> Bool {
        let token = token
        return slot._withUnsafeGuaranteedRef { slot in
            frame._withUnsafeGuaranteedRef { frame in frame.withBytes(ifLive: slot, token: token, body) }
        }
    }
}
