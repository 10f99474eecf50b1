/// Why an access to memory was refused: the software equivalent of a stage-2
/// or IOMMU fault.
public enum MemoryFault: Error, Hashable, Sendable, CustomStringConvertible {
    /// The mapping was unmapped (or its domain destroyed): the access went
    /// to an address that is no longer mapped.
    case notMapped
    /// A write through a read-only mapping or buffer.
    case readOnly
    /// `offset ..< offset + count` is not inside the `limit`-byte window
    /// (a page, or the buffer the device was given).
    case outOfBounds(offset: Int, count: Int, limit: Int)
    /// The guest-physical address is not RAM of the domain.
    case notRAM(GuestAddress)

    public var description: String {
        switch self {
        case .notMapped:
            "access through a mapping that was unmapped"
        case .readOnly:
            "write through a read-only mapping"
        case .outOfBounds(let offset, let count, let limit):
            "access to bytes \(offset)..<\(offset + count) outside the \(limit)-byte window"
        case .notRAM(let address):
            "guest-physical address \(address) is not RAM"
        }
    }
}

/// Checks `offset ..< offset + count` against a window of `limit` bytes
/// without overflowing.
func checkBounds(offset: Int, count: Int, limit: Int) throws(MemoryFault) {
    guard offset >= 0, count >= 0, offset <= limit, count <= limit - offset else {
        throw .outOfBounds(offset: offset, count: count, limit: limit)
    }
}
