import GrantEngine

/// One request of a workload.
struct WorkItem: Hashable {
    enum Operation: String, Hashable {
        case read, write, flush, getID = "get-id", echo
    }

    let index: Int
    let operation: Operation
    /// First sector (block reads and writes).
    let sector: UInt64
    /// Data bytes (0 for FLUSH).
    let length: Int
    /// Where the data buffer starts in its first page (a multiple of 512),
    /// so buffers cross page boundaries as real ones do.
    let pageOffset: Int

    var sectorCount: UInt64 { UInt64(length / BlockProtocol.sectorSize) }

    /// Whether two block transfers touch a common sector.
    func overlaps(_ other: WorkItem) -> Bool {
        guard isTransfer, other.isTransfer else { return false }
        return sector < other.sector + other.sectorCount && other.sector < sector + sectorCount
    }

    var isTransfer: Bool { operation == .read || operation == .write }

    var summary: String {
        switch operation {
        case .read, .write: "request \(index) (\(operation.rawValue) of \(length) B at sector \(sector))"
        case .flush, .getID: "request \(index) (\(operation.rawValue))"
        case .echo: "request \(index) (echo of \(length) B)"
        }
    }
}

/// A small deterministic generator (SplitMix64): the same seed gives the
/// same workload and the same data.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return Self.mix(state)
    }

    /// SplitMix64's finaliser: a good 64-bit hash of `value`.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Builds a workload.
enum WorkloadPlan {
    /// The block workload spreads over at most this many bytes of the
    /// disk, so that reads mostly find data the run wrote.
    static let workingSet = 16 << 20

    /// `count` requests for a virtio-blk disk of `sectors` sectors:
    /// 45 % reads, 45 % writes (reads only when `readOnly`), 5 % FLUSH,
    /// 5 % GET_ID.
    static func block(count: Int, sizes: RequestSize, sectors: UInt64, readOnly: Bool, seed: UInt64) -> [WorkItem] {
        var random = SeededRandom(seed: seed)
        let region = min(sectors, UInt64(workingSet / BlockProtocol.sectorSize))
        return (0..<count).map { index in
            let roll = random.next() % 100
            let operation: WorkItem.Operation =
                switch roll {
                case ..<45: .read
                case ..<90: readOnly ? .read : .write
                case ..<95: .flush
                default: .getID
                }
            switch operation {
            case .flush: return WorkItem(index: index, operation: .flush, sector: 0, length: 0, pageOffset: 0)
            case .getID:
                return WorkItem(index: index, operation: .getID, sector: 0, length: BlockProtocol.idBytes, pageOffset: 0)
            default:
                let length = size(sizes, &random, limit: Int(min(region, UInt64(Int.max / 512))) * 512)
                let sectorsLong = UInt64(length / BlockProtocol.sectorSize)
                // Aligned to the transfer size up to 4 KiB, as file systems do.
                let alignment = UInt64(min(length, XenPage.size) / BlockProtocol.sectorSize)
                let slots = (region - sectorsLong) / alignment + 1
                return WorkItem(
                    index: index, operation: operation, sector: random.next() % slots * alignment, length: length,
                    pageOffset: Int(random.next() % 8) * 512)
            }
        }
    }

    /// `count` loopback echoes.
    static func loopback(count: Int, sizes: RequestSize, seed: UInt64) -> [WorkItem] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { index in
            WorkItem(
                index: index, operation: .echo, sector: 0, length: size(sizes, &random, limit: .max),
                pageOffset: Int(random.next() % 8) * 512)
        }
    }

    private static func size(_ sizes: RequestSize, _ random: inout SeededRandom, limit: Int) -> Int {
        switch sizes {
        case .fixed(let bytes): return min(bytes, limit)
        case .mixed:
            let total = RequestSize.mix.reduce(0) { $0 + $1.weight }
            var pick = Int(random.next() % UInt64(total))
            for entry in RequestSize.mix {
                if pick < entry.weight { return min(entry.bytes, limit) }
                pick -= entry.weight
            }
            return min(4096, limit)
        }
    }
}

/// The data a workload writes: every 8-byte word is a hash of (seed,
/// sector, write generation, word), so any sector read back can be checked
/// without keeping a copy of it.
struct DataPattern {
    let seed: UInt64

    /// Fills `buffer` with the data of `sector`… as written by request
    /// `generation`.
    func fill(_ buffer: UnsafeMutableRawBufferPointer, sector: UInt64, generation: Int) {
        let words = BlockProtocol.sectorSize / 8
        for sectorIndex in 0..<(buffer.count / BlockProtocol.sectorSize) {
            let base = key(sector: sector + UInt64(sectorIndex), generation: generation)
            for word in 0..<words {
                buffer.storeBytes(
                    of: SeededRandom.mix(base &+ UInt64(word)).littleEndian,
                    toByteOffset: (sectorIndex * words + word) * 8, as: UInt64.self)
            }
        }
    }

    /// Whether one 512-byte sector holds what `fill` writes for it.
    func matches(_ bytes: UnsafeRawBufferPointer, sector: UInt64, generation: Int) -> Bool {
        let base = key(sector: sector, generation: generation)
        for word in 0..<(BlockProtocol.sectorSize / 8) {
            let value = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self))
            if value != SeededRandom.mix(base &+ UInt64(word)) { return false }
        }
        return true
    }

    /// Echo data of loopback request `index`.
    func fill(_ buffer: UnsafeMutableRawBufferPointer, echo index: Int) {
        let base = key(sector: UInt64.max, generation: index)
        for word in 0..<(buffer.count / 8) {
            buffer.storeBytes(of: SeededRandom.mix(base &+ UInt64(word)).littleEndian, toByteOffset: word * 8, as: UInt64.self)
        }
        for byte in (buffer.count / 8 * 8)..<buffer.count { buffer[byte] = UInt8(truncatingIfNeeded: index &+ byte) }
    }

    private func key(sector: UInt64, generation: Int) -> UInt64 {
        SeededRandom.mix(seed ^ sector &* 0x100_0000_01b3 ^ UInt64(truncatingIfNeeded: generation) << 40)
    }
}

/// What the frontend knows the disk holds: for each sector the request
/// that last wrote it, or a hash of what was first read from it when the
/// run did not start from a zeroed image.
struct DiskModel {
    enum Content: Hashable {
        case written(generation: Int)
        case observed(hash: UInt64)
        /// A write failed part-way: the sector may hold old or new data.
        case undefined
    }

    /// A fresh image (temporary file, memory) reads as zeros.
    let startsZeroed: Bool
    private(set) var sectors: [UInt64: Content] = [:]

    init(startsZeroed: Bool) { self.startsZeroed = startsZeroed }

    mutating func wrote(_ item: WorkItem, succeeded: Bool) {
        for sector in item.sector..<(item.sector + item.sectorCount) {
            sectors[sector] = succeeded ? .written(generation: item.index) : .undefined
        }
    }

    /// Checks the data a read returned; returns the first sector that
    /// differs from what the model expects.
    mutating func check(_ data: UnsafeRawBufferPointer, of item: WorkItem, pattern: DataPattern) -> UInt64? {
        for index in 0..<Int(item.sectorCount) {
            let sector = item.sector + UInt64(index)
            let bytes = UnsafeRawBufferPointer(rebasing: data[(index * 512)..<((index + 1) * 512)])
            switch sectors[sector] {
            case .written(let generation)?:
                if !pattern.matches(bytes, sector: sector, generation: generation) { return sector }
            case .observed(let hash)?:
                if Self.hash(bytes) != hash { return sector }
            case .undefined?:
                sectors[sector] = .observed(hash: Self.hash(bytes))
            case nil:
                if startsZeroed {
                    if bytes.contains(where: { $0 != 0 }) { return sector }
                } else {
                    sectors[sector] = .observed(hash: Self.hash(bytes))
                }
            }
        }
        return nil
    }

    /// The extents the run wrote, merged, in sector order.
    var writtenExtents: [(sector: UInt64, count: UInt64)] {
        let written = sectors.compactMap { entry -> UInt64? in
            if case .written = entry.value { return entry.key }
            return nil
        }.sorted()
        var extents: [(sector: UInt64, count: UInt64)] = []
        for sector in written {
            if let last = extents.last, last.sector + last.count == sector {
                extents[extents.count - 1].count += 1
            } else {
                extents.append((sector, 1))
            }
        }
        return extents
    }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for word in 0..<(bytes.count / 8) {
            hash = SeededRandom.mix(hash ^ bytes.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self))
        }
        return hash
    }
}
