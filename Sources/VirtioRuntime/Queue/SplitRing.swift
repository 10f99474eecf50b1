import GrantEngine

/// The split virtqueue format (virtio.md §4): a descriptor table, the
/// available ring the driver writes, the used ring the device writes. All
/// fields little-endian.
enum SplitRing {
    static let descriptorSize = 16
    /// The largest queue a split ring may have.
    static let maxSize = 32768

    // Descriptor flags.
    static let next: UInt16 = 1
    static let write: UInt16 = 2
    static let indirect: UInt16 = 4

    /// `avail.flags`: the driver asks for no interrupts.
    static let noInterrupt: UInt16 = 1
    /// `used.flags`: the device asks for no notifications.
    static let noNotify: UInt16 = 1

    static func descriptorTableSize(_ size: Int) -> Int { descriptorSize * size }
    static func availSize(_ size: Int) -> Int { 6 + 2 * size }
    static func usedSize(_ size: Int) -> Int { 6 + 8 * size }

    /// Where the three parts sit in the one coherent block Linux allocates
    /// (`vring_size` with virtio-mmio's page alignment): descriptors, the
    /// available ring right after them, the used ring on the next page
    /// boundary.
    struct Layout: Hashable {
        let size: Int
        var descriptors: Int { 0 }
        var avail: Int { SplitRing.descriptorTableSize(size) }
        var used: Int { (avail + SplitRing.availSize(size) + XenPage.size - 1) / XenPage.size * XenPage.size }
        var totalSize: Int { used + SplitRing.usedSize(size) }
    }
}

/// One descriptor as it sits in the table.
struct Descriptor: Hashable, Sendable {
    var address: UInt64
    var length: UInt32
    var flags: UInt16
    var next: UInt16

    var isWritable: Bool { flags & SplitRing.write != 0 }
    var hasNext: Bool { flags & SplitRing.next != 0 }
    var dmaAddress: DMAAddress { DMAAddress(rawValue: address) }

    /// Writes the 16 little-endian bytes of the table entry.
    func encode(into bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBytes(of: address.littleEndian, toByteOffset: 0, as: UInt64.self)
        bytes.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt32.self)
        bytes.storeBytes(of: flags.littleEndian, toByteOffset: 12, as: UInt16.self)
        bytes.storeBytes(of: next.littleEndian, toByteOffset: 14, as: UInt16.self)
    }

    init(address: UInt64, length: UInt32, flags: UInt16, next: UInt16) {
        self.address = address
        self.length = length
        self.flags = flags
        self.next = next
    }

    /// Decodes a table entry.
    init(_ bytes: UnsafeRawBufferPointer) {
        address = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        length = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        flags = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt16.self))
        next = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 14, as: UInt16.self))
    }
}
