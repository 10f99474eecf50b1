import Synchronization

/// Why a backend could not reach a device address.
public enum BackendAccessError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Xen refused to map a page of a grant buffer.
    case grant(GrantRef, GrantError)
    /// Xen refused to foreign-map a page of a guest-physical buffer.
    case foreign(FrameNumber, ForeignMapError)
    /// A guest-physical address outside the window the device may use (its
    /// restricted DMA pool).
    case outsideWindow(DMAAddress, length: Int, window: GuestRegion)
    case emptyBuffer
    /// More pages than one mapping request may cover (gntdev's limit).
    case tooManyPages(Int, limit: Int)

    /// Xen's status, when a grant operation was refused.
    public var status: GrantStatus? {
        if case .grant(_, let error) = self { return error.status }
        return nil
    }

    public var description: String {
        switch self {
        case .grant(let ref, let error): "cannot map \(ref): \(error)"
        case .foreign(let frame, let error): "cannot foreign-map \(frame): \(error)"
        case .outsideWindow(let address, let length, let window):
            "\(length) bytes at \(address) are outside the device's DMA window \(window)"
        case .emptyBuffer: "empty buffer"
        case .tooManyPages(let count, let limit): "\(count) pages exceed the \(limit)-page limit of one mapping"
        }
    }
}

/// One buffer of a request as a backend found it (a descriptor): where
/// it is, how long, and what the device may do with it.
public struct BufferRequest: Hashable, Sendable {
    public var address: DMAAddress
    public var length: Int
    public var access: Access

    public init(address: DMAAddress, length: Int, access: Access) {
        self.address = address
        self.length = length
        self.access = access
    }
}

/// What a backend accessor did.
public struct AccessStatistics: Hashable, Sendable {
    /// Grant pages mapped (elements of map hypercalls).
    public var grantMaps = 0
    /// Grant pages unmapped.
    public var grantUnmaps = 0
    /// TLB flushes: one per batch of up to 32 unmaps.
    public var unmapFlushes = 0
    /// Guest pages foreign-mapped (cached until reset).
    public var foreignMaps = 0
    /// Cached foreign mappings released (at reset, or a duplicate from a race).
    public var foreignUnmaps = 0
    /// Buffers served from a long-lived or cached mapping, with no
    /// hypercall.
    public var buffersWithoutHypercall = 0
}

/// How a backend reaches the memory of the guest it serves (grant-dma.md
/// §9.1). Addresses with bit 63 set are grant addresses: each page is
/// mapped through Xen, read-only for device-readable buffers, and unmapped
/// when the request is done — unless it lies in a long-lived region (a
/// ring, a grant pool) mapped once. Other addresses are guest-physical and
/// need foreign mappings, which Xen allows only privileged domains; those
/// are cached until reset, like a backend mapping guest RAM up front. A
/// `foreignWindow` confines guest-physical addresses to the device's
/// restricted DMA pool.
///
/// The accessor has no other way to guest memory than the backend
/// domain's hypercalls, so every isolation check is the hypervisor's.
public final class BackendAccessor: Sendable {
    /// gntdev maps at most 65,536 grants per request.
    public static let maxPagesPerMapping = 65_536

    private struct Region {
        let first: GrantRef
        let mapping: BufferMapping
    }

    public let frontend: DomainID
    public let foreignWindow: GuestRegion?
    private let hypercalls: Hypercalls
    private let log: EventLog
    private let regions = Lock<[Region]>([])
    /// The refs all long-lived regions lie within: the first in the low 32
    /// bits, one past the last in the high 32; 0 while there are none. A
    /// request buffer outside it is in no region, so looking it up takes
    /// no lock (a grant device's request refs never are: they come and go,
    /// its rings stay).
    private let regionSpan = Atomic<UInt64>(0)
    private let foreignCache = WordLocked(ForeignMappingCache())
    private let counters = CounterSet<Counter>()
    private let requestMappings = Atomic<Int>(0)

    public init(backend: Domain, frontend: DomainID, foreignWindow: GuestRegion? = nil) {
        hypercalls = backend.hypercalls
        log = backend.hypercalls.hypervisor.events
        self.frontend = frontend
        self.foreignWindow = foreignWindow
    }

    public var backend: DomainID { hypercalls.caller }

    public var statistics: AccessStatistics {
        AccessStatistics(
            grantMaps: counters[.grantMaps], grantUnmaps: counters[.grantUnmaps], unmapFlushes: counters[.unmapFlushes],
            foreignMaps: counters[.foreignMaps], foreignUnmaps: counters[.foreignUnmaps],
            buffersWithoutHypercall: counters[.withoutHypercall])
    }

    /// Per-request buffers mapped and not yet unmapped.
    public var outstandingRequestMappings: Int { requestMappings.load(ordering: .relaxed) }

    // MARK: Per-request buffers

    /// Maps the buffer of `length` bytes at `address` for one request (its
    /// grant pages in one map hypercall, as gntdev maps a buffer).
    public func map(_ address: DMAAddress, length: Int, access: Access) throws(BackendAccessError) -> BufferMapping {
        let pages = try pageCount(address, length: length)
        if address.isGrant {
            if mayBeInRegion(address, pages: pages),
               let borrowed = regions.withLock({ borrow(address, length: length, pages: pages, access: access, from: $0) }) {
                add(.withoutHypercall)
                return borrowed
            }
            let mapping = try mapGrants(address, length: length, pages: pages, access: access)
            requestMappings.wrappingAdd(1, ordering: .relaxed)
            return mapping
        }
        let mapping = try mapForeign(address, length: length, access: access)
        add(.withoutHypercall)
        return mapping
    }

    /// Maps the buffers of one request and appends their mappings to
    /// `mapped`, in order. As blkback does with a request's segments, every
    /// buffer is checked before any is mapped, and the grant pages no
    /// long-lived region holds are then mapped in one map hypercall (Xen
    /// still checks each page on its own). On a refusal nothing stays
    /// mapped, `mapped` is as it was, and the first refusal in buffer
    /// order is thrown.
    public func map(_ buffers: [BufferRequest], into mapped: inout [BufferMapping]) throws(BackendAccessError) {
        let start = mapped.count
        do throws(BackendAccessError) {
            var grantPages = 0
            var onlyFreshGrants = true
            for buffer in buffers {
                let pages = try pageCount(buffer.address, length: buffer.length)
                guard buffer.address.isGrant else {
                    onlyFreshGrants = false
                    continue
                }
                grantPages += pages
                if mayBeInRegion(buffer.address, pages: pages) { onlyFreshGrants = false }
            }
            if onlyFreshGrants {
                // Every request of a grant device: the list itself drives
                // the map, no placeholders.
                let pages = try mapGrantPages(of: buffers, pages: grantPages)
                var next = pages.startIndex
                for buffer in buffers {
                    let count = XenPage.count(offset: buffer.address.pageOffset, length: buffer.length)
                    mapped.append(BufferMapping(
                        address: buffer.address, length: buffer.length, access: buffer.access, pages: pages[next..<(next + count)],
                        ownsPages: true))
                    next += count
                }
                requestMappings.wrappingAdd(buffers.count, ordering: .relaxed)
                return
            }
            try placeAndMapForeign(buffers, into: &mapped)
            guard grantPages > 0 else { return }
            try mapGrantPlaceholders(in: &mapped, from: start, pages: grantPages)
        } catch {
            mapped.removeSubrange(start...)
            throw error
        }
    }

    /// Unmaps request buffers in one hypercall (batches of 32, one flush
    /// each). Borrowed pages stay mapped.
    @discardableResult
    public func unmap(_ buffers: [BufferMapping]) -> Hypercalls.UnmapResult {
        var owned = 0, pageCount = 0
        for buffer in buffers where buffer.ownsPages {
            owned += 1
            pageCount += buffer.pages.count
        }
        // Borrowed and cached buffers (every buffer of a direct device) need
        // no unmap at all: no gathering, no hypercall.
        guard owned > 0 else { return Hypercalls.UnmapResult() }
        requestMappings.wrappingSubtract(owned, ordering: .relaxed)
        // The handles gathered in place, by index: walking nested lazy
        // views, or copying each page mapping (two retains and releases)
        // into a growing array, cost more than the unmaps.
        return withUnsafeTemporaryAllocation(of: MapHandle.self, capacity: pageCount) { handles in
            guard let base = handles.baseAddress else { return Hypercalls.UnmapResult() }
            var count = 0
            for buffer in buffers where buffer.ownsPages {
                for index in buffer.pages.indices {
                    if let handle = buffer.pages[index].handle {
                        (base + count).initialize(to: handle)
                        count += 1
                    }
                }
            }
            return unmapHandles(UnsafeBufferPointer(start: base, count: count))
        }
    }

    @discardableResult
    public func unmap(_ buffer: BufferMapping) -> Hypercalls.UnmapResult {
        guard buffer.ownsPages else { return Hypercalls.UnmapResult() }
        requestMappings.wrappingSubtract(1, ordering: .relaxed)
        return unmapPages(buffer.pages)
    }

    // MARK: Long-lived regions

    /// Maps a region that lives until reset (a virtqueue's rings, a grant
    /// pool) writable, once; later request buffers inside it are served
    /// from this mapping.
    public func mapLongLived(_ address: DMAAddress, length: Int) throws(BackendAccessError) -> BufferMapping {
        let pages = try pageCount(address, length: length)
        guard address.isGrant else { return try mapForeign(address, length: length, access: .writable) }
        let mapping = try mapGrants(address, length: length, pages: pages, access: .writable)
        regions.withLock { regions in
            regions.append(Region(first: address.grantRef, mapping: mapping))
            var (low, high) = (UInt64(UInt32.max), UInt64(0))
            for region in regions {
                low = min(low, UInt64(region.first.rawValue))
                high = max(high, UInt64(region.first.rawValue) + UInt64(region.mapping.pages.count))
            }
            regionSpan.store(low | min(high, UInt64(UInt32.max)) << 32, ordering: .releasing)
        }
        return mapping
    }

    /// What a reset undid.
    public struct ResetReport: Hashable, Sendable {
        /// Long-lived grant pages unmapped.
        public var grantPagesUnmapped: Int
        /// Cached foreign mappings removed.
        public var foreignPagesUnmapped: Int
        /// Per-request buffers the backend had not unmapped (still mapped:
        /// the guest's end of access on them will fail).
        public var requestMappingsStillHeld: Int
        /// Long-lived pages Xen refused to unmap (none for a well-behaved
        /// backend).
        public var refused: [Hypercalls.UnmapResult.Refusal]
    }

    /// Unmaps every long-lived region and cached foreign mapping, as a
    /// backend must before acknowledging a device or queue reset.
    @discardableResult
    public func reset() -> ResetReport {
        let taken = regions.withLock { regions in
            defer { regions.removeAll() }
            return regions
        }
        regionSpan.store(0, ordering: .releasing)
        let result = unmapPages(taken.lazy.flatMap(\.mapping.pages))
        let foreign = foreignCache.withLock { $0.removeAll() }
        for mapping in foreign { _ = hypercalls.foreignUnmap(mapping) }
        add(.foreignUnmaps, foreign.count)
        return ResetReport(
            grantPagesUnmapped: result.unmapped, foreignPagesUnmapped: foreign.count,
            requestMappingsStillHeld: outstandingRequestMappings, refused: result.refused)
    }

    // MARK: Mapping

    private enum Counter: Int, CaseIterable {
        case grantMaps, grantUnmaps, unmapFlushes, foreignMaps, foreignUnmaps, withoutHypercall
    }

    private func add(_ counter: Counter, _ amount: Int = 1) { counters.add(counter, amount) }

    private func pageCount(_ address: DMAAddress, length: Int) throws(BackendAccessError) -> Int {
        guard length > 0 else { throw .emptyBuffer }
        let pages = XenPage.count(offset: address.pageOffset, length: length)
        guard pages <= Self.maxPagesPerMapping else {
            log.record(.decode, caller: backend, target: frontend, location: .address(address), access: nil,
                       reason: BackendAccessError.tooManyPages(pages, limit: Self.maxPagesPerMapping).description)
            throw .tooManyPages(pages, limit: Self.maxPagesPerMapping)
        }
        return pages
    }

    /// Maps consecutive refs in one hypercall; on a refusal the pages
    /// mapped are unmapped again.
    private func mapGrants(_ address: DMAAddress, length: Int, pages count: Int, access: Access) throws(BackendAccessError) -> BufferMapping {
        var pages: [PageMapping] = []
        pages.reserveCapacity(count)
        let first = address.grantRef
        try mapGrantPages((0..<count).lazy.map { Hypercalls.MapRequest(first.advanced(by: $0), access: access) }, into: &pages)
        return BufferMapping(address: address, length: length, access: access, pages: pages[...], ownsPages: true)
    }

    /// Appends a mapping per buffer, in order: a view into a long-lived
    /// region (one acquisition of the region lock for all), a foreign
    /// mapping, or — for grant pages that need a map hypercall — a
    /// placeholder without pages, which `mapGrantPlaceholders` fills.
    private func placeAndMapForeign(_ buffers: [BufferRequest], into mapped: inout [BufferMapping]) throws(BackendAccessError) {
        let borrowable = buffers.contains { buffer in
            buffer.address.isGrant
                && mayBeInRegion(buffer.address, pages: XenPage.count(offset: buffer.address.pageOffset, length: buffer.length))
        }
        // One pass under one lock places what needs no hypercall: views
        // into regions, or (when no buffer can be in one, as for every
        // request of a direct device) foreign runs already cached.
        let start = mapped.count
        var served = borrowable
            ? regions.withLock { place(buffers, into: &mapped, borrowingFrom: $0) }
            : foreignCache.withLock { placeCached(buffers, into: &mapped, from: $0) }
        // Foreign maps wait until that lock is released.
        for index in start..<mapped.count where mapped[index].isPlaceholder && !mapped[index].address.isGrant {
            let buffer = mapped[index]
            mapped[index] = try mapForeign(buffer.address, length: buffer.length, access: buffer.access)
            served += 1
        }
        if served > 0 { add(.withoutHypercall, served) }
    }

    /// Appends each guest-physical buffer whose pages are cached, or a
    /// placeholder; returns how many were cached.
    private func placeCached(_ buffers: [BufferRequest], into mapped: inout [BufferMapping], from cache: borrowing ForeignMappingCache) -> Int {
        var hits = 0
        for buffer in buffers {
            let (address, length, access) = (buffer.address, buffer.length, buffer.access)
            if !address.isGrant, let pages = cachedRun(buffer, in: cache) {
                mapped.append(BufferMapping(address: address, length: length, access: access, pages: pages, ownsPages: false))
                hits += 1
            } else {
                mapped.append(.placeholder(address, length: length, access: access))
            }
        }
        return hits
    }

    /// Appends each buffer borrowed from `regions`, or a placeholder;
    /// returns how many were borrowed.
    private func place(_ buffers: [BufferRequest], into mapped: inout [BufferMapping], borrowingFrom regions: [Region]) -> Int {
        var borrowed = 0
        for buffer in buffers {
            let (address, length, access) = (buffer.address, buffer.length, buffer.access)
            let pages = XenPage.count(offset: address.pageOffset, length: length)
            if address.isGrant, let view = borrow(address, length: length, pages: pages, access: access, from: regions) {
                mapped.append(view)
                borrowed += 1
            } else {
                mapped.append(.placeholder(address, length: length, access: access))
            }
        }
        return borrowed
    }

    /// Maps the grant pages of the placeholders in `mapped` from `start`
    /// (`total` pages) in one hypercall, into one array the buffers share.
    private func mapGrantPlaceholders(in mapped: inout [BufferMapping], from start: Int, pages total: Int) throws(BackendAccessError) {
        let placeholders = mapped[start...].lazy.filter(\.isPlaceholder).map {
            BufferRequest(address: $0.address, length: $0.length, access: $0.access)
        }
        let pages = try mapGrantPages(of: placeholders, pages: total)
        var owned = 0
        mapped.withUnsafeMutableBufferPointer { buffers in
            var next = pages.startIndex
            for index in start..<buffers.count where buffers[index].isPlaceholder {
                let (address, length, access) = (buffers[index].address, buffers[index].length, buffers[index].access)
                let count = XenPage.count(offset: address.pageOffset, length: length)
                buffers[index] = BufferMapping(
                    address: address, length: length, access: access, pages: pages[next..<(next + count)], ownsPages: true)
                next += count
                owned += 1
            }
        }
        requestMappings.wrappingAdd(owned, ordering: .relaxed)
    }

    /// Maps the grant pages of `buffers` (`total` pages) in one
    /// hypercall; returns them in buffer order, in one array.
    private func mapGrantPages<Buffers: Collection<BufferRequest>>(
        of buffers: Buffers, pages total: Int
    ) throws(BackendAccessError) -> [PageMapping] {
        var pages: [PageMapping] = []
        pages.reserveCapacity(total)
        try withUnsafeTemporaryAllocation(of: Hypercalls.MapRequest.self, capacity: total) { (requests) throws(BackendAccessError) in
            guard let base = requests.baseAddress else { return }
            var count = 0
            for buffer in buffers {
                let first = buffer.address.grantRef
                for page in 0..<XenPage.count(offset: buffer.address.pageOffset, length: buffer.length) {
                    precondition(count < total, "more grant pages than counted")
                    (base + count).initialize(to: Hypercalls.MapRequest(first.advanced(by: page), access: buffer.access))
                    count += 1
                }
            }
            try mapGrantPages(UnsafeBufferPointer(start: base, count: count), into: &pages)
        }
        return pages
    }

    /// Maps grant pages of the frontend in one hypercall and appends them
    /// to `pages`; on a refusal the pages it mapped are unmapped again and
    /// the first refusal is thrown.
    private func mapGrantPages<Requests: Collection<Hypercalls.MapRequest>>(
        _ requests: Requests, into pages: inout [PageMapping]
    ) throws(BackendAccessError) {
        let first = pages.count
        var collector = PageCollector(pages: pages)
        pages = []
        hypercalls.mapGrantRefs(requests, of: frontend, into: &collector)
        pages = collector.pages
        add(.grantMaps, pages.count - first)
        guard let refusal = collector.firstRefusal else { return }
        unmapPages(pages[first...])
        pages.removeSubrange(first...)
        throw .grant(requests[requests.index(requests.startIndex, offsetBy: refusal.index)].ref, refusal.error)
    }

    @discardableResult
    private func unmapPages<C: Collection<PageMapping>>(_ pages: C) -> Hypercalls.UnmapResult {
        unmapHandles(pages.compactMap(\.handle))
    }

    private func unmapHandles<C: Collection<MapHandle>>(_ handles: C) -> Hypercalls.UnmapResult {
        let result = hypercalls.unmapGrantRefs(handles)
        add(.grantUnmaps, result.unmapped)
        add(.unmapFlushes, result.flushes)
        return result
    }

    /// Whether the `pages` grant pages from `address` reach into the span
    /// of the long-lived regions (and so may lie in one).
    private func mayBeInRegion(_ address: DMAAddress, pages: Int) -> Bool {
        let span = regionSpan.load(ordering: .acquiring)
        guard span != 0 else { return false }
        let first = UInt64(address.grantRef.rawValue)
        return first < span >> 32 && first + UInt64(pages) > span & 0xffff_ffff
    }

    /// A request buffer inside one of `regions`: a view of its pages. The
    /// regions are read in place (copying one retains its pages).
    private func borrow(_ address: DMAAddress, length: Int, pages: Int, access: Access, from regions: [Region]) -> BufferMapping? {
        let first = address.grantRef.rawValue
        for index in regions.indices {
            let regionFirst = regions[index].first.rawValue
            guard first >= regionFirst, UInt64(first - regionFirst) + UInt64(pages) <= UInt64(regions[index].mapping.pages.count) else {
                continue
            }
            let start = regions[index].mapping.pages.startIndex + Int(first - regionFirst)
            return BufferMapping(address: address, length: length, access: access,
                                 pages: regions[index].mapping.pages[start..<(start + pages)], ownsPages: false)
        }
        return nil
    }

    /// The cached pages of a guest-physical buffer resolved before, if it
    /// lies inside the foreign window (otherwise `mapForeign` refuses and
    /// logs it).
    private func cachedRun(_ buffer: BufferRequest, in cache: borrowing ForeignMappingCache) -> ArraySlice<PageMapping>? {
        let start = buffer.address.guestAddress
        if let window = foreignWindow, !window.contains(start, length: buffer.length) { return nil }
        return cache.run(from: start.frame, count: XenPage.count(offset: buffer.address.pageOffset, length: buffer.length))
    }

    /// Guest-physical pages through cached foreign mappings.
    private func mapForeign(_ address: DMAAddress, length: Int, access: Access) throws(BackendAccessError) -> BufferMapping {
        let count = XenPage.count(offset: address.pageOffset, length: length)
        let start = address.guestAddress
        if let window = foreignWindow, !window.contains(start, length: length) {
            let error = BackendAccessError.outsideWindow(address, length: length, window: window)
            log.record(.decode, caller: backend, target: frontend, location: .address(address), access: access, reason: error.description)
            throw error
        }
        let (known, generation) = foreignCache.withLock { ($0.run(from: start.frame, count: count), $0.generation) }
        if let known { return BufferMapping(address: address, length: length, access: access, pages: known, ownsPages: false) }
        var pages: [PageMapping] = []
        pages.reserveCapacity(count)
        while true {
            // One lock for every page already cached, then a hypercall for
            // the first one that is not.
            foreignCache.withLock { $0.resolve(from: start.frame.advanced(by: pages.count), limit: count - pages.count, into: &pages) }
            guard pages.count < count else { break }
            let frame = start.frame.advanced(by: pages.count)
            do throws(ForeignMapError) {
                let mapping = try hypercalls.foreignMap(frame, of: frontend)
                add(.foreignMaps)
                let cached = foreignCache.withLock { $0.insert(mapping, for: frame) }
                if cached.slot !== mapping.slot || cached.token != mapping.token {
                    // Another thread mapped the frame first: keep one mapping.
                    _ = hypercalls.foreignUnmap(mapping)
                    add(.foreignUnmaps)
                }
                pages.append(cached)
            } catch {
                throw .foreign(frame, error)
            }
        }
        foreignCache.withLock { $0.remember(pages[...], from: start.frame, generation: generation) }
        return BufferMapping(address: address, length: length, access: access, pages: pages[...], ownsPages: false)
    }
}

/// Collects the pages a map hypercall mapped, and its first refusal.
private struct PageCollector: MapOutcomes {
    var pages: [PageMapping]
    var firstRefusal: (index: Int, error: GrantError)?

    mutating func mapped(_ index: Int, _ page: consuming PageMapping) { pages.append(page) }

    mutating func refused(_ index: Int, _ error: GrantError) {
        if firstRefusal == nil { firstRefusal = (index, error) }
    }
}
