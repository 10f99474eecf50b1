/// The DTB header, checked against the real buffer before libfdt sees it.
///
/// libfdt 1.6.1 trusts `totalsize` and the block offsets in several paths
/// (and had overflow and alignment bugs fixed only later), so every field
/// is checked here with 64-bit arithmetic first.
struct BlobHeader {
    static let magic: UInt32 = 0xd00d_feed
    /// Header sizes by version (libfdt's FDT_V16_SIZE and FDT_V17_SIZE).
    static let v16Size = 36
    static let v17Size = 40

    let totalSize: Int
    let structOffset: Int
    let structSize: Int
    let stringsOffset: Int
    let stringsSize: Int
    let reservationsOffset: Int
    let version: UInt32
    let bootCPUID: UInt32

    /// Checks magic, version, sizes, alignment and block placement.
    init(_ blob: UnsafeRawBufferPointer) throws(DTBError) {
        guard blob.count >= Self.v17Size else { throw .tooSmall(size: blob.count, needed: Self.v17Size) }
        func word(_ index: Int) -> UInt32 { UInt32(bigEndian: blob.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)) }
        guard word(0) == Self.magic else { throw .badMagic(found: word(0)) }
        version = word(5)
        let lastCompatible = word(6)
        guard version >= 16, lastCompatible <= 17, lastCompatible <= version else {
            throw .unsupportedVersion(version: version, lastCompatible: lastCompatible)
        }
        let headerSize = version >= 17 ? Self.v17Size : Self.v16Size
        let total = word(1)
        guard Int(total) <= blob.count else { throw .totalSizeTooLarge(totalSize: total, fileSize: blob.count) }
        guard Int(total) >= headerSize else { throw .totalSizeTooSmall(totalSize: total, headerSize: headerSize) }
        totalSize = Int(total)
        bootCPUID = word(7)

        let structOff = word(2), stringsOff = word(3), reservationsOff = word(4)
        let stringsLen = word(8)
        // Version 16 has no structure size: the block runs up to the strings
        // block when that follows it, else to the end of the blob.
        let structEnd = stringsOff > structOff ? min(stringsOff, total) : total
        let structLen = version >= 17 ? word(9) : structEnd &- min(structOff, structEnd)
        try Self.checkBlock(.structure, offset: structOff, size: structLen, alignment: 4, total: total, header: headerSize)
        try Self.checkBlock(.strings, offset: stringsOff, size: stringsLen, alignment: 1, total: total, header: headerSize)
        try Self.checkBlock(.reservationMap, offset: reservationsOff, size: 16, alignment: 8, total: total, header: headerSize)
        structOffset = Int(structOff)
        structSize = Int(structLen)
        stringsOffset = Int(stringsOff)
        stringsSize = Int(stringsLen)
        reservationsOffset = Int(reservationsOff)
        if Self.overlap(structOffset, structSize, stringsOffset, stringsSize) {
            throw .blocksOverlap(.structure, .strings)
        }
    }

    /// The memory-reservation entries, up to the terminating zero entry,
    /// which must lie inside the blob and clear of the other blocks.
    func reservations(in blob: UnsafeRawBufferPointer) throws(DTBError) -> [MemoryReservation] {
        var entries: [MemoryReservation] = []
        var offset = reservationsOffset
        while true {
            guard offset + 16 <= totalSize else { throw .unterminatedReservationMap(offset: reservationsOffset) }
            let address = UInt64(bigEndian: blob.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            let size = UInt64(bigEndian: blob.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            offset += 16
            if address == 0 && size == 0 { break }
            entries.append(MemoryReservation(address: address, size: size))
        }
        let mapSize = offset - reservationsOffset
        if Self.overlap(reservationsOffset, mapSize, structOffset, structSize) {
            throw .blocksOverlap(.reservationMap, .structure)
        }
        if Self.overlap(reservationsOffset, mapSize, stringsOffset, stringsSize) {
            throw .blocksOverlap(.reservationMap, .strings)
        }
        return entries
    }

    private static func checkBlock(
        _ block: DTBError.Block, offset: UInt32, size: UInt32, alignment: Int, total: UInt32, header: Int
    ) throws(DTBError) {
        guard Int(offset) >= header else { throw .blockOverlapsHeader(block, offset: offset) }
        guard Int(offset) % alignment == 0 else { throw .misalignedBlock(block, offset: offset, alignment: alignment) }
        guard Int(offset) + Int(size) <= Int(total) else {
            throw .blockOutOfBounds(block, offset: offset, size: size, totalSize: total)
        }
    }

    private static func overlap(_ a: Int, _ aSize: Int, _ b: Int, _ bSize: Int) -> Bool {
        aSize > 0 && bSize > 0 && a < b + bSize && b < a + aSize
    }
}
