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
    /// Lets request maps skip the region lock while there are no regions.
    private let regionCount = Atomic<Int>(0)
    private let foreignCache = Lock(ForeignMappingCache())
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

    /// Maps the buffer of `length` bytes at `address` for one request.
    public func map(_ address: DMAAddress, length: Int, access: Access) throws(BackendAccessError) -> BufferMapping {
        let pages = try pageCount(address, length: length)
        if address.isGrant {
            if let borrowed = borrowFromRegion(address, length: length, pages: pages, access: access) {
                add(.withoutHypercall)
                return borrowed
            }
            let mapping = try mapGrants(address, length: length, pages: pages, access: access)
            requestMappings.wrappingAdd(1, ordering: .relaxed)
            return mapping
        }
        let mapping = try mapForeign(address, length: length, pages: pages, access: access)
        add(.withoutHypercall)
        return mapping
    }

    /// Unmaps request buffers in one hypercall (batches of 32, one flush
    /// each). Borrowed pages stay mapped.
    @discardableResult
    public func unmap(_ buffers: [BufferMapping]) -> Hypercalls.UnmapResult {
        // The handles gathered into one array of the final size: walking
        // nested lazy views, or copying each page mapping (two retains and
        // releases) into a growing array, cost more than the unmaps.
        var owned = 0, pageCount = 0
        for buffer in buffers where buffer.ownsPages {
            owned += 1
            pageCount += buffer.pages.count
        }
        // Borrowed and cached buffers (every buffer of a direct device) need
        // no unmap at all: no gathering, no hypercall.
        guard owned > 0 else { return Hypercalls.UnmapResult() }
        var handles: [MapHandle] = []
        handles.reserveCapacity(pageCount)
        for buffer in buffers where buffer.ownsPages {
            for index in buffer.pages.indices {
                if let handle = buffer.pages[index].handle { handles.append(handle) }
            }
        }
        requestMappings.wrappingSubtract(owned, ordering: .relaxed)
        return unmapHandles(handles)
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
        guard address.isGrant else { return try mapForeign(address, length: length, pages: pages, access: .writable) }
        let mapping = try mapGrants(address, length: length, pages: pages, access: .writable)
        regions.withLock { $0.append(Region(first: address.grantRef, mapping: mapping)) }
        regionCount.wrappingAdd(1, ordering: .releasing)
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
        regionCount.store(0, ordering: .releasing)
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

    /// Maps consecutive refs, one map operation per page; on a refusal the
    /// pages already mapped are unmapped again.
    private func mapGrants(_ address: DMAAddress, length: Int, pages count: Int, access: Access) throws(BackendAccessError) -> BufferMapping {
        let first = address.grantRef
        var pages: [PageMapping] = []
        pages.reserveCapacity(count)
        for index in 0..<count {
            let ref = first.advanced(by: index)
            do throws(GrantError) {
                pages.append(try hypercalls.mapGrantRef(ref, of: frontend, access: access))
                add(.grantMaps)
            } catch {
                unmapPages(pages)
                throw .grant(ref, error)
            }
        }
        return BufferMapping(address: address, length: length, access: access, pages: pages[...], ownsPages: true)
    }

    @discardableResult
    private func unmapPages<C: Collection<PageMapping>>(_ pages: C) -> Hypercalls.UnmapResult {
        unmapHandles(pages.compactMap(\.handle))
    }

    private func unmapHandles(_ handles: [MapHandle]) -> Hypercalls.UnmapResult {
        let result = hypercalls.unmapGrantRefs(handles)
        add(.grantUnmaps, result.unmapped)
        add(.unmapFlushes, result.flushes)
        return result
    }

    /// A request buffer inside a long-lived region: a view of its pages.
    private func borrowFromRegion(_ address: DMAAddress, length: Int, pages: Int, access: Access) -> BufferMapping? {
        guard regionCount.load(ordering: .acquiring) > 0 else { return nil }
        let first = address.grantRef.rawValue
        return regions.withLock { regions in
            for region in regions {
                let regionFirst = region.first.rawValue
                guard first >= regionFirst, UInt64(first - regionFirst) + UInt64(pages) <= UInt64(region.mapping.pages.count) else {
                    continue
                }
                let start = region.mapping.pages.startIndex + Int(first - regionFirst)
                return BufferMapping(address: address, length: length, access: access,
                                     pages: region.mapping.pages[start..<(start + pages)], ownsPages: false)
            }
            return nil
        }
    }

    /// Guest-physical pages through cached foreign mappings.
    private func mapForeign(_ address: DMAAddress, length: Int, pages count: Int, access: Access) throws(BackendAccessError) -> BufferMapping {
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
