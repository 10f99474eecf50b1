/// Why the guest's page allocator could not serve a request.
public enum PageAllocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No run of `pages` contiguous free frames.
    case outOfMemory(pages: Int)
    /// A reservation overlaps memory that is not free RAM.
    case notFree(GuestRegion)
    /// A reservation that is not page-aligned or is empty.
    case unaligned(GuestRegion)
    case invalidCount(Int)

    public var description: String {
        switch self {
        case .outOfMemory(let pages): "no \(pages) contiguous free guest pages"
        case .notFree(let region): "guest memory \(region) is not free RAM"
        case .unaligned(let region): "guest memory \(region) is not a page-aligned, non-empty region"
        case .invalidCount(let count): "cannot allocate \(count) pages"
        }
    }
}

/// The guest kernel's page allocator: hands out runs of physically
/// contiguous frames of the domain's RAM (coherent DMA buffers, request
/// buffers, pool pages). Free memory is kept as sorted extents, so a large
/// guest costs nothing until it allocates.
public final class GuestPageAllocator: Sendable {
    private struct Extent {
        var first: UInt64
        var count: UInt64
    }

    private let extents: Lock<[Extent]>

    init(banks: [GuestRegion]) {
        extents = Lock(banks.map { Extent(first: $0.firstFrame.rawValue, count: UInt64($0.frameCount)) })
    }

    /// Allocates `pages` contiguous frames, first fit from the lowest address.
    public func allocate(pages: Int) throws(PageAllocationError) -> FrameNumber {
        guard pages > 0 else { throw .invalidCount(pages) }
        let wanted = UInt64(pages)
        let first: UInt64? = extents.withLock { extents in
            guard let index = extents.firstIndex(where: { $0.count >= wanted }) else { return nil }
            let first = extents[index].first
            extents[index].first += wanted
            extents[index].count -= wanted
            if extents[index].count == 0 { extents.remove(at: index) }
            return first
        }
        guard let first else { throw .outOfMemory(pages: pages) }
        return FrameNumber(first)
    }

    /// Returns `pages` frames from `first` to the free pool.
    public func free(_ first: FrameNumber, pages: Int) {
        guard pages > 0 else { return }
        extents.withLock { extents in
            var extent = Extent(first: first.rawValue, count: UInt64(pages))
            let index = extents.firstIndex { $0.first > extent.first } ?? extents.count
            var insertAt = index
            if index > 0, extents[index - 1].first + extents[index - 1].count == extent.first {
                extent = Extent(first: extents[index - 1].first, count: extents[index - 1].count + extent.count)
                extents.remove(at: index - 1)
                insertAt -= 1
            }
            if insertAt < extents.count, extent.first + extent.count == extents[insertAt].first {
                extent.count += extents[insertAt].count
                extents.remove(at: insertAt)
            }
            extents.insert(extent, at: insertAt)
        }
    }

    /// Takes `region` out of the free pool for good (a reserved-memory
    /// carve-out such as a `restricted-dma-pool`).
    public func reserve(_ region: GuestRegion) throws(PageAllocationError) {
        guard region.isPageAligned, region.size > 0 else { throw .unaligned(region) }
        let first = region.firstFrame.rawValue
        let count = UInt64(region.frameCount)
        let reserved = extents.withLock { extents -> Bool in
            guard let index = extents.firstIndex(where: { $0.first <= first && first + count <= $0.first + $0.count }) else {
                return false
            }
            let extent = extents[index]
            var pieces: [Extent] = []
            if extent.first < first { pieces.append(Extent(first: extent.first, count: first - extent.first)) }
            let tail = extent.first + extent.count - (first + count)
            if tail > 0 { pieces.append(Extent(first: first + count, count: tail)) }
            extents.replaceSubrange(index...index, with: pieces)
            return true
        }
        guard reserved else { throw .notFree(region) }
    }

    /// Free frames left.
    public var freePages: Int {
        extents.withLock { $0.reduce(0) { $0 + Int($1.count) } }
    }

    /// Whether `frame` is currently free (not allocated, reserved or leaked).
    public func isFree(_ frame: FrameNumber) -> Bool {
        extents.withLock { $0.contains { $0.first <= frame.rawValue && frame.rawValue < $0.first + $0.count } }
    }
}
