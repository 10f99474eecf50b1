/// Flag bits of a grant entry (`public/grant_table.h`, grant-dma.md §6).
public enum GrantFlag {
    /// `GTF_invalid`: no access.
    public static let invalid: UInt16 = 0
    /// `GTF_permit_access`: the entry's domain may map or copy the frame.
    public static let permitAccess: UInt16 = 1
    /// `GTF_accept_transfer` (PV page transfer).
    public static let acceptTransfer: UInt16 = 2
    /// `GTF_transitive` (v2 only).
    public static let transitive: UInt16 = 3
    /// `GTF_type_mask`.
    public static let typeMask: UInt16 = 3
    /// `GTF_readonly`: read-only maps and copies only.
    public static let readOnly: UInt16 = 1 << 2
    /// `GTF_reading`: set by Xen while the entry is pinned.
    public static let reading: UInt16 = 1 << 3
    /// `GTF_writing`: set by Xen while the entry is pinned writable.
    public static let writing: UInt16 = 1 << 4
    /// `GTF_sub_page` (v2): byte range only, copy but not map.
    public static let subPage: UInt16 = 1 << 8
}

/// A v1 grant entry (8 bytes: `u16 flags | u16 domid | u32 frame`), as the
/// guest writes it and Xen reads and flags it.
public struct GrantEntry: Hashable, Sendable, CustomStringConvertible {
    public var flags: UInt16
    public var domain: DomainID
    public var frame: UInt32

    public init(flags: UInt16, domain: DomainID, frame: UInt32) {
        self.flags = flags
        self.domain = domain
        self.frame = frame
    }

    /// The entry as the 8-byte little-endian word it is in memory: flags in
    /// bits 0–15, domid in 16–31, frame in 32–63.
    init(word: UInt64) {
        self.init(flags: UInt16(truncatingIfNeeded: word), domain: DomainID(UInt16(truncatingIfNeeded: word >> 16)),
                  frame: UInt32(truncatingIfNeeded: word >> 32))
    }

    var word: UInt64 { UInt64(flags) | UInt64(domain.rawValue) << 16 | UInt64(frame) << 32 }

    static let flagsMask: UInt64 = 0xffff

    /// Whether Xen has the entry pinned (`GTF_reading` or `GTF_writing`):
    /// what the guest's end-access test looks at.
    public var isInUse: Bool { flags & (GrantFlag.reading | GrantFlag.writing) != 0 }
    public var permitsAccess: Bool { flags & GrantFlag.typeMask == GrantFlag.permitAccess }
    public var isReadOnly: Bool { flags & GrantFlag.readOnly != 0 }

    public var description: String {
        "flags 0x\(String(flags, radix: 16)) \(domain) frame 0x\(String(frame, radix: 16))"
    }
}

/// Xen's pin count of an active entry: four 8-bit counters in 32 bits —
/// host-writable (bits 0–7), host-read-only (8–15), device-writable
/// (16–23), device-read-only (24–31). Translated mappers (every Arm
/// domain) can only raise the host counters; the device ones stay zero.
struct PinCount {
    private(set) var raw: UInt32 = 0

    /// The increment for one host mapping (`GNTPIN_hstw_inc` / `hstr_inc`).
    static func hostIncrement(readOnly: Bool) -> UInt32 { readOnly ? 1 << 8 : 1 }
    /// Host-writable and device-writable counters.
    private static let writableMask: UInt32 = 0x00ff_00ff

    var isZero: Bool { raw == 0 }
    var hasWritable: Bool { raw & Self.writableMask != 0 }

    /// Xen refuses a new pin of a kind whose counter has its top bit set
    /// (≥ 128), so a counter can never wrap.
    func wouldOverflow(adding increment: UInt32) -> Bool { raw & (increment << 7) != 0 }

    mutating func add(_ increment: UInt32) { raw &+= increment }
    mutating func remove(_ increment: UInt32) { raw &-= increment }
}
