/// A DMA address as a device sees it (grant-dma.md §1).
///
/// Bit 63 set (`XEN_GRANT_DMA_ADDR_OFF`) makes it a grant address:
/// `(1 << 63) | ref << 12 | offset`. Bit 63 clear makes it a
/// guest-physical address. A buffer of *n* Xen pages is granted as *n*
/// consecutive refs, so the grant space is linear: any byte of the buffer
/// decodes to its own ref.
public struct DMAAddress: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `XEN_GRANT_DMA_ADDR_OFF`.
    public static let grantFlag: UInt64 = 1 << 63

    /// The address of byte `offset` (0…0xfff) of the page granted as `ref`.
    public static func grant(_ ref: GrantRef, offset: Int = 0) -> DMAAddress {
        precondition((0..<XenPage.size).contains(offset), "grant DMA offset \(offset) outside a page")
        return DMAAddress(rawValue: grantFlag | UInt64(ref.rawValue) << UInt64(XenPage.shift) | UInt64(offset))
    }

    /// A guest-physical DMA address (dma-direct, bounce pools).
    public static func guestPhysical(_ address: GuestAddress) -> DMAAddress {
        DMAAddress(rawValue: address.rawValue)
    }

    public var isGrant: Bool { rawValue & Self.grantFlag != 0 }

    /// The ref as Linux and every backend decode it: bit 63 cleared,
    /// shifted right by 12, truncated to the 32-bit `grant_ref_t`.
    public var grantRef: GrantRef {
        GrantRef(UInt32(truncatingIfNeeded: (rawValue & ~Self.grantFlag) >> UInt64(XenPage.shift)))
    }

    /// The byte offset inside the (first) page.
    public var pageOffset: Int { Int(rawValue & XenPage.offsetMask) }

    /// The address read as guest-physical (meaningful when bit 63 is clear).
    public var guestAddress: GuestAddress { GuestAddress(rawValue) }

    /// The address `bytes` further on; inside a grant buffer this moves
    /// through consecutive refs.
    public func advanced(by bytes: Int) -> DMAAddress { DMAAddress(rawValue: rawValue &+ UInt64(bitPattern: Int64(bytes))) }

    public var description: String {
        let hex = "0x" + String(rawValue, radix: 16)
        return isGrant ? "\(hex) (\(grantRef) + 0x\(String(pageOffset, radix: 16)))" : hex
    }
}
