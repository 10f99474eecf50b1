/// virtio-blk's request header, types, statuses and configuration layout
/// (virtio.md §5).
enum BlockProtocol {
    /// `le32 type, le32 reserved, le64 sector`.
    static let headerSize = 16
    /// Sectors are 512 bytes whatever `blk_size` says.
    static let sectorSize = 512
    /// GET_ID answers with up to 20 bytes, NUL-padded.
    static let idBytes = 20

    enum RequestType: UInt32 {
        case read = 0
        case write = 1
        case flush = 4
        case getID = 8
    }

    enum Status: UInt8 {
        case ok = 0
        case ioError = 1
        case unsupported = 2
    }

    // Configuration offsets.
    static let capacityOffset: UInt32 = 0
    static let sizeMaxOffset: UInt32 = 8
    static let segMaxOffset: UInt32 = 12
    static let blockSizeOffset: UInt32 = 20

    /// The header's bytes.
    static func header(type: UInt32, sector: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize)
        for index in 0..<4 { bytes[index] = UInt8(truncatingIfNeeded: type >> UInt32(8 * index)) }
        for index in 0..<8 { bytes[8 + index] = UInt8(truncatingIfNeeded: sector >> UInt64(8 * index)) }
        return bytes
    }
}
