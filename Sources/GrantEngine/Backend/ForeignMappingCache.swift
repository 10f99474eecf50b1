/// The foreign mappings a backend keeps until reset, by guest frame (a
/// dom0 backend maps guest RAM once and reuses the mappings).
///
/// Frames are grouped in chunks of 512 so that resolving a buffer costs one
/// dictionary lookup per chunk it touches rather than one per page: a
/// 64 KiB buffer is 16 pages, nearly always in one chunk. A buffer's
/// resolved pages are kept too, in a table of `runSlots` indexed by the
/// buffer's first frame (a newer buffer replaces an older one in its slot),
/// so a buffer seen before — a driver reuses its request buffers — costs
/// no hashing and no per-page copies at all. Not thread-safe:
/// the accessor keeps it behind its lock and resolves a whole buffer per
/// acquisition.
struct ForeignMappingCache: ~Copyable {
    static let chunkFrames = 512
    /// How many resolved buffers are kept at most.
    static let runSlots = 1024

    private final class Chunk {
        var pages = [PageMapping?](repeating: nil, count: ForeignMappingCache.chunkFrames)
    }

    private struct Run {
        let first: UInt64
        let pages: ArraySlice<PageMapping>
    }

    private var chunks: [UInt64: Chunk] = [:]
    /// Empty until the first buffer is remembered.
    private var runs: [Run?] = []
    /// Counts `removeAll` calls: pages resolved before one must not be
    /// remembered after it.
    private(set) var generation = 0

    /// The pages of `count` frames from `first`, if a buffer over exactly
    /// these frames was resolved before.
    func run(from first: FrameNumber, count: Int) -> ArraySlice<PageMapping>? {
        guard !runs.isEmpty, let run = runs[Self.runSlot(first)], run.first == first.rawValue, run.pages.count == count else { return nil }
        return run.pages
    }

    /// Keeps the resolved `pages` of the frames from `first`, unless the
    /// cache was emptied since `generation` (when they were resolved).
    mutating func remember(_ pages: ArraySlice<PageMapping>, from first: FrameNumber, generation: Int) {
        guard generation == self.generation else { return }
        if runs.isEmpty { runs = Array(repeating: nil, count: Self.runSlots) }
        runs[Self.runSlot(first)] = Run(first: first.rawValue, pages: pages)
    }

    private static func runSlot(_ first: FrameNumber) -> Int { Int(first.rawValue % UInt64(runSlots)) }

    /// Appends the cached mappings of up to `limit` frames from `first` to
    /// `pages`, stopping at the first frame that has none.
    func resolve(from first: FrameNumber, limit: Int, into pages: inout [PageMapping]) {
        var frame = first.rawValue
        var left = limit
        while left > 0 {
            guard let chunk = chunks[frame / UInt64(Self.chunkFrames)] else { return }
            var index = Int(frame % UInt64(Self.chunkFrames))
            while left > 0, index < Self.chunkFrames {
                guard let mapping = chunk.pages[index] else { return }
                pages.append(mapping)
                index += 1
                frame += 1
                left -= 1
            }
        }
    }

    /// Caches `mapping` for `frame` unless a mapping is cached already;
    /// returns the one that is cached.
    mutating func insert(_ mapping: PageMapping, for frame: FrameNumber) -> PageMapping {
        let key = frame.rawValue / UInt64(Self.chunkFrames)
        let chunk = chunks[key] ?? Chunk()
        chunks[key] = chunk
        let index = Int(frame.rawValue % UInt64(Self.chunkFrames))
        if let cached = chunk.pages[index] { return cached }
        chunk.pages[index] = mapping
        return mapping
    }

    /// Empties the cache; returns every mapping it held.
    mutating func removeAll() -> [PageMapping] {
        let all = chunks.values.flatMap { $0.pages.compactMap { $0 } }
        chunks.removeAll()
        runs = []
        generation += 1
        return all
    }
}
