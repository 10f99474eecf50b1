/// Xen's page geometry: always 4 KiB, whatever page size the guest kernel
/// uses (`XEN_PAGE_SHIFT`).
public enum XenPage {
    public static let shift = 12
    public static let size = 1 << shift
    /// The mask of the byte offset inside a page.
    public static let offsetMask: UInt64 = UInt64(size - 1)

    /// How many pages a buffer of `length` bytes starting `offset` bytes
    /// into its first page touches: `ceil((offset + length) / 4096)`.
    public static func count(offset: Int, length: Int) -> Int {
        (offset + length + size - 1) >> shift
    }
}

/// A Xen domain id (`domid_t`, 16 bits).
public struct DomainID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// The control domain.
    public static let dom0 = DomainID(0)
    /// `DOMID_SELF`: "the calling domain" in grant copy operations.
    public static let selfID = DomainID(0x7ff0)
    /// `DOMID_FIRST_RESERVED`: ids from here on name no real domain.
    public static let firstReserved = DomainID(0x7ff0)

    public static func < (lhs: DomainID, rhs: DomainID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "d\(rawValue)" }
}

/// A grant reference (`grant_ref_t`): an index into a domain's grant table.
public struct GrantRef: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// `GNTTAB_NR_RESERVED_ENTRIES`: refs 0–7 belong to the toolstack
    /// (0 console, 1 xenstore) and are never handed out by the guest.
    public static let reservedCount: UInt32 = 8

    public var isReserved: Bool { rawValue < Self.reservedCount }

    /// The ref `count` places further on (consecutive runs).
    public func advanced(by count: Int) -> GrantRef { GrantRef(rawValue &+ UInt32(truncatingIfNeeded: count)) }

    public static func < (lhs: GrantRef, rhs: GrantRef) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "ref 0x\(String(rawValue, radix: 16))" }
}

/// A guest frame number: a guest-physical address shifted right by 12
/// (on Arm, Xen's gfn equals the guest's pfn).
public struct FrameNumber: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public var address: GuestAddress { GuestAddress(rawValue << UInt64(XenPage.shift)) }
    public func advanced(by count: Int) -> FrameNumber { FrameNumber(rawValue &+ UInt64(bitPattern: Int64(count))) }

    public static func < (lhs: FrameNumber, rhs: FrameNumber) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "gfn 0x\(String(rawValue, radix: 16))" }
}

/// A guest-physical address.
public struct GuestAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public var frame: FrameNumber { FrameNumber(rawValue >> UInt64(XenPage.shift)) }
    public var pageOffset: Int { Int(rawValue & XenPage.offsetMask) }
    public func advanced(by bytes: Int) -> GuestAddress { GuestAddress(rawValue &+ UInt64(bitPattern: Int64(bytes))) }

    public static func < (lhs: GuestAddress, rhs: GuestAddress) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "0x" + String(rawValue, radix: 16) }
}

/// A range of guest-physical memory: a RAM bank, a DMA pool, a window.
public struct GuestRegion: Hashable, Sendable, CustomStringConvertible {
    public let base: GuestAddress
    public let size: UInt64

    public init(base: GuestAddress, size: UInt64) {
        self.base = base
        self.size = size
    }

    /// The first address after the region (saturating at the top of the
    /// address space).
    public var end: UInt64 {
        let (sum, overflow) = base.rawValue.addingReportingOverflow(size)
        return overflow ? .max : sum
    }

    public func contains(_ address: GuestAddress) -> Bool {
        address.rawValue >= base.rawValue && address.rawValue < end
    }

    /// Whether `[address, address + length)` lies wholly inside.
    public func contains(_ address: GuestAddress, length: Int) -> Bool {
        guard contains(address), length >= 0 else { return false }
        return UInt64(length) <= end - address.rawValue
    }

    public func overlaps(_ other: GuestRegion) -> Bool {
        base.rawValue < other.end && other.base.rawValue < end
    }

    public var firstFrame: FrameNumber { base.frame }
    public var frameCount: Int { Int(size >> UInt64(XenPage.shift)) }
    /// Page-aligned base and size.
    public var isPageAligned: Bool { base.rawValue & XenPage.offsetMask == 0 && size & XenPage.offsetMask == 0 }

    public var description: String { "[\(base), 0x\(String(end, radix: 16)))" }
}

/// Read-only or writable, for grants, mappings and buffers.
public enum Access: Sendable, Hashable, CustomStringConvertible {
    case readOnly
    case writable

    public var description: String { self == .readOnly ? "read-only" : "writable" }
}
